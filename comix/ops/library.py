"""The deformable convolution as one PyTorch operator per dimensionality: ``torch.ops.comix.deform_conv2d``
and ``torch.ops.comix.deform_conv3d``.

Everything that runs a CoMiX DCN goes through these two ops:

* **eager, any device**: the default kernel is the vectorised PyTorch implementation
  (:func:`comix.ops.vectorised.deform_conv_nd`), reference-tested in float64;
* **CUDA**: the PyTorch extension in ``comix.plugins.torch`` registers its native kernel for the CUDA
  dispatch key (``TORCH_LIBRARY_IMPL(comix, CUDA, ...)``) when it is loaded; without it CUDA tensors take
  the default kernel;
* **autograd**: the backward differentiates the vectorised implementation (recomputed from the saved
  inputs), so gradients are the same whichever forward kernel ran;
* **export**: ``torch.export`` keeps each op as one node (the fake kernel gives its shape); the ONNX
  exporter translates it (``DeformConv`` / ``ai.comix::DeformConv3D``), or, for the portable graph,
  decomposes the 3-D op with :mod:`comix.ops.portable` (:data:`DECOMPOSITIONS`).

Both ops take ONNX ``DeformConv``'s argument order after the tensors: ``input (N, C, *S)``,
``offset (N, OG*K*nd, *oS)``, ``weight (O, C/group, *k)``, ``bias (O,)?``, ``mask (N, OG*K, *oS)?``, then
``kernel``, ``stride``, ``pads`` (all begins, then all ends), ``dilation`` in spatial axis order
(``[H, W]`` or ``[D, H, W]``), ``group``, ``offset_group``. Returns ``(N, O, *oS)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from comix.errors import BadInputError
from comix.ops.geometry import DeformConvGeometry
from comix.ops.vectorised import deform_conv_nd, infer_geometry

NAMESPACE = "comix"
OP_NAMES = {2: "deform_conv2d", 3: "deform_conv3d"}
# An explicit schema (int[], not the SymInt[] a type hint would give) so that the CUDA extension's C++
# kernel binds with plain IntArrayRef/int64_t arguments.
SCHEMA = (
    "(Tensor input, Tensor offset, Tensor weight, Tensor? bias, Tensor? mask, int[] kernel, int[] stride, "
    "int[] pads, int[] dilation, int group, int offset_group) -> Tensor"
)
TENSOR_ARGUMENTS = ("input", "offset", "weight", "bias", "mask")


def _geometry(
    ndim: int, kernel, stride, pads, dilation, group: int, offset_group: int
) -> DeformConvGeometry:
    return DeformConvGeometry.build(
        ndim, list(kernel), list(stride), list(pads), list(dilation), group, offset_group
    )


def _output_shape(input: Tensor, weight: Tensor, kernel, stride, pads, dilation) -> list:
    """(N, O, *oS) in integer arithmetic that also works on symbolic sizes under ``torch.export``."""
    nd = len(kernel)
    spatial = []
    for axis in range(nd):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        spatial.append(
            (input.shape[2 + axis] + pads[axis] + pads[axis + nd] - span) // stride[axis] + 1
        )
    return [input.shape[0], weight.shape[0], *spatial]


def _define(ndim: int):
    """Define ``comix::<name>`` for ``ndim`` spatial axes: default kernel, fake kernel, autograd."""

    def vectorised(
        input: Tensor,
        offset: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        mask: Tensor | None,
        kernel: Sequence[int],
        stride: Sequence[int],
        pads: Sequence[int],
        dilation: Sequence[int],
        group: int,
        offset_group: int,
    ) -> Tensor:
        geometry = _geometry(ndim, kernel, stride, pads, dilation, group, offset_group)
        return deform_conv_nd(input, offset, weight, bias, mask, geometry)

    op = torch.library.custom_op(
        f"{NAMESPACE}::{OP_NAMES[ndim]}", vectorised, mutates_args=(), schema=SCHEMA
    )

    @op.register_fake
    def _fake(
        input, offset, weight, bias, mask, kernel, stride, pads, dilation, group, offset_group
    ):
        return input.new_empty(_output_shape(input, weight, kernel, stride, pads, dilation))

    def setup_context(ctx, inputs, output) -> None:
        tensors = inputs[:5]
        ctx.present = tuple(t is not None for t in tensors)
        ctx.save_for_backward(*[t for t in tensors if t is not None])
        ctx.attributes = inputs[5:]

    def backward(ctx, grad_output):
        saved = iter(ctx.saved_tensors)
        tensors = [next(saved) if present else None for present in ctx.present]
        wanted = [t is not None and need for t, need in zip(tensors, ctx.needs_input_grad[:5])]
        with torch.enable_grad():
            leaves = [
                t.detach().requires_grad_(want) if t is not None else None
                for t, want in zip(tensors, wanted)
            ]
            output = vectorised(*leaves, *ctx.attributes)
            grads = iter(
                torch.autograd.grad(
                    output, [t for t, want in zip(leaves, wanted) if want], grad_output
                )
            )
        return (
            *[next(grads) if want else None for want in wanted],
            *([None] * len(ctx.attributes)),
        )

    op.register_autograd(backward, setup_context=setup_context)
    return op, vectorised


deform_conv2d_op, _vectorised_2d = _define(2)
deform_conv3d_op, _vectorised_3d = _define(3)
OPS = {2: deform_conv2d_op, 3: deform_conv3d_op}
# The overloads as they appear in a torch.export graph (keys of translation and decomposition tables).
OVERLOADS = {2: torch.ops.comix.deform_conv2d.default, 3: torch.ops.comix.deform_conv3d.default}


def deform_conv(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    geometry: DeformConvGeometry,
) -> Tensor:
    """Call the op of ``geometry.ndim`` with a validated geometry (what the modules use); shapes as above."""
    op = OPS.get(geometry.ndim)
    if op is None:
        raise BadInputError(f"geometry: got {geometry.ndim} spatial axes, expected 2 or 3")
    if tuple(weight.shape[2:]) != geometry.kernel:
        raise BadInputError(
            f"weight: got kernel {tuple(weight.shape[2:])}, expected {geometry.kernel} from the geometry"
        )
    return op(
        input,
        offset,
        weight,
        bias,
        mask,
        list(geometry.kernel),
        list(geometry.stride),
        geometry.onnx_pads,
        list(geometry.dilation),
        geometry.group,
        geometry.offset_group,
    )


def _call(
    ndim: int,
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mask: Tensor | None,
    stride,
    padding,
    dilation,
) -> Tensor:
    if input.dim() != ndim + 2:
        layout = "(N, C, H, W)" if ndim == 2 else "(N, C, D, H, W)"
        raise BadInputError(
            f"input: got shape {tuple(input.shape)}, expected {ndim + 2}-D {layout}"
        )
    return deform_conv(
        input,
        offset,
        weight,
        bias,
        mask,
        infer_geometry(input, offset, weight, stride, padding, dilation),
    )


def deform_conv2d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    mask: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """2-D modulated deformable convolution; ``group``/``offset_group`` inferred from the shapes.

    input (N, C, H, W); offset (N, OG*kH*kW*2, oH, oW) as (dh, dw) pairs; weight (O, C/group, kH, kW);
    mask (N, OG*kH*kW, oH, oW); stride/dilation in [H, W] order; padding an int, [H, W] or ONNX
    [h_begin, w_begin, h_end, w_end]. Returns (N, O, oH, oW).
    """
    return _call(2, input, offset, weight, bias, mask, stride, padding, dilation)


def deform_conv3d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    mask: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """3-D modulated deformable convolution; ``group``/``offset_group`` inferred from the shapes.

    input (N, C, D, H, W); offset (N, OG*kD*kH*kW*3, oD, oH, oW) as (dd, dh, dw) triples;
    weight (O, C/group, kD, kH, kW); mask (N, OG*kD*kH*kW, oD, oH, oW); stride/dilation in [D, H, W]
    order; padding an int, [D, H, W] or ONNX [d_b, h_b, w_b, d_e, h_e, w_e]. Returns (N, O, oD, oH, oW).
    """
    return _call(3, input, offset, weight, bias, mask, stride, padding, dilation)
