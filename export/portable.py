"""``--portable`` lowering of the 3-D DCN to standard ONNX ops: 5-D ``GridSample`` + ``MatMul``.

Registered as the DCN backend ``"export_portable"``: 2-D DCNs stay one ONNX ``DeformConv`` node (a
standard ai.onnx op that ONNX Runtime runs), 3-D DCNs are written in plain torch ops that the exporter
maps to ai.onnx ops only (opset >= 20 for 5-D ``GridSample``), so any ONNX runtime can run the graph
without our custom-op library. It is slower than a real kernel (see DESIGN.md) but exact to float32
rounding.

Algorithm, for input (N, C, D, H, W), offset (N, OG*K*3, oD, oH, oW), mask (N, OG*K, oD, oH, oW),
P = oD*oH*oW:

1. absolute sampling position per axis: ``p*stride - pad_begin + k*dilation + offset`` -> (N, OG, K, P);
2. normalised for ``align_corners=False``: ``g = (2*pos + 1) / size - 1`` (valid for size 1 too);
3. ``grid_sample`` (trilinear, zeros outside, which is exactly DCN's "corner outside contributes 0")
   on the input viewed as (N*OG, C/OG, D, H, W) with a grid (N*OG, K, P, 1, 3) in (w, h, d) order
   -> columns (N*OG, C/OG, K, P, 1);
4. columns * mask, grouped ``matmul`` with the weight (group, O/group, C/group*K) -> (N, O, oD, oH, oW).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from comix.ops import DeformConvGeometry, register_dcn_backend
from export.ops import deform_conv2d_op

PORTABLE_BACKEND = "export_portable"
MIN_PORTABLE_OPSET = 20  # 5-D GridSample


def _positions(geometry: DeformConvGeometry, out_size: list, like: Tensor) -> list[Tensor]:
    """Undeformed sampling coordinate per axis, each (K, P), from the (possibly symbolic) output size."""
    nd = geometry.ndim
    kernel_taps = torch.meshgrid(*[torch.arange(k, device=like.device) for k in geometry.kernel], indexing="ij")
    outputs = torch.meshgrid(*[torch.arange(o, device=like.device) for o in out_size], indexing="ij")
    positions = []
    for axis in range(nd):
        tap = (kernel_taps[axis].reshape(-1) * geometry.dilation[axis]).to(like.dtype)
        start = (outputs[axis].reshape(-1) * geometry.stride[axis] - geometry.pad_begin[axis]).to(like.dtype)
        positions.append(tap[:, None] + start[None, :])
    return positions


def deform_conv3d_portable(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None,
                           mask: Tensor | None, geometry: DeformConvGeometry) -> Tensor:
    """3-D DCN from grid_sample + matmul; shapes as :func:`comix.ops.deform_conv3d` (module doc above)."""
    batch, channels, depth, height, width = input.shape
    out_size = list(offset.shape[2:])
    og, group, points = geometry.offset_group, geometry.group, geometry.kernel_points
    out_channels = weight.shape[0]
    offset = offset.reshape(batch, og, points, 3, -1)
    base = _positions(geometry, out_size, offset)
    grid_axes = []
    for axis, size in enumerate((depth, height, width)):
        position = offset[:, :, :, axis] + base[axis]  # (N, OG, K, P)
        grid_axes.append((2.0 * position + 1.0) / size - 1.0)
    grid = torch.stack(grid_axes[::-1], dim=-1)  # (N, OG, K, P, 3) as (w, h, d)
    grid = grid.reshape(batch * og, points, -1, 1, 3)
    sampled = F.grid_sample(input.reshape(batch * og, channels // og, depth, height, width), grid,
                            mode="bilinear", padding_mode="zeros", align_corners=False)
    columns = sampled.reshape(batch, og, channels // og, points, -1)
    if mask is not None:
        columns = columns * mask.reshape(batch, og, 1, points, -1)
    columns = columns.reshape(batch, group, (channels // group) * points, -1)
    weights = weight.reshape(group, out_channels // group, (channels // group) * points)
    output = torch.matmul(weights, columns).reshape(batch, out_channels, *out_size)
    if bias is not None:
        output = output + bias.reshape(1, -1, 1, 1, 1)
    return output


def portable_dcn(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                 geometry: DeformConvGeometry) -> Tensor:
    """DCN backend ``"export_portable"``: ONNX DeformConv for 2-D, GridSample lowering for 3-D."""
    if geometry.ndim == 2:
        return deform_conv2d_op(input, offset, weight, bias, mask, list(geometry.kernel), list(geometry.stride),
                                geometry.onnx_pads, list(geometry.dilation), geometry.group, geometry.offset_group)
    if geometry.ndim == 3:
        return deform_conv3d_portable(input, offset, weight, bias, mask, geometry)
    raise ValueError(f"portable DCN: got a {geometry.ndim}-D geometry, expected 2-D or 3-D")


register_dcn_backend(PORTABLE_BACKEND, portable_dcn)
