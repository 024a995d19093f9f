"""The vectorised DCN ops against the float64 loop reference, on grids that expose index bugs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from comix.ops import DeformConvGeometry, deform_conv2d, deform_conv3d
from comix.ops.reference import deform_conv_reference


@dataclass(frozen=True)
class Case:
    """One point of the test grid; tuples in [H, W] or [D, H, W] order, padding ONNX-style or per axis."""

    name: str
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    in_channels: int = 6
    out_channels: int = 4
    group: int = 1
    offset_group: int = 1
    batch: int = 2
    offset_scale: float = 1.5
    offset_shift: float = 0.0

    @property
    def ndim(self) -> int:
        return len(self.size)

    def geometry(self) -> DeformConvGeometry:
        return DeformConvGeometry.build(self.ndim, self.kernel, self.stride, self.padding, self.dilation,
                                        self.group, self.offset_group)


CASES_2D = [
    Case("asym_stride_pad_dil_3x2", (7, 9), (3, 2), (2, 1), (1, 0), (2, 1)),
    Case("onnx_pads_begin_ne_end", (6, 5), (3, 3), (1, 2), (2, 0, 1, 1), (1, 2)),
    Case("groups_and_offset_groups", (5, 6), (3, 3), (1, 1), (1, 1), (1, 1), in_channels=6, out_channels=9,
         group=3, offset_group=2),
    Case("odd_channels_og3", (5, 7), (2, 3), (1, 2), (0, 1), (2, 1), in_channels=3, out_channels=5,
         offset_group=3, batch=3),
    Case("offsets_far_outside", (5, 5), (3, 3), (1, 1), (1, 1), (1, 1), offset_scale=4.0, offset_shift=30.0),
    Case("offsets_half_outside", (4, 6), (3, 1), (2, 1), (1, 0), (1, 1), in_channels=5, out_channels=3,
         offset_scale=6.0, batch=1),
    Case("empty_batch", (5, 5), (3, 3), (1, 1), (1, 1), (1, 1), batch=0),
]

CASES_3D = [
    Case("asym_stride_pad_dil_3x1x2", (5, 6, 7), (3, 1, 2), (2, 1, 1), (1, 0, 0), (2, 1, 1)),
    Case("onnx_pads_begin_ne_end", (4, 5, 6), (2, 3, 2), (1, 2, 1), (1, 0, 2, 0, 1, 0), (1, 1, 2)),
    Case("groups_and_offset_groups", (4, 4, 5), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), in_channels=6,
         out_channels=4, group=2, offset_group=3, batch=3),
    Case("odd_channels", (3, 5, 4), (1, 3, 2), (1, 1, 2), (0, 1, 0), (1, 1, 1), in_channels=5, out_channels=3),
    Case("offsets_far_outside", (4, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), in_channels=3,
         out_channels=2, offset_scale=5.0, offset_shift=-25.0, batch=1),
    Case("empty_batch", (4, 4, 4), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), batch=0),
]


def make_tensors(case: Case, dtype=torch.float64, seed: int = 0, with_mask=True, with_bias=True):
    """Random input, offset, weight, bias, mask for a case (shapes from the geometry)."""
    gen = torch.Generator().manual_seed(seed)
    geometry = case.geometry()
    out = geometry.output_size(case.size)
    k = geometry.kernel_points
    x = torch.randn(case.batch, case.in_channels, *case.size, generator=gen, dtype=dtype)
    w = torch.randn(case.out_channels, case.in_channels // case.group, *case.kernel, generator=gen, dtype=dtype)
    offset = torch.randn(case.batch, case.offset_group * k * case.ndim, *out, generator=gen, dtype=dtype)
    offset = offset * case.offset_scale + case.offset_shift
    bias = torch.randn(case.out_channels, generator=gen, dtype=dtype) if with_bias else None
    mask = torch.rand(case.batch, case.offset_group * k, *out, generator=gen, dtype=dtype) if with_mask else None
    return x, offset, w, bias, mask


def run_op(case: Case, x, offset, w, bias, mask):
    op = deform_conv2d if case.ndim == 2 else deform_conv3d
    return op(x, offset, w, bias, mask, stride=case.stride, padding=case.padding, dilation=case.dilation)


ALL_CASES = [pytest.param(c, id=f"{c.ndim}d-{c.name}") for c in CASES_2D + CASES_3D]


@pytest.mark.parametrize("case", ALL_CASES)
@pytest.mark.parametrize("with_mask,with_bias", [(True, True), (False, False)])
def test_matches_float64_reference(case: Case, with_mask: bool, with_bias: bool):
    x, offset, w, bias, mask = make_tensors(case, with_mask=with_mask, with_bias=with_bias)
    got = run_op(case, x, offset, w, bias, mask)
    want = deform_conv_reference(x, offset, w, bias, mask, case.geometry())
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", ALL_CASES)
def test_float32_within_tolerance(case: Case):
    x, offset, w, bias, mask = make_tensors(case, dtype=torch.float32, seed=1)
    got = run_op(case, x, offset, w, bias, mask)
    want = deform_conv_reference(x, offset, w, bias, mask, case.geometry())
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", [CASES_2D[0], CASES_3D[0]], ids=["2d", "3d"])
def test_non_contiguous_inputs(case: Case):
    x, offset, w, bias, mask = make_tensors(case, seed=2)
    # Same values, other memory layouts: transposed copies transposed back, and a channels-last input.
    x_nc = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    offset_nc = offset.transpose(0, 1).contiguous().transpose(0, 1)
    mask_nc = mask.transpose(-1, -2).contiguous().transpose(-1, -2)
    w_nc = w.transpose(0, 1).contiguous().transpose(0, 1)
    assert not x_nc.is_contiguous() and not offset_nc.is_contiguous() and not w_nc.is_contiguous()
    got = run_op(case, x_nc, offset_nc, w_nc, bias, mask_nc)
    want = deform_conv_reference(x, offset, w, bias, mask, case.geometry())
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [CASES_2D[0], CASES_2D[2], CASES_3D[0], CASES_3D[2]],
                         ids=["2d-asym", "2d-groups", "3d-asym", "3d-groups"])
def test_zero_offsets_unit_mask_equal_convolution(case: Case):
    x, offset, w, bias, mask = make_tensors(case, seed=3)
    offset = torch.zeros_like(offset)
    mask = torch.ones_like(mask)
    got = run_op(case, x, offset, w, bias, mask)
    geometry = case.geometry()
    pads = []
    for begin, end in zip(reversed(geometry.pad_begin), reversed(geometry.pad_end)):
        pads += [begin, end]
    conv = F.conv2d if case.ndim == 2 else F.conv3d
    want = conv(F.pad(x, pads), w, bias, stride=geometry.stride, dilation=geometry.dilation, groups=case.group)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [
    Case("grad2d", (5, 4), (3, 2), (2, 1), (1, 0), (2, 1), in_channels=4, out_channels=2, group=2,
         offset_group=2, batch=2),
    Case("grad3d", (4, 3, 4), (2, 1, 2), (2, 1, 1), (1, 0, 0), (1, 1, 2), in_channels=2, out_channels=2,
         offset_group=2, batch=1),
], ids=["2d", "3d"])
def test_gradcheck_all_inputs(case: Case):
    tensors = make_tensors(case, seed=4)
    tensors = [t.clone().requires_grad_(True) for t in tensors]

    def op(x, offset, w, bias, mask):
        return run_op(case, x, offset, w, bias, mask)

    assert torch.autograd.gradcheck(op, tensors, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_error_names_expected_offset_shape():
    case = CASES_2D[0]
    x, offset, w, bias, mask = make_tensors(case)
    with pytest.raises(ValueError, match=r"offset: got shape .*expected"):
        run_op(case, x, offset[:, :, :-1], w, bias, mask)


def test_error_mask_shape_and_dtype():
    case = CASES_3D[0]
    x, offset, w, bias, mask = make_tensors(case)
    with pytest.raises(ValueError, match=r"mask: got shape .* expected"):
        run_op(case, x, offset, w, bias, mask[:, :1])
    with pytest.raises(TypeError, match=r"weight: got dtype torch.float32, expected torch.float64"):
        run_op(case, x, offset, w.float(), bias, mask)


@pytest.mark.parametrize("kwargs,message", [
    (dict(stride=(0, 1)), r"stride\[H\]: got 0, expected >= 1"),
    (dict(padding=(1, 2, 3)), r"padding: got \(1, 2, 3\), expected"),
    (dict(dilation=(1, 1, 1)), r"dilation: got \(1, 1, 1\), expected an int or 2 ints"),
])
def test_bad_geometry_is_refused(kwargs, message):
    x = torch.zeros(1, 2, 5, 5)
    w = torch.zeros(2, 2, 3, 3)
    offset = torch.zeros(1, 18, 3, 3)
    with pytest.raises(ValueError, match=message):
        deform_conv2d(x, offset, w, **kwargs)


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(ValueError, match=r"input W=2 with pads \(0, 0\) is smaller than the dilated kernel"):
        DeformConvGeometry.build(2, 3).output_size((5, 2))
