"""The CUDA kernels of ``plugins/cuda`` as the CUDA implementation of the ``comix::deform_conv2d/3d`` ops.

    from comix.plugins.torch import load_extension
    load_extension()                      # registers the CUDA kernels (TORCH_LIBRARY_IMPL(comix, CUDA, ...))
    y = comix.ops.deform_conv3d(x_cuda, offset, weight, bias, mask, stride=(1, 2, 2), padding=1)

After loading, every CUDA call of the ops (the model's DCNs, ``comix.ops.deform_conv2d/3d``) runs our
kernel; before it, or without it, CUDA tensors take the ops' default (vectorised PyTorch) kernel. The
backward is the ops' own (see :mod:`comix.ops.library`). The compiled module is ``_C`` beside this file
(``setup.py build_ext --inplace``) or, when absent, a JIT build of the same sources.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import torch

import comix.ops.library  # noqa: F401  (defines the comix:: ops whose CUDA kernels the extension registers)

_EXTENSION: ModuleType | None = None


def extension_loaded() -> bool:
    """True once :func:`load_extension` has registered the CUDA kernels in this process."""
    return _EXTENSION is not None


def load_extension(verbose: bool = False) -> ModuleType:
    """Load the compiled extension (in-place build, else a JIT build; needs CUDA torch + nvcc) once."""
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


__all__ = ["extension_loaded", "load_extension"]
