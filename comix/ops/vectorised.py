"""The vectorised PyTorch implementation of modulated deformable convolution (DCNv2), 2-D and 3-D.

This is the kernel behind the ``comix::deform_conv2d`` / ``comix::deform_conv3d`` ops of
:mod:`comix.ops.library` on every device without a native kernel, their backward (by autograd through
it), and the ``--portable`` ONNX lowering of a 3-D op whose geometry changes the size (strided); the
size-keeping 3-D geometry of every CoMiX block is lowered by :mod:`comix.ops.portable` instead (one 2-D
DeformConv, much faster in ONNX Runtime than a 5-D GridSample). Call the ops, not this function directly.

Plain PyTorch ops only (grid_sample, matmul), so autograd gives gradients for input, weight, offset, mask
and bias, and it runs wherever PyTorch runs. The algorithm is a deformable im2col:

1. for every kernel point k and output position p, the sampling position
   ``s = p*stride - pad_begin + k*dilation + offset`` (per offset group);
2. bilinear / trilinear interpolation at ``s`` with ``grid_sample``: a grid corner outside the input
   contributes zero;
3. columns ``(N, C*K, P)`` times the mask, then a grouped matmul with the weight ``(O, C/group * K)``.

Shapes (nd = 2 or 3 spatial axes, S = input spatial size, oS = output spatial size, K = prod(kernel)):
    input  (N, C, *S)
    offset (N, offset_group * K * nd, *oS)   channel = (g*K + k)*nd + axis
    weight (O, C/group, *kernel)
    bias   (O,) or None
    mask   (N, offset_group * K, *oS) or None   channel = g*K + k
    output (N, O, *oS)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from comix.errors import BadInputError
from comix.ops.geometry import AXIS_NAMES, DeformConvGeometry


def infer_geometry(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    stride: int | Sequence[int],
    padding: int | Sequence[int],
    dilation: int | Sequence[int],
) -> DeformConvGeometry:
    """Build the geometry from arguments; ``group`` and ``offset_group`` come from the tensor shapes."""
    ndim = input.dim() - 2
    if ndim not in AXIS_NAMES:
        raise BadInputError(
            f"input: got a {input.dim()}-D tensor, expected 4-D (N,C,H,W) or 5-D (N,C,D,H,W)"
        )
    if weight.dim() != ndim + 2:
        raise BadInputError(
            f"weight: got shape {tuple(weight.shape)}, expected {ndim + 2} dims (O, C/group, *kernel)"
        )
    channels, weight_in = input.shape[1], weight.shape[1]
    if weight_in == 0 or channels % weight_in != 0:
        raise BadInputError(
            f"weight: C/group = {weight_in} does not divide input channels {channels}"
        )
    group = channels // weight_in
    if weight.shape[0] % group != 0:
        raise BadInputError(
            f"weight: {weight.shape[0]} output channels not divisible by group {group}"
        )
    kernel = tuple(int(k) for k in weight.shape[2:])
    points = 1
    for k in kernel:
        points *= k
    if offset.dim() != ndim + 2 or offset.shape[1] % (points * ndim) != 0 or offset.shape[1] == 0:
        raise BadInputError(
            f"offset: got shape {tuple(offset.shape)}, expected (N, offset_group*{points}*{ndim}, *out) "
            f"for a {'x'.join(map(str, kernel))} kernel"
        )
    offset_group = offset.shape[1] // (points * ndim)
    if channels % offset_group != 0:
        raise BadInputError(
            f"offset: offset_group {offset_group} does not divide input channels {channels}"
        )
    return DeformConvGeometry.build(ndim, kernel, stride, padding, dilation, group, offset_group)


def _check_shapes(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    geometry: DeformConvGeometry,
) -> tuple[int, ...]:
    """Check every tensor against the geometry; return the output spatial size."""
    nd, points = geometry.ndim, geometry.kernel_points
    out_size = geometry.output_size(input.shape[2:])
    batch = input.shape[0]
    expected_offset = (batch, geometry.offset_group * points * nd, *out_size)
    if tuple(offset.shape) != expected_offset:
        raise BadInputError(f"offset: got shape {tuple(offset.shape)}, expected {expected_offset}")
    if mask is not None:
        expected_mask = (batch, geometry.offset_group * points, *out_size)
        if tuple(mask.shape) != expected_mask:
            raise BadInputError(f"mask: got shape {tuple(mask.shape)}, expected {expected_mask}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise BadInputError(f"bias: got shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
    for name, tensor in (("offset", offset), ("weight", weight), ("bias", bias), ("mask", mask)):
        if tensor is not None and tensor.dtype != input.dtype:
            raise TypeError(
                f"{name}: got dtype {tensor.dtype}, expected {input.dtype} like the input"
            )
    return out_size


def _base_positions(
    geometry: DeformConvGeometry, out_size: Sequence[int], like: Tensor
) -> list[Tensor]:
    """Per axis, the undeformed sampling coordinate for every (kernel point, output position).

    Returns nd tensors of shape (K, P): ``p*stride - pad_begin + k*dilation`` along that axis.
    """
    kernel_grid = torch.cartesian_prod(*[torch.arange(k) for k in geometry.kernel]).reshape(
        -1, geometry.ndim
    )
    out_grid = torch.cartesian_prod(*[torch.arange(o) for o in out_size]).reshape(-1, geometry.ndim)
    positions = []
    for axis in range(geometry.ndim):
        start = out_grid[:, axis] * geometry.stride[axis] - geometry.pad_begin[axis]
        tap = kernel_grid[:, axis] * geometry.dilation[axis]
        positions.append((tap[:, None] + start[None, :]).to(dtype=like.dtype, device=like.device))
    return positions


def _sample_columns(input: Tensor, coords: list[Tensor], geometry: DeformConvGeometry) -> Tensor:
    """Interpolate the input at deformed coordinates.

    input: (N, C, *S). coords: nd tensors (N, G, K, P) of absolute positions along each axis.
    Returns columns (N, G, C/G, K, P), zero where a corner falls outside the input.

    ``grid_sample`` (bilinear / trilinear, zero padding) has exactly the per-corner zero semantics of
    ONNX DeformConv; positions are mapped to its normalised grid with ``align_corners=False``
    (pixel p -> (2p + 1) / size - 1), which also holds for an axis of size 1.
    """
    batch, channels = input.shape[:2]
    size = input.shape[2:]
    group = geometry.offset_group
    _, _, points, positions = coords[0].shape
    grouped = input.reshape(batch * group, channels // group, *size)
    normalised = [(2 * c + 1) / s - 1 for c, s in zip(coords, size)]
    grid = torch.stack(normalised[::-1], dim=-1)  # grid_sample wants (w, h[, d]) last
    grid = grid.reshape(
        batch * group, *([1] * (geometry.ndim - 2)), points, positions, geometry.ndim
    )
    sampled = F.grid_sample(
        grouped, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return sampled.reshape(batch, group, channels // group, points, positions)


def deform_conv_nd(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    geometry: DeformConvGeometry,
) -> Tensor:
    """Modulated deformable convolution for a validated geometry (2-D or 3-D); shapes in the module doc."""
    out_size = _check_shapes(input, offset, weight, bias, mask, geometry)
    batch, channels = input.shape[:2]
    out_channels = weight.shape[0]
    nd, points, group = geometry.ndim, geometry.kernel_points, geometry.group
    positions = 1
    for o in out_size:
        positions *= o
    if batch == 0 or positions == 0:
        return input.new_zeros((batch, out_channels, *out_size)) + (
            0 if bias is None else bias.reshape(1, -1, *([1] * nd))
        )
    offset = offset.reshape(batch, geometry.offset_group, points, nd, positions)
    base = _base_positions(geometry, out_size, offset)
    coords = [offset[:, :, :, axis] + base[axis] for axis in range(nd)]
    columns = _sample_columns(input, coords, geometry)  # (N, OG, C/OG, K, P)
    if mask is not None:
        columns = columns * mask.reshape(batch, geometry.offset_group, 1, points, positions)
    columns = columns.reshape(batch, group, (channels // group) * points, positions)
    weight_matrix = weight.reshape(group, out_channels // group, (channels // group) * points)
    output = torch.matmul(weight_matrix, columns)  # (N, G, O/G, P)
    output = output.reshape(batch, out_channels, *out_size)
    if bias is not None:
        output = output + bias.reshape(1, -1, *([1] * nd))
    return output
