"""Deformable-convolution ops (2-D and 3-D, ONNX ``DeformConv`` semantics), their geometry and spec.

One ``torch.library`` op per dimensionality (``torch.ops.comix.deform_conv2d`` / ``deform_conv3d``,
:mod:`comix.ops.library`); the functions and modules here are its front ends. Importing this package imports
no torch: the torch-free runtime reads :mod:`comix.ops.spec` alone; the names below load their module on use.
"""

from __future__ import annotations

from comix.lazy import lazy_names

_LAZY = {
    "DeformConv2d": "comix.ops.modules",
    "DeformConv3d": "comix.ops.modules",
    "DeformConvNd": "comix.ops.modules",
    "DeformConvGeometry": "comix.ops.geometry",
    "deform_conv": "comix.ops.library",
    "deform_conv2d": "comix.ops.library",
    "deform_conv3d": "comix.ops.library",
    "infer_geometry": "comix.ops.vectorised",
}

__getattr__, __all__ = lazy_names(__name__, _LAZY)
