"""``--portable`` lowering of the 3-D DCN to standard ONNX ops: 5-D ``GridSample`` + ``MatMul``.

Registered as the DCN backend ``"export_portable"``: 2-D DCNs stay one ONNX ``DeformConv`` node (a
standard ai.onnx op that ONNX Runtime runs); 3-D DCNs go through the eager op
:func:`comix.ops.deform_conv_nd` itself, which is written in plain torch ops (trilinear ``grid_sample``
with zeros outside, times the mask, grouped ``matmul``) that the exporter maps to ai.onnx ops only
(opset >= 20 for 5-D ``GridSample``). So the portable graph computes exactly what training computed,
and any ONNX runtime can run it without our custom-op library (slower than a real kernel).
"""

from __future__ import annotations

from torch import Tensor

from comix.ops import DeformConvGeometry, deform_conv_nd, register_dcn_backend
from comix.export.ops import deform_conv2d_op

PORTABLE_BACKEND = "export_portable"
MIN_PORTABLE_OPSET = 20  # 5-D GridSample


def portable_dcn(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                 geometry: DeformConvGeometry) -> Tensor:
    """DCN backend ``"export_portable"``: ONNX DeformConv for 2-D, GridSample lowering for 3-D."""
    if geometry.ndim == 2:
        return deform_conv2d_op(input, offset, weight, bias, mask, list(geometry.kernel), list(geometry.stride),
                                geometry.onnx_pads, list(geometry.dilation), geometry.group, geometry.offset_group)
    if geometry.ndim == 3:
        return deform_conv_nd(input, offset, weight, bias, mask, geometry)
    raise ValueError(f"portable DCN: got a {geometry.ndim}-D geometry, expected 2-D or 3-D")


register_dcn_backend(PORTABLE_BACKEND, portable_dcn)
