"""torch -> ONNX export of CoMiX: custom DCN ops, ONNX schema, portable lowering, passes, validation.

Importing the package registers the DCN backends ``"export"`` (canonical graph: ONNX ``DeformConv`` for
2-D, ``ai.comix::DeformConv3D`` for 3-D) and ``"export_portable"`` (ai.onnx ops only), and the ONNX
schema of ``ai.comix::DeformConv3D``. See docs/export.md.
"""

from comix.export.ops import EXPORT_BACKEND, export_dcn
from comix.export.portable import MIN_PORTABLE_OPSET, PORTABLE_BACKEND, portable_dcn
from comix.export.schema import register_deform_conv3d_schema

register_deform_conv3d_schema()

__all__ = [
    "EXPORT_BACKEND",
    "MIN_PORTABLE_OPSET",
    "PORTABLE_BACKEND",
    "export_dcn",
    "portable_dcn",
    "register_deform_conv3d_schema",
]
