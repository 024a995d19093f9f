"""Deformable-convolution ops (2-D and 3-D, ONNX ``DeformConv`` semantics), their geometry and spec."""

from comix.ops.deform_conv import deform_conv2d, deform_conv3d, deform_conv_nd, infer_geometry
from comix.ops.geometry import DeformConvGeometry
from comix.ops.modules import DCN_BACKENDS, DeformConv2d, DeformConv3d, DeformConvNd, register_dcn_backend

__all__ = [
    "DCN_BACKENDS",
    "DeformConv2d",
    "DeformConv3d",
    "DeformConvGeometry",
    "DeformConvNd",
    "deform_conv2d",
    "deform_conv3d",
    "deform_conv_nd",
    "infer_geometry",
    "register_dcn_backend",
]
