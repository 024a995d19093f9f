"""CoMiX CUDA deformable convolution for PyTorch (forward only): the plugins/cuda kernels on torch tensors.

    from comix.plugins.torch import deform_conv2d_cuda, deform_conv3d_cuda
    y = deform_conv3d_cuda(x, offset, weight, bias, mask, stride=(1, 2, 2), padding=1)

Same arguments and semantics as comix.ops.deform_conv2d / deform_conv3d (group and offset_group from
the shapes; padding an int, per-axis, or ONNX begins-then-ends). Used to test the kernels against the
float64 reference and to time them (tools/bench_gpu_dcn.py). The compiled module is ``plugins/torch/_C``
(setup.py build_ext --inplace) or, if absent, a JIT build by load_extension().
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

import torch
from torch import Tensor

from comix.ops.deform_conv import call_with_geometry
from comix.ops.geometry import DeformConvGeometry

_EXTENSION: ModuleType | None = None


def load_extension(verbose: bool = False) -> ModuleType:
    """The compiled extension: the in-place build if present, else a JIT build (needs CUDA torch + nvcc)."""
    global _EXTENSION
    if _EXTENSION is not None:
        return _EXTENSION
    try:
        _EXTENSION = importlib.import_module(f"{__name__}._C")
    except ImportError:
        if torch.version.cuda is None:
            raise RuntimeError(
                f"CoMiX CUDA DCN extension: got torch {torch.__version__} without CUDA, expected a CUDA build of torch"
            ) from None
        from torch.utils.cpp_extension import load

        from comix.plugins.torch.build_config import load_kwargs

        _EXTENSION = load(name="comix_dcn_cuda_ext", verbose=verbose, **load_kwargs())
    return _EXTENSION


def deform_conv_nd_cuda(
    input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None, geometry: DeformConvGeometry
) -> Tensor:
    """Forward for a validated geometry (the comix.ops DcnFunction signature, so it can be a backend)."""
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (input, offset, weight, bias, mask)):
        raise RuntimeError(
            "deform_conv_cuda: got tensors that require grad, expected inference (the CUDA op has no backward); "
            "wrap the call in torch.no_grad()"
        )
    if tuple(weight.shape[2:]) != geometry.kernel:
        raise ValueError(f"weight: got kernel {tuple(weight.shape[2:])}, expected {geometry.kernel} from the geometry")
    return load_extension().forward(
        input, weight, offset, bias, mask,
        list(geometry.stride), geometry.onnx_pads, list(geometry.dilation), geometry.group, geometry.offset_group,
    )


def deform_conv2d_cuda(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    mask: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """2-D modulated deformable convolution on CUDA; arguments as comix.ops.deform_conv2d."""
    return call_with_geometry(deform_conv_nd_cuda, 2, input, offset, weight, bias, mask, stride, padding, dilation)


def deform_conv3d_cuda(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    mask: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """3-D modulated deformable convolution on CUDA; arguments as comix.ops.deform_conv3d."""
    return call_with_geometry(deform_conv_nd_cuda, 3, input, offset, weight, bias, mask, stride, padding, dilation)


__all__ = ["deform_conv2d_cuda", "deform_conv3d_cuda", "deform_conv_nd_cuda", "load_extension"]
