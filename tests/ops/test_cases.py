"""The shared DCN grid itself (comix.ops.cases): it holds what it promises, its draws are what the cases
say, the reference agrees with an independent expectation on the shift cases, and the non-finite cases
really separate guarded from unguarded border sampling."""

from __future__ import annotations

import numpy as np
import pytest

from comix.ops.cases import (
    BACKENDS,
    BENCH_CASES,
    CASES,
    CASES_2D,
    CASES_3D,
    EXCLUDED,
    GRADCHECK_CASES,
    SHIFT_CASES,
    DcnCase,
    Offsets,
    _base_positions,
    case_named,
    cases_for,
    reference_output,
    shifted_convolution,
)
from comix.ops.tolerance import assert_matches_reference


def test_ids_are_unique_and_dimensionalities_are_where_they_belong():
    ids = [c.id for c in CASES + GRADCHECK_CASES + BENCH_CASES]
    assert len(ids) == len(set(ids)), (
        f"case ids: got duplicates {sorted(i for i in ids if ids.count(i) > 1)}"
    )
    assert {c.ndim for c in CASES_2D} == {2} and {c.ndim for c in CASES_3D} == {3}
    assert all(c.exposes for c in CASES), "every grid case says what it exposes"


def _asymmetric(values) -> bool:
    return len(set(values)) > 1


@pytest.mark.parametrize("cases", [CASES_2D, CASES_3D], ids=["2d", "3d"])
def test_grid_covers_every_required_property(cases):
    required = {
        "asymmetric stride": lambda c: _asymmetric(c.stride),
        "asymmetric dilation": lambda c: _asymmetric(c.dilation),
        "pads begin != end": lambda c: c.pads[: c.ndim] != c.pads[c.ndim :],
        "asymmetric pads across axes": lambda c: _asymmetric(c.pads[: c.ndim]),
        "non-square kernel": lambda c: _asymmetric(c.kernel),
        "odd size": lambda c: any(s % 2 for s in c.size),
        "groups": lambda c: c.group > 1,
        "offset groups": lambda c: c.offset_group > 1,
        "groups and offset groups crossing": lambda c: (
            c.group > 1 and c.offset_group > 1 and c.group != c.offset_group
        ),
        "empty batch": lambda c: c.batch == 0,
        "batch > 1": lambda c: c.batch > 1,
        "non-finite input": lambda c: c.non_finite,
        "far outside": lambda c: c.offsets.kind == "far",
        "partly outside": lambda c: c.offsets.kind == "uniform" and c.offsets.scale >= min(c.size),
        "integer offsets": lambda c: c.offsets.kind == "integer",
        "on the border": lambda c: c.offsets.kind == "border",
        "bias and mask": lambda c: c.bias and c.mask,
        "bias only": lambda c: c.bias and not c.mask,
        "mask only": lambda c: c.mask and not c.bias,
        "neither": lambda c: not c.bias and not c.mask,
    }
    missing = [name for name, has in required.items() if not any(has(c) for c in cases)]
    assert not missing, f"grid of {cases[0].ndim}-D cases: got no case with {missing}"
    shifted_axes = sorted(c.offsets.axis for c in cases if c.offsets.kind == "shift")
    assert shifted_axes == list(range(cases[0].ndim)), (
        f"shift cases: got axes {shifted_axes}, expected one per axis"
    )


def test_exclusions_name_known_backends_and_cases_with_a_reason():
    ids = {c.id for c in CASES}
    for backend, excluded in EXCLUDED.items():
        assert backend in BACKENDS
        for case_id, reason in excluded.items():
            assert case_id in ids, f"{backend}: excluded {case_id!r} is not a grid case"
            assert len(reason) > 20, (
                f"{backend}/{case_id}: got reason {reason!r}, expected a sentence"
            )
    assert len(cases_for("torch")) == len(CASES) - len(EXCLUDED.get("torch", {}))
    with pytest.raises(ValueError, match="backend: got 'tpu', expected one of"):
        cases_for("tpu")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_draws_are_seeded_shaped_and_say_what_the_case_says(case: DcnCase):
    first, again = case.inputs("float64"), case.inputs("float64")
    for a, b in zip(first.arrays(), again.arrays()):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)
    x, offset, w, bias, mask = first.arrays()
    geometry, out = case.geometry(), case.output_size()
    assert x.shape == (case.batch, case.channels, *case.size)
    assert offset.shape == (
        case.batch,
        case.offset_group * geometry.kernel_points * case.ndim,
        *out,
    )
    assert w.shape == (case.out_channels, case.channels // case.group, *case.kernel)
    assert (bias is not None) == case.bias and (mask is not None) == case.mask
    assert np.isfinite(x).all() != case.non_finite or case.batch == 0
    assert case.inputs("float16").input.dtype == np.float16
    if case.batch == 0:
        return
    kind, scale = case.offsets.kind, case.offsets.scale
    if kind in ("integer", "shift"):
        assert np.array_equal(offset, np.round(offset)) and np.abs(offset).max() <= scale
    if kind == "far":
        assert np.abs(offset).min() >= scale
    if kind == "border":
        positions = _positions(case, offset)
        for axis, size in enumerate(case.size):
            allowed = {-1.0, -0.5, 0.0, 0.5, size - 1.5, size - 1.0, size - 0.5, float(size)}
            assert set(np.unique(positions[axis])) <= allowed
    if kind == "shift":
        moved = offset.reshape(case.batch, -1, case.ndim, *out)
        for axis in range(case.ndim):
            assert (moved[:, :, axis] == (scale if axis == case.offsets.axis else 0)).all()
    expected = reference_output(case, "float64")
    assert np.nanmax(np.abs(expected[np.isfinite(expected)])) > 0.1, (
        "degenerate case: the reference output is ~0"
    )


def _positions(case: DcnCase, offset: np.ndarray) -> list[np.ndarray]:
    """Per axis, absolute sampling positions (N, OG, K, *oS)."""
    geometry, out = case.geometry(), case.output_size()
    moved = offset.reshape(case.batch, case.offset_group, geometry.kernel_points, case.ndim, *out)
    base = _base_positions(geometry, out)
    return [moved[:, :, :, axis] + base[axis][None, None] for axis in range(case.ndim)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SHIFT_CASES])
