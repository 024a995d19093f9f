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
import subprocess
from types import ModuleType

import torch

import comix.ops.library  # noqa: F401  (defines the comix:: ops whose CUDA kernels the extension registers)

_EXTENSION: ModuleType | None = None


def extension_loaded() -> bool:
    """True once :func:`load_extension` has registered the CUDA kernels in this process."""
    return _EXTENSION is not None


class ExtensionBuildError(RuntimeError):
    """The CUDA extension could not be built or loaded (a compiler or linker error, not a missing GPU);
    the message carries the end of the build output."""


def load_extension(verbose: bool = False) -> ModuleType:
    """Load the compiled extension (in-place build, else a JIT build; needs CUDA torch + nvcc) once.

    Raises :class:`ExtensionBuildError` when a build or an in-place ``_C`` fails (with the compiler's
    message), RuntimeError when torch has no CUDA."""
    global _EXTENSION
    if _EXTENSION is not None:
        return _EXTENSION
    try:
        _EXTENSION = importlib.import_module(f"{__name__}._C")
        return _EXTENSION
    except ModuleNotFoundError:
        pass  # not built in place: JIT build below
    except ImportError as error:  # built, but not for this torch (undefined symbols, ABI)
        raise ExtensionBuildError(
            f"CoMiX CUDA DCN extension: {__name__}._C is there but does not load ({error}); "
            "rebuild it: cd plugins/torch && python setup.py build_ext --inplace"
        ) from None
    if torch.version.cuda is None:
        raise RuntimeError(
            f"CoMiX CUDA DCN extension: got torch {torch.__version__} without CUDA, expected a CUDA "
            "build of torch"
        )
    from torch.utils.cpp_extension import load

    from comix.plugins.torch.build_config import load_kwargs

    try:
        _EXTENSION = load(name="comix_dcn_cuda_ext", verbose=verbose, **load_kwargs())
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        tail = "\n".join(str(error).strip().splitlines()[-25:])
        raise ExtensionBuildError(
            f"CoMiX CUDA DCN extension: the JIT build failed (a compiler error, not a missing GPU):\n{tail}"
        ) from None
    return _EXTENSION


__all__ = ["ExtensionBuildError", "extension_loaded", "load_extension"]
