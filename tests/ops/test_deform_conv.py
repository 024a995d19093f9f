"""The PyTorch DCN op (the vectorised default kernel) against the float64 loop reference on the shared grid
(comix.ops.cases), the one-axis shift cases against a plain shifted convolution, gradients, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from comix.ops import DeformConvGeometry, deform_conv2d, deform_conv3d
from comix.ops.cases import (
    GRADCHECK_CASES,
    SHIFT_CASES,
    DcnCase,
    case_named,
    cases_for,
    reference_output,
    shifted_convolution,
)
from comix.ops.tolerance import assert_matches_reference

GRID = [pytest.param(c, id=c.id) for c in cases_for("torch")]


def run_op(case: DcnCase, x, offset, w, bias, mask):
    """The public front end of the case's dimensionality, with the case's stride / ONNX pads / dilation."""
    op = deform_conv2d if case.ndim == 2 else deform_conv3d
    return op(
        x,
        offset,
        w,
        bias,
        mask,
        stride=case.stride,
        padding=list(case.pads),
        dilation=case.dilation,
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", GRID)
def test_matches_float64_reference(case: DcnCase, dtype: str):
    got = run_op(case, *case.inputs(dtype).torch())
    assert got.dtype == getattr(torch, dtype)
    assert_matches_reference(got, reference_output(case, dtype), dtype, case.id)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SHIFT_CASES])
def test_one_axis_shift_equals_shifted_convolution(case: DcnCase, dtype: str):
    """offset = +1 along one axis only == a plain convolution of the input shifted along that axis.

    The expectation does not use the DCN reference, so a swap of the offset components (dd, dh, dw) or
    (dh, dw), or a sign error, fails here even if the reference had the same mistake.
    """
    inputs = case.inputs(dtype)
    got = run_op(case, *inputs.torch())
    assert_matches_reference(got, shifted_convolution(case, inputs), dtype, case.id)


@pytest.mark.parametrize("case_id", ["2d-asym_stride_pad_dil", "3d-asym_stride_pad_dil"])
def test_non_contiguous_inputs(case_id: str):
    case = case_named(case_id)
    x, offset, w, bias, mask = case.inputs("float64").torch()
    # Same values, other memory layouts: transposed copies transposed back.
    x_nc = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    offset_nc = offset.transpose(0, 1).contiguous().transpose(0, 1)
    mask_nc = mask.transpose(-1, -2).contiguous().transpose(-1, -2)
    w_nc = w.transpose(0, 1).contiguous().transpose(0, 1)
    assert not x_nc.is_contiguous() and not offset_nc.is_contiguous() and not w_nc.is_contiguous()
    got = run_op(case, x_nc, offset_nc, w_nc, bias, mask_nc)
    assert_matches_reference(got, reference_output(case, "float64"), "float64", case.id)


@pytest.mark.parametrize(
    "case_id",
    [
        "2d-asym_stride_pad_dil",
        "2d-groups_cross_offset_groups",
        "3d-asym_stride_pad_dil",
        "3d-groups_cross_offset_groups",
    ],
)
def test_zero_offsets_unit_mask_equal_convolution(case_id: str):
    case = case_named(case_id)
    x, offset, w, bias, mask = case.inputs("float64").torch()
    got = run_op(case, x, torch.zeros_like(offset), w, bias, torch.ones_like(mask))
    geometry = case.geometry()
    pads = []
    for begin, end in zip(reversed(geometry.pad_begin), reversed(geometry.pad_end)):
        pads += [begin, end]
    conv = F.conv2d if case.ndim == 2 else F.conv3d
    want = conv(
        F.pad(x, pads),
        w,
        bias,
        stride=geometry.stride,
        dilation=geometry.dilation,
        groups=case.group,
    )
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in GRADCHECK_CASES])
def test_gradcheck_all_inputs(case: DcnCase):
    tensors = [t.clone().requires_grad_(True) for t in case.inputs("float64").torch()]

    def op(x, offset, w, bias, mask):
        return run_op(case, x, offset, w, bias, mask)

    assert torch.autograd.gradcheck(op, tensors, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_error_names_expected_offset_shape():
    case = case_named("2d-asym_stride_pad_dil")
    x, offset, w, bias, mask = case.inputs("float64").torch()
    with pytest.raises(ValueError, match=r"offset: got shape .*expected"):
        run_op(case, x, offset[:, :, :-1], w, bias, mask)


def test_error_mask_shape_and_dtype():
    case = case_named("3d-asym_stride_pad_dil")
    x, offset, w, bias, mask = case.inputs("float64").torch()
    with pytest.raises(ValueError, match=r"mask: got shape .* expected"):
        run_op(case, x, offset, w, bias, mask[:, :1])
    with pytest.raises(TypeError, match=r"weight: got dtype torch.float32, expected torch.float64"):
        run_op(case, x, offset, w.float(), bias, mask)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"stride": (0, 1)}, r"stride\[H\]: got 0, expected >= 1"),
        ({"padding": (1, 2, 3)}, r"padding: got \(1, 2, 3\), expected"),
        ({"dilation": (1, 1, 1)}, r"dilation: got \(1, 1, 1\), expected an int or 2 ints"),
    ],
)
def test_bad_geometry_is_refused(kwargs, message):
    x = torch.zeros(1, 2, 5, 5)
    w = torch.zeros(2, 2, 3, 3)
    offset = torch.zeros(1, 18, 3, 3)
    with pytest.raises(ValueError, match=message):
        deform_conv2d(x, offset, w, **kwargs)


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(
        ValueError, match=r"input W=2 with pads \(0, 0\) is smaller than the dilated kernel"
    ):
        DeformConvGeometry.build(2, 3).output_size((5, 2))
