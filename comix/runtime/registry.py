"""The one list of inference backends: name, what each opens, whether it can run here, how to open it.

    entry = backend_entry("auto", "model.onnx")  # .onnx -> onnxruntime, .engine -> tensorrt, folder -> torch
    entry.missing()                              # [] when it can run here, else what is missing
    backend = open_backend("model.onnx", "openvino", threads=1)

Every command that takes ``--backend`` (infer, eval, compare, profile, the archive engine), ``comix doctor``,
Triton and the tools read this list; adding a backend is one module with a :class:`Backend` subclass that has
an ``open(path, options)`` classmethod, plus one :class:`BackendEntry` below. Nothing here imports a backend's
module (or torch, or a runtime) until that backend is opened, so ``comix --help`` and the torch-free runtime
install stay light (Polygraphy's loaders and mmdeploy's backend managers do the same).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comix.errors import BadInputError
from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError

AUTO = "auto"
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class OpenOptions:
    """How to open a backend: ``threads`` (0 = the runtime's default), ``device`` (``cpu`` / ``cuda``; only
    backends whose entry lists it), ``cuda_graphs`` (TensorRT: replay captured enqueues), ``verify`` (check
    the digests recorded in the model first, :mod:`comix.runtime.integrity`)."""

    threads: int = 0
    device: str = "cpu"
    cuda_graphs: bool = False
    verify: bool = True


def _gpu_visible() -> list[str]:
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        return ["no NVIDIA GPU is visible"]
    return []


@dataclass(frozen=True)
class BackendEntry:
    """One backend: its ``name``; the artifact ``suffixes`` it opens (``folders``: a checkpoint folder); the
    suffixes ``auto`` picks it for; the Python modules it needs and what to install when one is missing; the
    devices it runs on; ``module:Class`` of its :class:`Backend`; an extra availability check."""

    name: str
    summary: str
    suffixes: tuple[str, ...]
    auto_for: tuple[str, ...]
    requires: tuple[str, ...]
    install: str
    devices: tuple[str, ...]
    implementation: str
    folders: bool = False
    extra_check: Callable[[], list[str]] | None = None

    def opens(self, path: Path) -> bool:
        """Whether this backend opens ``path`` (by suffix, or a folder for checkpoint backends)."""
        return (self.folders and path.is_dir()) or path.suffix.lower() in self.suffixes

    def missing(self) -> list[str]:
        """What this machine lacks to run this backend (empty: it can run here)."""
        absent = [name for name in self.requires if importlib.util.find_spec(name) is None]
        found = [f"the {name} Python package is not installed" for name in absent]
        if self.extra_check is not None:
            found += self.extra_check()
        return found

    def available(self) -> bool:
        return not self.missing()

    def load(self) -> type[Backend]:
        """The backend's class (imports its module)."""
        module, name = self.implementation.split(":")
        return getattr(importlib.import_module(module), name)

    def artifacts(self) -> str:
        """What it opens, in words: ".onnx", ".engine/.plan", "a checkpoint folder"."""
        parts = ["/".join(self.suffixes)] if self.suffixes else []
        return " or ".join(parts + (["a checkpoint folder"] if self.folders else []))


BACKENDS: dict[str, BackendEntry] = {}


def register(entry: BackendEntry) -> BackendEntry:
    if entry.name in BACKENDS or entry.name == AUTO:
        raise BadInputError(f"backend {entry.name!r} is already registered")
    BACKENDS[entry.name] = entry
    return entry


