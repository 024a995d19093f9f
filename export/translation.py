"""Translations of our custom ops into ONNX nodes for the dynamo exporter (``custom_translation_table``).

``comix::deform_conv2d`` -> ``DeformConv`` (ai.onnx, opset >= 19); ``comix::deform_conv3d`` ->
``ai.comix::DeformConv3D`` (version from :mod:`comix.ops.spec`). ONNX input order is X, W, offset, B, mask
(the torch op takes input, offset, weight, ...); an absent bias or mask becomes an empty input.
"""

from __future__ import annotations

import onnxscript
from onnxscript import opset19

from comix.export.schema import register_deform_conv3d_schema
from comix.ops.library import OVERLOADS
from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D

COMIX_OPSET = onnxscript.values.Opset(CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION)


def _attributes(kernel, stride, pads, dilation, group, offset_group) -> dict:
    return {
        "kernel_shape": [int(v) for v in kernel],
        "strides": [int(v) for v in stride],
        "pads": [int(v) for v in pads],
        "dilations": [int(v) for v in dilation],
        "group": int(group),
        "offset_group": int(offset_group),
    }


def deform_conv2d_onnx(input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group):
    """comix::deform_conv2d -> ONNX DeformConv (N, O, oH, oW)."""
    return opset19.DeformConv(input, weight, offset, bias, mask,
                              **_attributes(kernel, stride, pads, dilation, group, offset_group))


def deform_conv3d_onnx(input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group):
    """comix::deform_conv3d -> ai.comix::DeformConv3D (N, O, oD, oH, oW)."""
    return getattr(COMIX_OPSET, DEFORM_CONV_3D)(input, weight, offset, bias, mask,
                                                **_attributes(kernel, stride, pads, dilation, group, offset_group))


def translation_table() -> dict:
    """The ``custom_translation_table`` for ``torch.onnx.export(dynamo=True)``; registers our schema."""
    register_deform_conv3d_schema()
    return {
        OVERLOADS[2]: deform_conv2d_onnx,
        OVERLOADS[3]: deform_conv3d_onnx,
    }
