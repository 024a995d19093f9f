"""The one spec of CoMiX's custom deformable-convolution ONNX nodes.

The exporter, the ONNX schema, the ONNX Runtime custom op, the TensorRT plugin creators, the README
tables and the test grids all read these constants; nothing else spells the names out.

2-D: the standard ONNX ``DeformConv`` (domain ``""``, opset >= 19) — no custom node needed.
3-D: ``DeformConv3D`` in our domain, with exactly ``DeformConv``'s inputs and attributes for 3 spatial
axes, axis order ``[D, H, W]``:

inputs
  0 X       (N, C, D, H, W)                 float32 | float16
  1 W       (O, C/group, kD, kH, kW)        same dtype as X
  2 offset  (N, offset_group*K*3, oD, oH, oW)  per offset group, per kernel point k (row-major over
            kD, kH, kW), the triple (dd, dh, dw); channel = (g*K + k)*3 + axis
  3 B       (O,)                            optional (empty name = absent)
  4 mask    (N, offset_group*K, oD, oH, oW)   optional; channel = g*K + k
outputs
  0 Y       (N, O, oD, oH, oW)
attributes
  kernel_shape int[3]; strides int[3] (default 1); pads int[6] (d_b, h_b, w_b, d_e, h_e, w_e; default 0);
  dilations int[3] (default 1); group int (default 1); offset_group int (default 1)

Sampling: y[n, o, p] = B[o] + sum_{c in group(o), k} W[o, c, k] * m[n, g(c), k, p] * x[n, c, s]
with s = p*stride - pad_begin + k*dilation + offset[n, g(c), k, :, p], trilinear, zero outside.

Non-finite X (every backend and the float64 reference, 2-D and 3-D): a grid corner outside the input is
never read and contributes exactly 0, so an Inf/NaN anywhere cannot reach a sample through an outside
corner; a corner inside the input is read and multiplied by its interpolation weight and the mask in IEEE
arithmetic, so an inside Inf/NaN corner makes the sample Inf/NaN even when its weight or the mask is
exactly 0 (0 * Inf = NaN). Known deviation: the vectorised PyTorch op samples through grid_sample's
normalised grid, which can move a whole-number position by an ulp, so next to a non-finite pixel a
whole-number sample may read the other neighbour (comix.ops.cases.EXCLUDED["torch"]). Offsets and mask are
assumed finite.
"""

from __future__ import annotations

CUSTOM_DOMAIN = "ai.comix"
CUSTOM_DOMAIN_VERSION = 1
DEFORM_CONV_3D = "DeformConv3D"

# TensorRT plugin identities (name, version, namespace). Old versions stay registered while engines
# built with them live; bump the version when serialized fields or semantics change.
TRT_PLUGIN_NAMESPACE = ""
TRT_DEFORM_CONV_3D = ("DeformConv3D", "1")
TRT_DEFORM_CONV_2D = ("DeformConv", "1")

# 2-D in our domain: the same semantics as ONNX DeformConv, served by our ONNX Runtime library (faster
# than ONNX Runtime's built-in one on CPU; see plugins/README.md). The exporter emits the standard node.
DEFORM_CONV_2D = "DeformConv"

# The 2-D plugin under a second name, for TensorRT parsers older than 10.15: they always send an ONNX
# ``DeformConv`` node to TensorRT's own importer (NVIDIA's plugin, FP16 accumulation), so comix build
# renames the nodes to this op type, which only our plugin library registers (same plugin, same fields).
TRT_DEFORM_CONV_2D_ALIAS = ("DeformConv2D", "1")
