"""Inference runtime: one :class:`Backend` interface (PyTorch, ONNX Runtime; TensorRT later) and
whole-scene sliding-window inference with blended tiles and all-or-nothing outputs."""

from comix.runtime.backend import Backend, ModelIO
from comix.runtime.errors import CustomOpLibraryMissing, RuntimeInputError
from comix.runtime.ort_backend import OnnxRuntimeBackend
from comix.runtime.session import SessionFactory, find_custom_op_library
from comix.runtime.sliding_window import SceneResult, SlidingWindow
from comix.runtime.tiling import TileGrid
from comix.runtime.torch_backend import TorchBackend

__all__ = [
    "Backend",
    "CustomOpLibraryMissing",
    "ModelIO",
    "OnnxRuntimeBackend",
    "RuntimeInputError",
    "SceneResult",
    "SessionFactory",
    "SlidingWindow",
    "TileGrid",
    "TorchBackend",
    "find_custom_op_library",
]
