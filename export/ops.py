"""Export-friendly DCN: ``torch.library`` custom ops ``comix::deform_conv2d`` / ``comix::deform_conv3d``.

Each op is one opaque node for ``torch.export`` (a fake implementation gives the output shape, the eager
implementation is the reference-tested :func:`comix.ops.deform_conv_nd`), so the ONNX exporter sees
exactly one call per DCN and maps it to one ONNX node (see :mod:`comix.export.translation`):

* ``comix::deform_conv2d`` -> ONNX ``DeformConv`` (opset >= 19)
* ``comix::deform_conv3d`` -> ``ai.comix::DeformConv3D`` (our spec, :mod:`comix.ops.spec`)

Both take the ONNX argument list: input (N, C, *S), offset (N, OG*K*nd, *oS), weight (O, C/group, *k),
optional bias (O,), optional mask (N, OG*K, *oS), then kernel, stride, pads (begins then ends),
dilation in spatial axis order ([H, W] or [D, H, W]), group, offset_group.

Importing this module registers the DCN backend ``"export"`` (build the model with
``dcn_backend="export"``); :mod:`comix.export.portable` registers ``"export_portable"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from comix.ops import DeformConvGeometry, deform_conv_nd, register_dcn_backend

EXPORT_BACKEND = "export"


def _geometry(ndim: int, kernel, stride, pads, dilation, group: int, offset_group: int) -> DeformConvGeometry:
    return DeformConvGeometry.build(ndim, list(kernel), list(stride), list(pads), list(dilation), group, offset_group)


def _output_shape(input: Tensor, weight: Tensor, kernel, stride, pads, dilation) -> list:
    """(N, O, *oS) with symbolic-friendly integer arithmetic (works on SymInts under torch.export)."""
    nd = len(kernel)
    spatial = []
    for axis in range(nd):
        size = input.shape[2 + axis]
        span = dilation[axis] * (kernel[axis] - 1) + 1
        spatial.append((size + pads[axis] + pads[axis + nd] - span) // stride[axis] + 1)
    return [input.shape[0], weight.shape[0], *spatial]


@torch.library.custom_op("comix::deform_conv2d", mutates_args=())
def deform_conv2d_op(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                     kernel: Sequence[int], stride: Sequence[int], pads: Sequence[int], dilation: Sequence[int],
                     group: int, offset_group: int) -> Tensor:
    """2-D DCN (ONNX ``DeformConv`` semantics); shapes in the module docstring."""
    geometry = _geometry(2, kernel, stride, pads, dilation, group, offset_group)
    return deform_conv_nd(input, offset, weight, bias, mask, geometry)


@torch.library.custom_op("comix::deform_conv3d", mutates_args=())
def deform_conv3d_op(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                     kernel: Sequence[int], stride: Sequence[int], pads: Sequence[int], dilation: Sequence[int],
                     group: int, offset_group: int) -> Tensor:
    """3-D DCN (``ai.comix::DeformConv3D`` semantics); shapes in the module docstring."""
    geometry = _geometry(3, kernel, stride, pads, dilation, group, offset_group)
    return deform_conv_nd(input, offset, weight, bias, mask, geometry)


@deform_conv2d_op.register_fake
def _deform_conv2d_fake(input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group):
    return input.new_empty(_output_shape(input, weight, kernel, stride, pads, dilation))


@deform_conv3d_op.register_fake
def _deform_conv3d_fake(input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group):
    return input.new_empty(_output_shape(input, weight, kernel, stride, pads, dilation))


def export_dcn(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
               geometry: DeformConvGeometry) -> Tensor:
    """DCN backend ``"export"``: one custom-op call per DCN (2-D or 3-D by ``geometry.ndim``)."""
    op = {2: deform_conv2d_op, 3: deform_conv3d_op}.get(geometry.ndim)
    if op is None:
        raise ValueError(f"export DCN: got a {geometry.ndim}-D geometry, expected 2-D or 3-D")
    return op(input, offset, weight, bias, mask, list(geometry.kernel), list(geometry.stride), geometry.onnx_pads,
              list(geometry.dilation), geometry.group, geometry.offset_group)


register_dcn_backend(EXPORT_BACKEND, export_dcn)
