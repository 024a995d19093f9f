"""ONNX OpSchema for ``ai.comix::DeformConv3D`` so ``onnx.checker`` and shape inference know our node.

The schema follows :mod:`comix.ops.spec` exactly (inputs X, W, offset, optional B, optional mask;
attributes in ``[D, H, W]`` order). Its shape-inference function gives
``Y = (N, O, oD, oH, oW)`` with ``o = floor((in + pad_b + pad_e - dil*(k-1) - 1) / stride) + 1`` when
the input's spatial size is known, else the offset's spatial size, else symbolic dims.

Call :func:`register_deform_conv3d_schema` before checking or exporting; it is idempotent.
"""

from __future__ import annotations

import onnx
from onnx import defs

from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D

_DOC = (
    "3-D modulated deformable convolution (DCNv2), ONNX DeformConv semantics for 3 spatial axes, "
    "axis order [D, H, W]; see comix/ops/spec.py."
)


def _spatial_dim(
    size: onnx.TensorShapeProto.Dimension,
    k: int,
    stride: int,
    pad: int,
    dil: int,
    out: onnx.TensorShapeProto.Dimension,
) -> None:
    """Write one output spatial dim (known value when the input dim is known)."""
    if size.HasField("dim_value"):
        out.dim_value = (size.dim_value + pad - dil * (k - 1) - 1) // stride + 1


def _infer(ctx) -> None:
    """Shape inference: Y (N, O, oD, oH, oW), dtype of X."""
    x_type = ctx.get_input_type(0)
    w_type = ctx.get_input_type(1)
    off_type = ctx.get_input_type(2) if ctx.get_num_inputs() > 2 else None
    if x_type is None or not x_type.HasField("tensor_type"):
        return
    out = onnx.TypeProto()
    out.tensor_type.elem_type = x_type.tensor_type.elem_type
    x_shape = x_type.tensor_type.shape if x_type.tensor_type.HasField("shape") else None
    w_shape = (
        w_type.tensor_type.shape
        if w_type is not None and w_type.tensor_type.HasField("shape")
        else None
    )
    if x_shape is not None and len(x_shape.dim) != 5:
        raise onnx.shape_inference.InferenceError(
            f"{DEFORM_CONV_3D}: input X has rank {len(x_shape.dim)}, expected 5 (N, C, D, H, W)"
        )
    if x_shape is not None:
        kernel = _ints(ctx, "kernel_shape", None)
        if (
            kernel is None
            and w_shape is not None
            and all(d.HasField("dim_value") for d in w_shape.dim[2:])
        ):
            kernel = [d.dim_value for d in w_shape.dim[2:]]
        strides = _ints(ctx, "strides", [1, 1, 1])
        dilations = _ints(ctx, "dilations", [1, 1, 1])
        pads = _ints(ctx, "pads", [0] * 6)
        shape = out.tensor_type.shape
        shape.dim.add().CopyFrom(x_shape.dim[0])
        o = shape.dim.add()
        if w_shape is not None and len(w_shape.dim) == 5:
            o.CopyFrom(w_shape.dim[0])
        off_shape = None
        if (
            off_type is not None
            and off_type.tensor_type.HasField("shape")
            and len(off_type.tensor_type.shape.dim) == 5
        ):
            off_shape = off_type.tensor_type.shape
        for axis in range(3):
            dim = shape.dim.add()
            if kernel is not None:
                _spatial_dim(
                    x_shape.dim[2 + axis],
                    kernel[axis],
                    strides[axis],
                    pads[axis] + pads[axis + 3],
                    dilations[axis],
                    dim,
                )
            if not dim.HasField("dim_value") and off_shape is not None:
                dim.CopyFrom(off_shape.dim[2 + axis])
    ctx.set_output_type(0, out)


def _ints(ctx, name: str, default):
    attribute = ctx.get_attribute(name)
    if attribute is None:
        return default
    return list(attribute.ints)


def _schema() -> defs.OpSchema:
    formal = defs.OpSchema.FormalParameter
    optional = defs.OpSchema.FormalParameterOption.Optional
    attr = defs.OpSchema.Attribute
    ints, int_ = defs.OpSchema.AttrType.INTS, defs.OpSchema.AttrType.INT
    schema = defs.OpSchema(
        DEFORM_CONV_3D,
        CUSTOM_DOMAIN,
        CUSTOM_DOMAIN_VERSION,
        _DOC,
        inputs=[
            formal("X", "T", "input (N, C, D, H, W)"),
            formal("W", "T", "weight (O, C/group, kD, kH, kW)"),
            formal(
                "offset", "T", "offsets (N, offset_group*K*3, oD, oH, oW), triples (dd, dh, dw)"
            ),
            formal("B", "T", "bias (O,)", param_option=optional),
            formal("mask", "T", "mask (N, offset_group*K, oD, oH, oW)", param_option=optional),
        ],
        outputs=[formal("Y", "T", "output (N, O, oD, oH, oW)")],
        type_constraints=[
            ("T", ["tensor(float)", "tensor(float16)", "tensor(double)"], "float tensors")
        ],
        attributes=[
            attr("kernel_shape", ints, "kernel [kD, kH, kW]", required=False),
            attr("strides", ints, "strides [D, H, W]", required=False),
            attr("pads", ints, "pads [d_b, h_b, w_b, d_e, h_e, w_e]", required=False),
            attr("dilations", ints, "dilations [D, H, W]", required=False),
            attr("group", int_, "groups of input/output channels", required=False),
            attr(
                "offset_group",
                int_,
                "groups of input channels sharing one offset field",
                required=False,
            ),
        ],
    )
    schema.set_type_and_shape_inference_function(_infer)
    return schema


def register_deform_conv3d_schema() -> None:
    """Register the schema once per process (no-op when already registered)."""
    if defs.has(DEFORM_CONV_3D, CUSTOM_DOMAIN):
        return
    defs.register_schema(_schema())
