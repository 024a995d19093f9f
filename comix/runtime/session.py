"""ONNX Runtime session factory: check the file, choose providers, load our custom-op library if needed.

``SessionFactory(path)()`` returns an ``onnxruntime.InferenceSession``. A canonical graph (with
``ai.comix`` nodes) needs the CPU custom-op library from ``plugins/``; it is found through
``comix.plugins.build.find_ort_library()`` when that exists, or the ``COMIX_ORT_LIBRARY`` environment
variable. When it is missing, the error says how to build it or to export with ``--portable``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import onnx

from comix.ops.spec import CUSTOM_DOMAIN
from comix.runtime.errors import CustomOpLibraryMissing, RuntimeInputError

LIBRARY_ENV = "COMIX_ORT_LIBRARY"
BUILD_HINT = (
    "build it with `python plugins/build.py` (or set COMIX_PLUGIN_DIR to the folder holding libcomix_ort_dcn.so), "
    "or re-export the model with `comix export --portable` so that it needs no custom op"
)


def find_custom_op_library() -> Path | None:
    """Path of our ONNX Runtime custom-op library, or None when it has not been built.

    ``$COMIX_ORT_LIBRARY`` (a file path) overrides the search; otherwise ``comix.plugins.build.find_ort_library``
    looks in ``$COMIX_PLUGIN_DIR`` and ``plugins/build/``.
    """
    override = os.environ.get(LIBRARY_ENV)
    if override:
        path = Path(override)
        return path if path.is_file() else None
    try:
        from comix.plugins.build import find_ort_library
    except ImportError:
        return None
    try:
        return Path(find_ort_library())
    except FileNotFoundError:
        return None


def load_onnx(path: str | os.PathLike) -> onnx.ModelProto:
    """Load and sanity-check an ONNX file (without weights from external data); clear error if not ONNX."""
    path = Path(path)
    if not path.is_file():
        raise RuntimeInputError(
            f"model file {path}: got no such file, expected an existing .onnx file"
        )
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:
        raise RuntimeInputError(
            f"model file {path}: could not be read as ONNX ({type(error).__name__}); expected a complete .onnx "
            "file written by `comix export` (is it truncated or another format?)"
        ) from None
    if not model.graph.node:
        raise RuntimeInputError(
            f"model file {path}: got a graph with no nodes, expected an exported CoMiX model"
        )
    return model


def uses_custom_domain(model: onnx.ModelProto) -> bool:
    """True when the graph contains ``ai.comix`` nodes (the canonical, non-portable graph)."""
    return any(node.domain == CUSTOM_DOMAIN for node in model.graph.node)


class SessionFactory:
    """Build an ONNX Runtime session for a file or an in-memory model.

    ``providers`` defaults to the available ones in a sensible order (CUDA, then CPU); ``threads`` caps
    intra-op threads (0 = ONNX Runtime's default); ``profile_prefix`` turns on ONNX Runtime's profiler,
    which writes ``<prefix>_<date>.json`` when ``session.end_profiling()`` is called.
    """

    PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")

    def __init__(
        self,
        model: str | os.PathLike | bytes | onnx.ModelProto,
        providers: Sequence[str] | None = None,
        threads: int = 0,
        profile_prefix: str | os.PathLike | None = None,
        optimized_path: str | os.PathLike | None = None,
    ) -> None:
        self.model = model
        self.providers = providers
        self.threads = threads
        self.profile_prefix = profile_prefix
        self.optimized_path = optimized_path

    def profiling(
        self, prefix: str | os.PathLike, optimized_path: str | os.PathLike | None = None
    ) -> SessionFactory:
        """The same factory with ONNX Runtime's profiler on (trace files start with ``prefix``); with
        ``optimized_path`` the session also saves the graph as ONNX Runtime optimised it."""
        return SessionFactory(self.model, self.providers, self.threads, prefix, optimized_path)

    def proto(self) -> onnx.ModelProto:
        """The model as given (without external weights)."""
        return self._proto_and_source()[0]

    def _proto_and_source(self):
        if isinstance(self.model, onnx.ModelProto):
            return self.model, self.model.SerializeToString()
        if isinstance(self.model, bytes):
            return onnx.load_from_string(self.model), self.model
        proto = load_onnx(self.model)
        return proto, str(self.model)

    def __call__(self):
        import onnxruntime as ort

        proto, source = self._proto_and_source()
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        if self.profile_prefix is not None:
            options.enable_profiling = True
            options.profile_file_prefix = str(self.profile_prefix)
        if self.optimized_path is not None:
            options.optimized_model_filepath = str(self.optimized_path)
            options.log_severity_level = (
                3  # its "hardware-specific layout" warning is expected here
            )
        if uses_custom_domain(proto):
            library = find_custom_op_library()
            if library is None:
                raise CustomOpLibraryMissing(
                    f"the model has {CUSTOM_DOMAIN} DeformConv3D nodes but our ONNX Runtime custom-op library "
                    f"was not found; {BUILD_HINT}"
                )
            options.register_custom_ops_library(str(library))
        available = ort.get_available_providers()
        providers = (
            list(self.providers)
            if self.providers
            else [p for p in self.PREFERRED if p in available]
        )
        missing = [p for p in providers if p not in available]
        if missing:
            raise RuntimeInputError(
                f"execution providers {missing}: not available; available: {available}"
            )
        try:
            return ort.InferenceSession(source, sess_options=options, providers=providers)
        except Exception as error:
            raise RuntimeInputError(
                f"ONNX Runtime could not load the model: {str(error).splitlines()[0]}"
            ) from None
