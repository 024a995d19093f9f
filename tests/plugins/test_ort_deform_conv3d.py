"""ai.comix DeformConv3D in ONNX Runtime (our CPU custom-op library) against the float64 loop reference.

The grid is chosen to expose index bugs: asymmetric strides/pads/dilations, non-cubic kernels, groups
and offset groups whose channel ranges interleave, odd and empty batches, channel counts that are not
multiples of 4 or 8, offsets far outside the input and exactly on its border, optional inputs absent
or empty, and enough output positions to span several column blocks with a ragged tail.
"""

from __future__ import annotations

import numpy as np
import pytest

from _dcn_models import DcnCase, deform_conv_model, run, session
from comix.ops.reference import deform_conv_reference

RTOL = ATOL = 1e-4  # float32 op vs float64 reference

CASES = [
    DcnCase("basic", 1, 4, 4, (4, 5, 6), (3, 3, 3), pads=1),
    DcnCase("asymmetric_everything", 3, 6, 4, (5, 6, 7), (3, 1, 2), stride=(2, 1, 1), pads=(1, 0, 2, 0, 2, 1),
            dilation=(2, 1, 1), group=2, offset_group=3),
    DcnCase("no_mask_no_bias", 2, 5, 3, (3, 6, 5), (2, 2, 2), stride=(1, 2, 1), bias=False, mask=False),
    DcnCase("bias_only_c3_og3", 1, 3, 5, (4, 4, 4), (3, 3, 1), pads=(1, 1, 0, 1, 1, 0), offset_group=3, mask=False),
    DcnCase("mask_only_groups_cross_offset_groups", 1, 6, 6, (3, 5, 4), (1, 3, 3), pads=(0, 1, 1, 0, 1, 1),
            group=3, offset_group=2, bias=False),
    DcnCase("offsets_far_outside", 2, 5, 2, (3, 4, 5), (2, 2, 2), pads=1, offset_scale=12.0),
    DcnCase("many_blocks_ragged_tail", 1, 20, 12, (6, 9, 10), (3, 3, 3), pads=1, group=4, offset_group=2),
    DcnCase("batch_0", 0, 4, 4, (3, 3, 3), (3, 3, 3), pads=1),
    DcnCase("kernel_shape_from_W", 1, 3, 2, (3, 6, 5), (2, 3, 1), dilation=(1, 2, 1),
            attributes={"kernel_shape": None}),
]


def reference(case: DcnCase, feed: dict[str, np.ndarray]) -> np.ndarray:
    return deform_conv_reference(feed["X"], feed["offset"], feed["W"], feed.get("B"), feed.get("mask"),
                                 case.geometry())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_float64_reference(ort_dcn_library, case: DcnCase) -> None:
    feed = case.inputs()
    y = run(ort_dcn_library, feed, case.node_attributes())
    expected = reference(case, feed)
    assert y.shape == expected.shape
    assert y.dtype == np.float32
    if expected.size:
        assert np.abs(expected).max() > 0.1, "degenerate case: the reference output is ~0"
    np.testing.assert_allclose(y, expected, rtol=RTOL, atol=ATOL)


def test_offsets_on_and_beyond_the_border(ort_dcn_library) -> None:
    """Sampling points exactly on integer borders (-1, 0, size-1, size), half-way outside, and +-1e6."""
    case = DcnCase("border", 2, 3, 4, (3, 4, 5), (2, 2, 2), pads=(1, 0, 1, 0, 1, 1), offset_group=3)
    feed = case.inputs(seed=1)
    rng = np.random.default_rng(7)
    choices = np.array([-1e6, -9.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.0, 4.0, 5.0, 9.0, 1e6], np.float32)
    feed["offset"] = rng.choice(choices, size=feed["offset"].shape).astype(np.float32)
    y = run(ort_dcn_library, feed, case.node_attributes())
    np.testing.assert_allclose(y, reference(case, feed), rtol=RTOL, atol=ATOL)


def test_empty_bias_tensor_counts_as_absent(ort_dcn_library) -> None:
    case = DcnCase("empty_bias", 1, 4, 3, (3, 4, 4), (2, 2, 2), pads=1)
    feed = case.inputs()
    feed["B"] = np.zeros(0, np.float32)
    y = run(ort_dcn_library, feed, case.node_attributes())
    without_bias = {k: v for k, v in feed.items() if k != "B"}
    np.testing.assert_allclose(y, reference(case, without_bias), rtol=RTOL, atol=ATOL)


