"""Sources, include folders and flags of the PyTorch extension, shared by setup.py and the JIT loader."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGINS = HERE.parent

SOURCES = [
    HERE / "csrc" / "deform_conv_bindings.cpp",
    PLUGINS / "cuda" / "src" / "deform_conv_forward.cu",
]
INCLUDE_DIRS = [PLUGINS / "include", PLUGINS / "cuda" / "include"]
CXX_FLAGS = ["-O3", "-std=c++17", "-Wall", "-Wextra"]
NVCC_FLAGS = ["-O3", "-std=c++17", "-Werror=all-warnings"]


def extension_kwargs() -> dict:
    """Keyword arguments for torch.utils.cpp_extension.CUDAExtension."""
    return {
        "sources": [str(p) for p in SOURCES],
        "include_dirs": [str(p) for p in INCLUDE_DIRS],
        "extra_compile_args": {"cxx": CXX_FLAGS, "nvcc": NVCC_FLAGS},
    }


def load_kwargs() -> dict:
    """Keyword arguments for torch.utils.cpp_extension.load (JIT build)."""
    return {
        "sources": [str(p) for p in SOURCES],
        "extra_include_paths": [str(p) for p in INCLUDE_DIRS],
        "extra_cflags": CXX_FLAGS,
        "extra_cuda_cflags": NVCC_FLAGS,
    }
