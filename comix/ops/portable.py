"""The portable ONNX lowering of the 3-D deformable convolution: one 2-D ``DeformConv`` on a flattened volume.

``--portable`` graphs may use standard ONNX ops only, and ONNX Runtime's ``DeformConv`` accepts 2-D
inputs only. Lowered as it runs eagerly (:mod:`comix.ops.vectorised`: trilinear ``grid_sample``), the
3-D op became a 5-D ``GridSample``, whose ONNX Runtime kernel recomputes the coordinates and corner
checks for every channel of every sample: ~56 ns per sample against ~3.4 ns per sample in ONNX
Runtime's own 2-D ``DeformConv`` (measured; the portable comix_t graph ran at 1.9x PyTorch eager,
almost all of it in GridSample). So, for the geometry every CoMiX block uses — stride 1 and "same"
padding on all three axes (output size = input size, whatever D, H, W) — the 3-D op is rewritten as
one 2-D ``DeformConv``:

* the volume (N, C, D, H, W) gets one zero row below each depth slice and is viewed as an image
  (N, C, D*(H+1), W): slice ``d`` is rows ``d*(H+1) .. d*(H+1)+H``, row ``d*(H+1)+H`` is zero;
* trilinear sampling = (1 - fd) x bilinear in slice ``d0`` + fd x bilinear in slice ``d0 + 1``
  (d0 = floor of the depth coordinate, fd its fraction), so every 3-D kernel point becomes two taps of
  a (2K + E, 1) kernel: taps 0..K-1 read slice d0 with mask ``m*(1-fd)``, taps K..2K-1 read slice d0+1
  with mask ``m*fd`` (a slice outside the volume gets mask 0), both with the 3-D weights; E >= 0 extra
  zero taps make the output exactly (D*H, W) (2-D pads = taps - 1 - D);
* the height coordinate is clamped to [-1, H] so bilinear reads only the slice itself and the zero rows
  around it — ONNX DeformConv's "a corner outside contributes 0" holds per slice; the width axis is the
  image's own (clamped to [-1, W] all the same, which changes nothing but sends NaN outside: every
  clamp maps NaN to -1, so a NaN position reads 0, as in the native op);
* the 2-D offsets are target position minus the 2-D tap's base position; the result is viewed back as
  (N, O, D, H, W).

Any other geometry (strides, "valid" padding) keeps the 5-D GridSample lowering. Both are checked
against the float64 reference and the eager op (tests/ops/test_portable.py). Cost of the rewrite: the
image's coordinates are O(D*H) in float32, so a sampling position carries ~ulp(D*(H+1)) / 2 of rounding
(3e-5 px at D*(H+1) = 264); the measured logit difference to eager stays far inside the export parity
bound (docs/profiling.md). Non-finite inputs: as in the eager kernel, a weight-0 corner times Inf is NaN.
Shapes as in :mod:`comix.ops.vectorised`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from comix.ops.geometry import DeformConvGeometry
from comix.ops.library import OVERLOADS, _geometry, deform_conv2d_op
from comix.ops.vectorised import _base_positions, _check_shapes, deform_conv_nd


def keeps_size(geometry: DeformConvGeometry) -> bool:
    """Stride 1 and "same" padding on every axis: the output size equals the input size for any input."""
    return all(
        s == 1 and pb + pe == d * (k - 1)
        for s, pb, pe, d, k in zip(
            geometry.stride,
            geometry.pad_begin,
            geometry.pad_end,
            geometry.dilation,
            geometry.kernel,
        )
    )


def flattened_taps(points: int, depth: int) -> int:
    """Taps of the 2-D kernel: two per 3-D kernel point, plus zero taps until the 2-D pads (taps - 1 - D)
    are >= 0."""
    return max(2 * points, depth + 1)


def _clamp(values: Tensor, low, high) -> Tensor:
    """``values`` limited to [low, high], NaN -> ``low`` (a position that reads only the zero border or has
    weight 0, as the native op reads 0 for a NaN position). The bounds may be symbolic sizes of an exported
    graph, so they become tensors: ``torch.clamp(values, -1.0, float(size))`` would freeze the traced size
    into the graph."""
    floor, ceiling = (
        torch.full((), bound, dtype=values.dtype, device=values.device) for bound in (low, high)
    )
    values = torch.where(values > floor, values, floor)
    return torch.where(values < ceiling, values, ceiling)


def deform_conv3d_as_2d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    geometry: DeformConvGeometry,
) -> Tensor:
    """The 3-D op of a size-keeping geometry as one 2-D deformable convolution (module doc)."""
    _check_shapes(input, offset, weight, bias, mask, geometry)
    batch, channels, depth, height, width = input.shape
    points, offset_group, out_channels = (
        geometry.kernel_points,
        geometry.offset_group,
        weight.shape[0],
    )
    taps = flattened_taps(points, depth)
    image = F.pad(input, [0, 0, 0, 1]).reshape(batch, channels, depth * (height + 1), width)
    offset = offset.reshape(batch, offset_group, 1, points, 3, depth, height, width)
    base = [
        b.reshape(points, depth, height, width)
        for b in _base_positions(geometry, (depth, height, width), offset)
    ]
    target = [offset[:, :, :, :, axis] + base[axis] for axis in range(3)]  # (N, OG, 1, K, D, H, W)
    t_depth = _clamp(target[0], -1, depth)
    t_height = _clamp(target[1], -1, height)
    t_width = _clamp(target[2], -1, width)  # exact (outside is zero anyway); sends NaN outside
    # the two depth slices on a new axis 2: (N, OG, 2, K, D, H, W), low slice first
    low = torch.floor(t_depth)
    frac = t_depth - low
    slice_index = low + torch.arange(2, dtype=input.dtype, device=input.device).reshape(
        1, 1, 2, 1, 1, 1, 1
    )
    share = torch.cat([1 - frac, frac], dim=2)
    inside = ((slice_index >= 0) & (slice_index < depth)).to(
        input.dtype
    )  # a slice outside adds nothing
    if mask is not None:
        share = share * mask.reshape(batch, offset_group, 1, points, depth, height, width)
    taps_mask = share * inside
    # 2-D tap t = slice * K + k at output row r = d*H + h has base (r - pad_begin + t, w)
    pad_begin = (taps - 1 - depth) // 2
    out_row = torch.arange(depth * height, dtype=input.dtype, device=input.device).reshape(
        depth, height, 1
    )
    out_col = torch.arange(width, dtype=input.dtype, device=input.device)
    tap = torch.arange(2 * points, dtype=input.dtype, device=input.device).reshape(
        1, 1, 2, points, 1, 1, 1
    )
    rows = _clamp(slice_index, 0, depth - 1) * (height + 1) + t_height
    row_offset = rows - (out_row - pad_begin + tap)
    col_offset = (t_width - out_col).expand_as(row_offset)
    # DeformConv's layout: (N, OG, taps, (dh, dw), D*H, W), tap-major, no transpose needed
    offsets = torch.stack([row_offset, col_offset], dim=4).reshape(
        batch, offset_group, 2 * points, 2, depth * height, width
    )
    taps_mask = taps_mask.reshape(batch, offset_group, 2 * points, depth * height, width)
    weight_2d = weight.reshape(out_channels, weight.shape[1], points, 1)
    weight_2d = torch.cat([weight_2d, weight_2d], dim=2)
    extra = taps - 2 * points
    if extra:
        offsets = F.pad(offsets, [0, 0, 0, 0, 0, 0, 0, extra])
        taps_mask = F.pad(taps_mask, [0, 0, 0, 0, 0, extra])
        weight_2d = F.pad(weight_2d, [0, 0, 0, extra])
    output = deform_conv2d_op(
        image,
        offsets.reshape(batch, offset_group * taps * 2, depth * height, width),
        weight_2d,
        bias,
        taps_mask.reshape(batch, offset_group * taps, depth * height, width),
        [taps, 1],
        [1, 1],
        [pad_begin, 0, taps - 1 - depth - pad_begin, 0],
        [1, 1],
        geometry.group,
        offset_group,
    )
    return output.reshape(batch, out_channels, depth, height, width)


def deform_conv3d_portable(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    geometry: DeformConvGeometry,
) -> Tensor:
    """The portable lowering of the 3-D op: :func:`deform_conv3d_as_2d` where the geometry keeps the size and
    the depth is fixed (the 2-D kernel's size and pads depend on it; a graph exported with a symbolic depth
    takes the other path), else the eager kernel (5-D GridSample)."""
    if keeps_size(geometry) and isinstance(input.shape[2], int):
        return deform_conv3d_as_2d(input, offset, weight, bias, mask, geometry)
    return deform_conv_nd(input, offset, weight, bias, mask, geometry)


def _portable_3d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    kernel: Sequence[int],
    stride: Sequence[int],
    pads: Sequence[int],
    dilation: Sequence[int],
    group: int,
    offset_group: int,
) -> Tensor:
    return deform_conv3d_portable(
        input,
        offset,
        weight,
        bias,
        mask,
        _geometry(3, kernel, stride, pads, dilation, group, offset_group),
    )


# For torch.export's run_decompositions: the portable ONNX graph lowers the 3-D op with
# comix.ops.portable (one 2-D DeformConv on the flattened volume where the geometry keeps the size, else
# the vectorised GridSample + MatMul implementation); the 2-D op stays one standard ONNX DeformConv.
DECOMPOSITIONS = {OVERLOADS[3]: _portable_3d}
