"""Translations of our custom ops into ONNX nodes for the dynamo exporter (``custom_translation_table``).

``comix::deform_conv2d`` -> ``DeformConv`` (ai.onnx, opset >= 19); ``comix::deform_conv3d`` ->
``ai.comix::DeformConv3D`` (version from :mod:`comix.ops.spec`). ONNX input order is X, W, offset, B, mask
(the torch op takes input, offset, weight, ...). An absent mask becomes an empty (trailing) input; an
absent bias becomes an empty input without a mask, and a zero bias initializer (O,) when a mask is given:
TensorRT cannot hand a plugin an empty optional input, so its plugins take B as the 4th input whenever
there are more than 3 (plugins/tensorrt/README.md). The zero bias changes no output.
``comix::spectral_product`` -> ONNX ``DFT`` nodes (opset 20; see :func:`spectral_product_onnx`); its
DFT-free lowering for a fixed tile is a decomposition (:data:`comix.ops.spectral.MATRIX_DECOMPOSITIONS`).
"""

from __future__ import annotations

import numpy as np
import onnxscript
from onnx import numpy_helper
from onnxscript import opset19, opset20

from comix.errors import BadInputError
from comix.export.schema import register_deform_conv3d_schema
from comix.ops.library import OVERLOADS
from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D
from comix.ops.spectral import OVERLOAD as SPECTRAL_PRODUCT

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


def _bias_input(bias, mask, weight):
    """B as given; or, for a node with a mask and no bias, a zero bias (O,) of W's dtype (see module doc)."""
    if bias is not None or mask is None:
        return bias
    out_channels = weight.shape[0]
    if not isinstance(out_channels, int):
        raise BadInputError(
            f"DCN weight: got output channels {out_channels!r}, expected a static size to build the "
            "zero bias a node with a mask needs"
        )
    zeros = np.zeros(out_channels, dtype=weight.dtype.numpy())
    return opset19.Constant(value=numpy_helper.from_array(zeros))


def deform_conv2d_onnx(
    input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group
):
    """comix::deform_conv2d -> ONNX DeformConv (N, O, oH, oW)."""
    return opset19.DeformConv(
        input,
        weight,
        offset,
        _bias_input(bias, mask, weight),
        mask,
        **_attributes(kernel, stride, pads, dilation, group, offset_group),
    )


def deform_conv3d_onnx(
    input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group
):
    """comix::deform_conv3d -> ai.comix::DeformConv3D (N, O, oD, oH, oW)."""
    return getattr(COMIX_OPSET, DEFORM_CONV_3D)(
        input,
        weight,
        offset,
        _bias_input(bias, mask, weight),
        mask,
        **_attributes(kernel, stride, pads, dilation, group, offset_group),
    )


def spectral_product_onnx(a, b):
    """comix::spectral_product -> ONNX DFT (opset 20), any H x W: (N, C, H, W) x2 -> (N, C, H, W).

    Each operand gets a trailing complex axis and a full complex DFT along W, then along H; the spectra
    are multiplied as complex numbers; two inverse DFTs (ONNX's inverse divides by the length) bring the
    product back and its real part is the circular convolution. Full rather than one-sided transforms:
    ONNX has no one-sided inverse, and the real part of the full inverse is exactly ``irfft2``'s result.
    """
    axis_h = opset20.Constant(value_int=2)
    axis_w = opset20.Constant(value_int=3)
    last = opset20.Constant(value_ints=[4])
    zero, one, two = (opset20.Constant(value_ints=[v]) for v in (0, 1, 2))

    def spectrum(x):
        complex_x = opset20.Unsqueeze(x, last)  # (N, C, H, W, 1): a real signal
        return opset20.DFT(opset20.DFT(complex_x, None, axis_w), None, axis_h)  # (N, C, H, W, 2)

    spec_a, spec_b = spectrum(a), spectrum(b)
    ar, ai = opset20.Slice(spec_a, zero, one, last), opset20.Slice(spec_a, one, two, last)
    br, bi = opset20.Slice(spec_b, zero, one, last), opset20.Slice(spec_b, one, two, last)
    product = opset20.Concat(
        opset20.Sub(opset20.Mul(ar, br), opset20.Mul(ai, bi)),
        opset20.Add(opset20.Mul(ar, bi), opset20.Mul(ai, br)),
        axis=4,
    )
    back = opset20.DFT(opset20.DFT(product, None, axis_h, inverse=1), None, axis_w, inverse=1)
    return opset20.Squeeze(opset20.Slice(back, zero, one, last), last)


def translation_table() -> dict:
    """The ``custom_translation_table`` for ``torch.onnx.export(dynamo=True)``; registers our schema."""
    register_deform_conv3d_schema()
    return {
        OVERLOADS[2]: deform_conv2d_onnx,
        OVERLOADS[3]: deform_conv3d_onnx,
        SPECTRAL_PRODUCT: spectral_product_onnx,
    }
