"""Open the backend ``comix profile`` measures, and refuse what cannot be profiled here, in one sentence.

``.onnx`` -> ONNX Runtime; a checkpoint folder -> PyTorch; ``.engine``/``.plan`` (or ``--backend tensorrt``)
-> the TensorRT backend when this installation has one (it registers ``"tensorrt"`` in
:data:`comix.runtime.segment.BACKENDS`); otherwise the refusal names what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from comix.runtime import segment
from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError

ENGINE_SUFFIXES = (".engine", ".plan")
PROFILE_BACKENDS = ("auto", "onnxruntime", "torch", "tensorrt")


def _tensorrt_missing() -> list[str]:
    """What this machine lacks to run a TensorRT engine (empty when nothing is missing)."""
    missing = []
    if "tensorrt" not in segment.BACKENDS:
        missing.append("the comix TensorRT backend is not part of this installation")
    if importlib.util.find_spec("tensorrt") is None:
        missing.append("the tensorrt Python package is not installed")
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        missing.append("no NVIDIA GPU is visible")
    return missing


def open_backend_for(model: str | os.PathLike, backend: str = "auto", threads: int = 0) -> Backend:
    """The backend that runs ``model``; raises :class:`RuntimeInputError` with one sentence otherwise."""
    model = Path(model)
    if backend not in PROFILE_BACKENDS:
        raise RuntimeInputError(
            f"--backend: got {backend!r}, expected one of {list(PROFILE_BACKENDS)}"
        )
    engine = backend == "tensorrt" or (backend == "auto" and model.suffix in ENGINE_SUFFIXES)
    if engine:
        missing = _tensorrt_missing()
        if missing:
            raise RuntimeInputError(
                f"{model}: a TensorRT engine needs the TensorRT backend and a GPU, but "
                f"{'; '.join(missing)}; profile the exported .onnx instead (--backend "
                "onnxruntime)"
            )
        return segment.open_backend(model, "tensorrt", threads)
    if not model.exists():
        raise RuntimeInputError(
            f"model {model}: got no such file or folder, expected an exported .onnx file, a "
            "TensorRT .engine or a checkpoint folder"
        )
    if backend == "auto" and not model.is_dir() and model.suffix != ".onnx":
        raise RuntimeInputError(
            f"model {model}: got a {model.suffix or 'suffix-less'} file, expected an exported "
            ".onnx file, a TensorRT .engine or a checkpoint folder (model.safetensors + "
            "config.json)"
        )
    return segment.open_backend(model, backend, threads)