def test_thread_count_does_not_change_the_result(ort_dcn_library) -> None:
    case = CASES[6]  # several column blocks, so two threads really split the work
    feed = case.inputs(seed=3)
    model = deform_conv_model(feed, case.node_attributes())
    one = session(model, ort_dcn_library, threads=1).run(None, feed)[0]
    two = session(model, ort_dcn_library, threads=2).run(None, feed)[0]
    np.testing.assert_array_equal(one, two)


def test_mask_zero_gives_bias(ort_dcn_library) -> None:
    case = DcnCase("mask_zero", 1, 5, 3, (3, 3, 3), (3, 3, 3), pads=1)
    feed = case.inputs()
    feed["mask"][:] = 0
    y = run(ort_dcn_library, feed, case.node_attributes())
    np.testing.assert_allclose(y, np.broadcast_to(feed["B"][None, :, None, None, None], y.shape), atol=1e-6)


BAD = [
    ("pads_length", {"pads": [1, 1, 1, 1]}, None, "pads: got 4 values, expected 6"),
    ("strides_length", {"strides": [1, 1]}, None, "strides: got 2 values, expected 3"),
    ("zero_stride", {"strides": [1, 0, 1]}, None, "strides[H]: got 0, expected >= 1"),
    ("negative_pad", {"pads": [0, 0, -1, 0, 0, 0]}, None, "pads (begin)[W]: got -1, expected >= 0"),
    ("zero_dilation", {"dilations": [0, 1, 1]}, None, "dilations[D]: got 0, expected >= 1"),
    ("zero_offset_group", {"offset_group": 0}, None, "offset_group: got 0, expected >= 1"),
    ("channels_not_divisible_by_group", {"group": 2}, "channels5",
     "input channels C: got 5, expected a multiple of group 2"),
    ("kernel_shape_disagrees_with_W", {"kernel_shape": [3, 3, 2]}, None,
     "W kernel size along W: got 3, expected kernel_shape[W] = 2"),
    ("offset_shape", {}, "offset", "input offset: got shape [1, 80, 3, 3, 3], expected [1, 81, 3, 3, 3]"),
    ("mask_shape", {}, "mask", "input mask: got shape [1, 26, 3, 3, 3], expected [1, 27, 3, 3, 3]"),
    ("bias_shape", {}, "bias", "input B: got shape [3], expected [4]"),
    ("input_rank", {}, "rank", "input X: got shape [1, 4, 3, 3], expected rank 5"),
    ("strides_as_floats", {"strides": [1.0, 1.0, 1.0]}, None, "strides: got 0 values, expected 3"),
]


@pytest.mark.parametrize("attributes, corrupt, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_attributes_and_shapes_raise_clear_errors(ort_dcn_library, attributes, corrupt, message) -> None:
    case = DcnCase("bad", 1, 4, 4, (3, 3, 3), (3, 3, 3), pads=1)
    feed = case.inputs()
    if corrupt == "channels5":
        feed["X"] = np.ones((1, 5, 3, 3, 3), np.float32)
        feed["W"] = np.ones((4, 2, 3, 3, 3), np.float32)
    elif corrupt == "offset":
        feed["offset"] = feed["offset"][:, :80]
    elif corrupt == "mask":
        feed["mask"] = feed["mask"][:, :26]
    elif corrupt == "bias":
        feed["B"] = feed["B"][:3]
    elif corrupt == "rank":
        feed["X"] = feed["X"][:, :, 0]
    attrs = {**case.node_attributes(), **attributes}
    with pytest.raises(Exception) as error:
        run(ort_dcn_library, feed, attrs)
    assert message in str(error.value)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
def test_infinite_input_does_not_leak_into_out_of_border_samples(ort_dcn_library) -> None:
    """Corners outside the input contribute exactly 0, even when the input holds Inf at pixel 0."""
    case = DcnCase("inf_pixel", 1, 3, 2, (3, 4, 5), (2, 2, 2), pads=1, offset_scale=6.0, mask=False)
    feed = case.inputs(seed=5)
    feed["X"][:, :, 0, 0, 0] = np.inf
    y = run(ort_dcn_library, feed, case.node_attributes())
    expected = reference(case, feed)
    assert np.isfinite(expected).sum() > expected.size // 2, "degenerate case: most outputs read the Inf pixel"
    np.testing.assert_allclose(y, expected, rtol=RTOL, atol=ATOL)
