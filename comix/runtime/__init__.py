"""Inference runtime: one :class:`Backend` interface, the backend registry (:mod:`comix.runtime.registry`:
ONNX Runtime, OpenVINO, PyTorch, TensorRT) and whole-scene sliding-window inference with blended tiles and
all-or-nothing outputs.

Importing this package imports no backend (no torch, no runtime library); the names below load their module
on first use, so the torch-free runtime install and ``comix --help`` stay light.
"""

from __future__ import annotations

from comix.lazy import lazy_names

_LAZY = {
    "Backend": "comix.runtime.backend",
    "ModelIO": "comix.runtime.backend",
    "CustomOpLibraryMissing": "comix.runtime.errors",
    "RuntimeInputError": "comix.runtime.errors",
    "OnnxRuntimeBackend": "comix.runtime.ort_backend",
    "SessionFactory": "comix.runtime.session",
    "find_custom_op_library": "comix.runtime.session",
    "SceneResult": "comix.runtime.sliding_window",
    "SlidingWindow": "comix.runtime.sliding_window",
    "TileGrid": "comix.runtime.tiling",
    "TorchBackend": "comix.runtime.torch_backend",
    "open_backend": "comix.runtime.registry",
}

__getattr__, __all__ = lazy_names(__name__, _LAZY)