def test_reference_equals_shifted_convolution(case: DcnCase):
    """The reference's own axis order, pinned by a plain convolution (no DCN code involved)."""
    inputs = case.inputs("float64")
    assert_matches_reference(
        reference_output(case, "float64"), shifted_convolution(case, inputs), "float64", case.id
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SHIFT_CASES])
def test_shifted_convolution_sees_the_axis(case: DcnCase):
    """Shifting along another axis gives another output: the shift tests can tell the axes apart."""
    inputs = case.inputs("float64")
    want = shifted_convolution(case, inputs)
    for axis in range(case.ndim):
        if axis != case.offsets.axis:
            other = DcnCase(
                **{**case.__dict__, "offsets": Offsets("shift", case.offsets.scale, axis)}
            )
            assert np.abs(shifted_convolution(other, inputs) - want).max() > 0.1


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if c.non_finite])
def test_non_finite_case_separates_guarded_from_unguarded_border_samples(case: DcnCase):
    """Some outputs are non-finite (in-bounds NaN/Inf corners propagate) and some finite outputs read a
    sample with a corner outside the input in a channel whose pixel 0 is NaN: a kernel that loads outside
    corners from element 0 and multiplies by 0 turns those into NaN, so the case catches it."""
    inputs = case.inputs("float32")
    expected = reference_output(case, "float32")
    finite = np.isfinite(expected)
    assert 0.2 < finite.mean() < 0.95, (
        f"{case.id}: got {finite.mean():.0%} finite outputs, expected a mix"
    )
    # Channel 0 (NaN at pixel 0) is in offset group 0 and group 0, so feeds outputs 0 .. O/group-1.
    positions = _positions(case, inputs.offset.astype(np.float64))
    straddles = np.zeros(positions[0].shape, dtype=bool)  # a corner outside, but not every corner
    reachable = np.ones(positions[0].shape, dtype=bool)
    for axis, size in enumerate(case.size):
        p = positions[axis]
        reachable &= (p > -1) & (p < size)
        straddles |= (np.floor(p) < 0) | (np.floor(p) + 1 > size - 1)
    exposed = (reachable & straddles)[:, 0].any(
        axis=1
    )  # (N, *oS): offset group 0, any kernel point
    outputs_of_group0 = finite[:, : case.out_channels // case.group].all(axis=1)
    even_items = np.arange(case.batch) % 2 == 0
    caught = exposed & outputs_of_group0 & even_items.reshape(-1, *([1] * case.ndim))
    assert caught.sum() >= 3, (
        f"{case.id}: got {caught.sum()} finite outputs with a straddling sample, expected >= 3"
    )


def test_reference_cache_is_read_only():
    case = case_named("2d-odd_plain_1x3")
    with pytest.raises(ValueError, match="read-only"):
        reference_output(case, "float32")[0] = 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pads": (1, 1)}, r"pads: got 2 values, expected 4"),
        ({"channels": 5, "group": 2}, r"expected C and O multiples of group 2"),
        ({"offsets": Offsets("shift", 1.0, axis=2)}, r"shift axis: got 2, expected 0..1"),
    ],
)
def test_bad_case_is_refused(kwargs, message):
    fields = {
        "name": "bad",
        "size": (5, 5),
        "kernel": (3, 3),
        "stride": (1, 1),
        "pads": (1, 1, 1, 1),
        "dilation": (1, 1),
    }
    with pytest.raises(ValueError, match=message):
        DcnCase(**{**fields, **kwargs})
    with pytest.raises(
        ValueError, match=r"offsets scale for 'integer': got 1.5, expected a whole number"
    ):
        Offsets("integer", 1.5)


def test_bench_cases_are_same_size_convolutions():
    """tools/bench_gpu_dcn.py compares with a plain conv taking one pad per axis: pads must be symmetric."""
    for case in BENCH_CASES:
        geometry = case.geometry()
        assert geometry.pad_begin == geometry.pad_end, (
            f"{case.id}: got pads {geometry.onnx_pads}, expected symmetric"
        )
        assert case.output_size() == case.size and case.bias and case.mask
