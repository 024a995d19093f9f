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

from comix.model_digest import DigestError, ModelOutline, outline, strip_digests
from comix.ops.spec import CUSTOM_DOMAIN
from comix.runtime.errors import CustomOpLibraryMissing, RuntimeInputError

LIBRARY_ENV = "COMIX_ORT_LIBRARY"
BUILD_HINT = (
    "build it with `python plugins/build.py` (or set COMIX_PLUGIN_DIR to the folder holding "
    "libcomix_ort_dcn.so), or re-export the model with `comix export --portable` so that it "
    "needs no custom op"
)


def find_custom_op_library() -> Path | None:
    """Path of our ONNX Runtime custom-op library, or None when it has not been built.

    ``$COMIX_ORT_LIBRARY`` (a file path) overrides the search; otherwise
    ``comix.plugins.build.find_ort_library`` looks in ``$COMIX_PLUGIN_DIR`` and ``plugins/build/``.
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


def read_model_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of an ONNX file, checked as the runtime needs them (the protobuf wire format of a ModelProto
    with a graph of at least one node; :func:`comix.model_digest.outline`), without the onnx package."""
    path = Path(path)
    if not path.is_file():
        raise RuntimeInputError(
            f"model file {path}: got no such file, expected an existing .onnx file"
        )
    data = path.read_bytes()
    _outline(data, path)
    return data


def _outline(data: bytes, source) -> ModelOutline:
    try:
        found = outline(data, source=str(source))
    except DigestError as error:
        reason = str(error).replace(f"{source}: not a valid ONNX file", "").strip()
        raise RuntimeInputError(
            f"model file {source}: could not be read as ONNX {reason}; expected a complete .onnx file "
            "written by `comix export` (is it truncated or another format?)"
        ) from None
    if found.nodes == 0:
        raise RuntimeInputError(
            f"model file {source}: got a graph with no nodes, expected an exported CoMiX model"
        )
    return found


def load_onnx(path: str | os.PathLike):
    """An ``onnx.ModelProto`` of a checked ONNX file (:func:`read_model_bytes`; needs the onnx package, which
    the tools that rewrite graphs have and the runtime does not need). The proto carries no digest entries:
    it is loaded to be read or changed, and whatever writes it stamps its own."""
    import onnx

    return strip_digests(onnx.load_from_string(read_model_bytes(path)))


def uses_custom_domain(model) -> bool:
    """True when the graph imports the ``ai.comix`` domain (the canonical, non-portable graph); ``model`` is
    an ``onnx.ModelProto`` or the bytes of one."""
    if isinstance(model, (bytes, bytearray)):
        return CUSTOM_DOMAIN in _outline(bytes(model), "model").domains
    return any(o.domain == CUSTOM_DOMAIN for o in model.opset_import) or any(
        node.domain == CUSTOM_DOMAIN for node in model.graph.node
    )


class SessionFactory:
    """Build an ONNX Runtime session for a file or an in-memory model.

    ``providers`` defaults to the available ones in a sensible order (CUDA, then CPU); ``threads`` caps
    intra-op threads (0 = ONNX Runtime's default); ``profile_prefix`` turns on ONNX Runtime's profiler,
    which writes ``<prefix>_<date>.json`` when ``session.end_profiling()`` is called.
    """

    PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")

    def __init__(
        self,
        model,  # a path, the bytes of a model, or an onnx.ModelProto
        providers: Sequence[str] | None = None,
        threads: int = 0,
        profile_prefix: str | os.PathLike | None = None,
        optimized_path: str | os.PathLike | None = None,
        domains: frozenset[str] | None = None,
    ) -> None:
        """``domains``: the opset domains of a file the caller has already checked (its outline): ONNX
        Runtime then reads the file itself, and no copy of it stays in this process."""
        self.model = model
        self.domains = domains
        self.providers = providers
        self.threads = threads
        self.profile_prefix = profile_prefix
        self.optimized_path = optimized_path

    def profiling(
        self, prefix: str | os.PathLike, optimized_path: str | os.PathLike | None = None
    ) -> SessionFactory:
        """The same factory with ONNX Runtime's profiler on (trace files start with ``prefix``); with
        ``optimized_path`` the session also saves the graph as ONNX Runtime optimised it."""
        return SessionFactory(
            self.model, self.providers, self.threads, prefix, optimized_path, self.domains
        )

    def proto(self):
        """The model as an ``onnx.ModelProto`` (needs the onnx package: profiling and graph tools)."""
        import onnx

        if isinstance(self.model, (bytes, bytearray, str, os.PathLike)):
            return onnx.load_from_string(self._bytes())
        return self.model

    def model_bytes(self) -> bytes:
        """The model's bytes as the session gets them (checked)."""
        return self._bytes()

    def _bytes(self) -> bytes:
        if isinstance(self.model, (bytes, bytearray)):
            _outline(bytes(self.model), "model")
            return bytes(self.model)
        if isinstance(self.model, (str, os.PathLike)):
            return read_model_bytes(self.model)
        return self.model.SerializeToString()  # an onnx.ModelProto

    def __call__(self):
        import onnxruntime as ort

        if isinstance(self.model, (str, os.PathLike)) and self.domains is not None:
            source, custom = str(self.model), CUSTOM_DOMAIN in self.domains
        else:
            source = self._bytes()
            custom = uses_custom_domain(source)
        options = ort.SessionOptions()
        # ONNX Runtime's memory pattern plans one block for a shape's second run; off, the peak of a
        # comix_t tile is 17 MiB lower and its latency the same (measured: 147 vs 165 MiB; the C API too)
        options.enable_mem_pattern = False
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
        if custom:
            library = find_custom_op_library()
            if library is None:
                raise CustomOpLibraryMissing(
                    f"the model has {CUSTOM_DOMAIN} DeformConv3D nodes but our ONNX Runtime "
                    f"custom-op library was not found; {BUILD_HINT}"
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
