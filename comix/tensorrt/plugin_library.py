"""Our TensorRT plugin library (``libcomix_trt_plugins.so``): find it, fingerprint it, load it into TensorRT.

Search order: ``$COMIX_TRT_PLUGIN_LIBRARY`` (a file), ``$COMIX_PLUGIN_DIR`` (a folder, or its
``tensorrt/`` subfolder), then ``plugins/build/tensorrt/`` (``comix plugins build --tensorrt-root``).
An engine records the library's SHA-256 and the plugin versions it provides; a runtime refuses an engine
whose library differs (:mod:`comix.tensorrt.engine_record`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from comix import __version__
from comix.errors import BadInputError
from comix.hashing import file_sha256
from comix.ops.spec import (
    TRT_DEFORM_CONV_2D,
    TRT_DEFORM_CONV_2D_ALIAS,
    TRT_DEFORM_CONV_3D,
    TRT_PLUGIN_NAMESPACE,
)

LIBRARY_NAME = "libcomix_trt_plugins.so"
ENV_LIBRARY = "COMIX_TRT_PLUGIN_LIBRARY"
ENV_PLUGIN_DIR = "COMIX_PLUGIN_DIR"
DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "plugins" / "build"
PLUGINS = (TRT_DEFORM_CONV_2D, TRT_DEFORM_CONV_3D, TRT_DEFORM_CONV_2D_ALIAS)
BUILD_HINT = (
    "build it on this machine with `comix plugins build --tensorrt-root <TensorRT folder with include/>` "
    f"(Jetson: /usr), or set {ENV_LIBRARY} to the .so"
)


class PluginLibraryMissing(BadInputError):
    """The TensorRT plugin library was not found (message lists where it looked and how to build it)."""


@dataclass(frozen=True)
class PluginLibrary:
    """A plugin library file and what an engine records about it."""

    path: Path
    sha256: str

    @classmethod
    def at(cls, path: str | os.PathLike) -> PluginLibrary:
        path = Path(path).resolve()
        if not path.is_file():
            raise PluginLibraryMissing(
                f"TensorRT plugin library {path}: got no such file, expected {LIBRARY_NAME}; "
                f"{BUILD_HINT}"
            )
        return cls(path, file_sha256(path))

    def facts(self) -> dict:
        """What an engine's record keeps about the library (its file name, hash, plugins and the tool)."""
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "comix_version": __version__,
            "plugins": [[name, version, TRT_PLUGIN_NAMESPACE] for name, version in PLUGINS],
        }


def candidate_paths() -> list[Path]:
    """Where :func:`find_plugin_library` looks, in order."""
    paths = []
    if os.environ.get(ENV_LIBRARY):
        paths.append(Path(os.environ[ENV_LIBRARY]))
    if os.environ.get(ENV_PLUGIN_DIR):
        folder = Path(os.environ[ENV_PLUGIN_DIR])
        paths += [folder / LIBRARY_NAME, folder / "tensorrt" / LIBRARY_NAME]
    paths += [DEFAULT_BUILD_DIR / "tensorrt" / LIBRARY_NAME, DEFAULT_BUILD_DIR / LIBRARY_NAME]
    return paths


def find_plugin_library(path: str | os.PathLike | None = None) -> PluginLibrary:
    """The library at ``path``, else the first found in :func:`candidate_paths`."""
    if path is not None:
        return PluginLibrary.at(path)
    searched = candidate_paths()
    for candidate in searched:
        if candidate.is_file():
            return PluginLibrary.at(candidate)
    raise PluginLibraryMissing(
        f"{LIBRARY_NAME}: got no file at {[str(p) for p in searched]}, expected one; {BUILD_HINT}"
    )


def load_into_registry(trt, library: PluginLibrary, registry=None):
    """``IPluginRegistry.load_library`` (TensorRT's own global registry unless ``registry`` is given) and
    check that our creators are listed afterwards. Returns the library handle."""
    registry = registry if registry is not None else trt.get_plugin_registry()
    handle = registry.load_library(str(library.path))
    if handle is None:
        raise PluginLibraryMissing(
            f"TensorRT could not load {library.path} (see TensorRT's log above: a library "
            "built against another TensorRT major version, or for another CPU/GPU "
            f"architecture?); {BUILD_HINT}"
        )
    missing = [
        f"{name} v{version}"
        for name, version in PLUGINS
        if registry.get_creator(name, version, TRT_PLUGIN_NAMESPACE) is None
    ]
    if missing:
        raise PluginLibraryMissing(
            f"{library.path}: loaded, but TensorRT's registry lacks {missing}; "
            "expected every CoMiX plugin (an older library?); rebuild it"
        )
    return handle
