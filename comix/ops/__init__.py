"""Deformable-convolution ops (2-D and 3-D, ONNX ``DeformConv`` semantics), their geometry and spec.

One ``torch.library`` op per dimensionality (``torch.ops.comix.deform_conv2d`` / ``deform_conv3d``,
:mod:`comix.ops.library`); the functions and modules here are its front ends.
"""

from comix.ops.deform_conv import infer_geometry
from comix.ops.geometry import DeformConvGeometry
from comix.ops.library import deform_conv, deform_conv2d, deform_conv3d
from comix.ops.modules import DeformConv2d, DeformConv3d, DeformConvNd

__all__ = [
    "DeformConv2d",
    "DeformConv3d",
    "DeformConvGeometry",
    "DeformConvNd",
    "deform_conv",
    "deform_conv2d",
    "deform_conv3d",
    "infer_geometry",
]