register(
    BackendEntry(
        name="onnxruntime",
        summary="ONNX Runtime on the CPU, with our DCN custom-op library (canonical graphs) "
        "or none (--portable)",
        suffixes=(".onnx",),
        auto_for=(".onnx",),
        requires=("onnxruntime",),
        install="pip install onnxruntime",
        devices=("cpu",),
        implementation="comix.runtime.ort_backend:OnnxRuntimeBackend",
    )
)
register(
    BackendEntry(
        name="openvino",
        summary="OpenVINO's CPU plugin (ONNX DeformConv as OpenVINO's DeformableConvolution)",
        suffixes=(".onnx",),
        auto_for=(),
        requires=("openvino",),
        install='pip install "comix-deploy[openvino]"',
        devices=("cpu",),
        implementation="comix.runtime.openvino_backend:OpenVinoBackend",
    )
)
register(
    BackendEntry(
        name="torch",
        summary="PyTorch eager on a checkpoint (CPU, or CUDA with our DCN kernels)",
        suffixes=(),
        auto_for=(),
        requires=("torch",),
        install='pip install "comix-deploy[full]"',
        devices=("cpu", "cuda"),
        implementation="comix.runtime.torch_backend:TorchBackend",
        folders=True,
    )
)
register(
    BackendEntry(
        name="tensorrt",
        summary="a TensorRT engine with our DCN plugins, on an NVIDIA GPU",
        suffixes=(".engine", ".plan"),
        auto_for=(".engine", ".plan"),
        requires=("tensorrt",),
        install="TensorRT's Python package (JetPack's python3-libnvinfer, or pip install tensorrt-cu12 / "
        'tensorrt-cu13) and `pip install "comix-deploy[gpu-cu12]"` (CUDA 12, JetPack 6) or `[gpu-cu13]`',
        devices=("cuda",),
        implementation="comix.runtime.tensorrt_backend:TensorRTBackend",
        extra_check=_gpu_visible,
    )
)


def names() -> tuple[str, ...]:
    """``auto`` and every registered backend, for ``--backend`` choices and help."""
    return (AUTO, *BACKENDS)


def help_text() -> str:
    """The ``--backend`` help every command shares."""
    automatic = ", ".join(
        f"{'/'.join(e.auto_for)} -> {e.name}" for e in BACKENDS.values() if e.auto_for
    )
    folders = [e.name for e in BACKENDS.values() if e.folders]
    return (
        f"Backend: {', '.join(names())} (auto: {automatic}"
        + (f", a checkpoint folder -> {folders[0]}" if folders else "")
        + "). `comix doctor` lists which run here."
    )


def backend_entry(name: str, model: str | os.PathLike) -> BackendEntry:
    """The entry that runs ``model`` under ``--backend name``; refuses an unknown name, a model the backend
    does not open, or a missing file, in one sentence each."""
    model = Path(model)
    if name != AUTO and name not in BACKENDS:
        raise RuntimeInputError(f"--backend: got {name!r}, expected one of {list(names())}")
    if not model.exists():
        raise RuntimeInputError(
            f"model {model}: got no such file or folder, expected {_all_artifacts()}"
        )
    if name == AUTO:
        for entry in BACKENDS.values():
            if model.suffix.lower() in entry.auto_for or (entry.folders and model.is_dir()):
                return entry
        raise RuntimeInputError(
            f"model {model}: got a {model.suffix or 'suffix-less'} "
            f"{'folder' if model.is_dir() else 'file'}, expected {_all_artifacts()}"
        )
    entry = BACKENDS[name]
    if not entry.opens(model):
        raise RuntimeInputError(
            f"model {model}: got a {model.suffix or 'suffix-less'} "
            f"{'folder' if model.is_dir() else 'file'}, but --backend {name} opens {entry.artifacts()}"
        )
    return entry


def _all_artifacts() -> str:
    return (
        "an exported .onnx file, a TensorRT .engine or a checkpoint folder "
        "(model.safetensors + config.json)"
    )


def open_backend(
    model: str | os.PathLike,
    name: str = AUTO,
    *,
    threads: int = 0,
    device: str = "cpu",
    cuda_graphs: bool = False,
    verify: bool = True,
) -> Backend:
    """Open ``model`` with backend ``name`` (``auto``: by what the model is); every refusal is one sentence
    naming what is missing here and what to install."""
    if device not in DEVICES:
        raise RuntimeInputError(f"--device: got {device!r}, expected one of {list(DEVICES)}")
    if threads < 0:
        raise RuntimeInputError(
            f"--threads: got {threads}, expected 0 (the runtime's default) or more"
        )
    entry = backend_entry(name, model)
    if (
        device == "cuda" and device not in entry.devices
    ):  # "cpu" is the default: a GPU-only backend ignores it
        raise RuntimeInputError(
            f"--device cuda: got backend {entry.name!r}, expected torch (our CUDA kernels through PyTorch; "
            f"{entry.name} runs on the {' or '.join(entry.devices).upper()} only)"
        )
    missing = entry.missing()
    if missing:
        raise RuntimeInputError(
            f"--backend {entry.name}: cannot run here: {'; '.join(missing)}; install: {entry.install}"
        )
    options = OpenOptions(threads=threads, device=device, cuda_graphs=cuda_graphs, verify=verify)
    return entry.load().open(Path(model), options)
