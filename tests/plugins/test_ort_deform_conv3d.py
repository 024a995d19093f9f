"""ai.comix DeformConv3D in ONNX Runtime (our CPU custom-op library) against the float64 loop reference.

The cases are the shared 3-D grid (comix.ops.cases: asymmetric strides/pads/dilations, non-cubic kernels,
groups and offset groups whose channel ranges interleave, odd and empty batches, channel counts that are
not multiples of 4 or 8, offsets far outside, whole-number and exactly on the border, NaN/Inf in the input,
several column blocks with a ragged tail, one-axis shifts); the tests here add what only this op has:
optional inputs given as empty tensors, the kernel_shape attribute left out, thread counts, and the
got/expected errors of bad attributes and shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from _dcn_models import deform_conv_model, feed, node_attributes, run, session

from comix.ops.cases import DcnCase, case_named, cases_for, reference_output, shifted_convolution
from comix.ops.reference import deform_conv_reference
from comix.ops.tolerance import assert_matches_reference


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases_for("ort", ndim=3)])
def test_matches_float64_reference(ort_dcn_library, case: DcnCase) -> None:
    inputs = case.inputs("float32")
    y = run(ort_dcn_library, feed(inputs), node_attributes(case))
    assert y.dtype == np.float32
    assert_matches_reference(y, reference_output(case, "float32"), "float32", case.id)
    if case.offsets.kind == "shift":
        assert_matches_reference(
            y, shifted_convolution(case, inputs), "float32", f"{case.id} vs shifted conv"
        )


def test_kernel_shape_taken_from_w(ort_dcn_library) -> None:
    case = case_named("3d-asym_stride_pad_dil")
    y = run(ort_dcn_library, feed(case.inputs("float32")), node_attributes(case, kernel_shape=None))
    assert_matches_reference(y, reference_output(case, "float32"), "float32", case.id)


def test_empty_bias_tensor_counts_as_absent(ort_dcn_library) -> None:
    case = case_named("3d-partly_outside")
    inputs = case.inputs("float32")
    given = {**feed(inputs), "B": np.zeros(0, np.float32)}
    y = run(ort_dcn_library, given, node_attributes(case))
    expected = deform_conv_reference(
        inputs.input, inputs.offset, inputs.weight, None, inputs.mask, case.geometry()
    )
    assert_matches_reference(y, expected, "float32", "empty B")


def test_thread_count_does_not_change_the_result(ort_dcn_library) -> None:
    case = case_named(
        "3d-many_blocks"
    )  # several column blocks, so two threads really split the work
    given = feed(case.inputs("float32", seed=3))
    model = deform_conv_model(given, node_attributes(case))
    one = session(model, ort_dcn_library, threads=1).run(None, given)[0]
    two = session(model, ort_dcn_library, threads=2).run(None, given)[0]
    np.testing.assert_array_equal(one, two)


def test_mask_zero_gives_bias(ort_dcn_library) -> None:
    case = case_named("3d-partly_outside")
    given = feed(case.inputs("float32"))
    given["mask"][:] = 0
    y = run(ort_dcn_library, given, node_attributes(case))
    np.testing.assert_allclose(
        y, np.broadcast_to(given["B"][None, :, None, None, None], y.shape), atol=1e-6
    )


# Inputs for the error tests: C = O = 4, 3x3x3 kernel and input, pads 1 -> output 3x3x3, offset (1, 81, ...).
BAD_INPUTS = DcnCase("bad_inputs", (3, 3, 3), (3, 3, 3), (1, 1, 1), (1,) * 6, (1, 1, 1), batch=1)
BAD = [
    ("pads_length", {"pads": [1, 1, 1, 1]}, None, "pads: got 4 values, expected 6"),
    ("strides_length", {"strides": [1, 1]}, None, "strides: got 2 values, expected 3"),
    ("zero_stride", {"strides": [1, 0, 1]}, None, "strides[H]: got 0, expected >= 1"),
    ("negative_pad", {"pads": [0, 0, -1, 0, 0, 0]}, None, "pads (begin)[W]: got -1, expected >= 0"),
    ("zero_dilation", {"dilations": [0, 1, 1]}, None, "dilations[D]: got 0, expected >= 1"),
    ("zero_offset_group", {"offset_group": 0}, None, "offset_group: got 0, expected >= 1"),
    (
        "channels_not_divisible_by_group",
        {"group": 2},
        "channels5",
        "input channels C: got 5, expected a multiple of group 2",
    ),
    (
        "kernel_shape_disagrees_with_W",
        {"kernel_shape": [3, 3, 2]},
        None,
        "W kernel size along W: got 3, expected kernel_shape[W] = 2",
    ),
    (
        "offset_shape",
        {},
        "offset",
        "input offset: got shape [1, 80, 3, 3, 3], expected [1, 81, 3, 3, 3]",
    ),
    ("mask_shape", {}, "mask", "input mask: got shape [1, 26, 3, 3, 3], expected [1, 27, 3, 3, 3]"),
    ("bias_shape", {}, "bias", "input B: got shape [3], expected [4]"),
    ("input_rank", {}, "rank", "input X: got shape [1, 4, 3, 3], expected rank 5"),
    ("strides_as_floats", {"strides": [1.0, 1.0, 1.0]}, None, "strides: got 0 values, expected 3"),
]


@pytest.mark.parametrize(
    "attributes, corrupt, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_attributes_and_shapes_raise_clear_errors(
    ort_dcn_library, attributes, corrupt, message
) -> None:
    given = feed(BAD_INPUTS.inputs("float32"))
    if corrupt == "channels5":
        given["X"] = np.ones((1, 5, 3, 3, 3), np.float32)
        given["W"] = np.ones((4, 2, 3, 3, 3), np.float32)
    elif corrupt == "offset":
        given["offset"] = given["offset"][:, :80]
    elif corrupt == "mask":
        given["mask"] = given["mask"][:, :26]
    elif corrupt == "bias":
        given["B"] = given["B"][:3]
    elif corrupt == "rank":
        given["X"] = given["X"][:, :, 0]
    with pytest.raises(Exception) as error:
        run(ort_dcn_library, given, {**node_attributes(BAD_INPUTS), **attributes})
    assert message in str(error.value)
