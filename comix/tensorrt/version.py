"""The installed TensorRT and what it supports: the one place where TensorRT 10.3, 10.13 and 11.x differ.

Engine code asks :class:`Capabilities` (``caps.plugin_override`` ...) and never compares version numbers
itself. Each :data:`FEATURES` entry names the TensorRT Python API it needs and the versions that have
it; ``tests/tensorrt/test_api_contract.py`` reads the Python bindings of every supported release
(``python/src`` of NVIDIA/TensorRT ``release/10.3``, ``release/10.13``, ``release/11.1``) and checks
both the ranges and that a gated name is only used under its gate.

Supported: TensorRT 10.3 (JetPack 6.x, Jetson Orin) and newer 10.x — 10.13 is JetPack 7.x (Jetson
Thor) — and 11.x (data center). Older releases lack IPluginV3 in the ONNX parser and are refused.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType

from comix.errors import BadInputError


class TensorRTUnavailable(BadInputError):
    """TensorRT (or the wanted flavour of it) cannot be imported here; the message says what to install."""


@dataclass(frozen=True, order=True)
class TrtVersion:
    """A TensorRT release as (major, minor, patch)."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> TrtVersion:
        match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text))
        if not match:
            raise BadInputError(
                f"TensorRT version: got {text!r}, expected 'MAJOR.MINOR[.PATCH...]'"
            )
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"


MIN_SUPPORTED = TrtVersion(10, 3)
# The releases whose Python bindings the API contract check reads, and who runs them.
CHECKED_RELEASES = {
    "10.3": "JetPack 6.x (Jetson Orin)",
    "10.13": "JetPack 7.x (Jetson Thor)",
    "11.1": "x86_64 / SBSA data-center GPUs",
}


@dataclass(frozen=True)
class Feature:
    """A TensorRT capability our engine code uses only where ``since <= version < before``.

    ``api`` are the Python binding names it needs (``Class`` or ``Class.MEMBER``); ``absent_before``
    says the names do not exist below ``since`` (so the gate is required, not just cautious).
    """

    since: TrtVersion = MIN_SUPPORTED
    before: TrtVersion | None = None
    api: tuple[str, ...] = ()
    absent_before: bool = True
    why: str = ""

    def covers(self, version: TrtVersion) -> bool:
        return self.since <= version and (self.before is None or version < self.before)


FEATURES: dict[str, Feature] = {
    "plugin_override": Feature(
        since=TrtVersion(10, 15),
        api=("OnnxParserFlag.ENABLE_PLUGIN_OVERRIDE",),
        why="the ONNX parser lets a registered plugin replace a built-in importer (our DeformConv over "
        "TensorRT's own); older parsers get the node renamed instead (comix.tensorrt.onnx_prep)",
    ),
    "strongly_typed_flag": Feature(
        since=TrtVersion(10, 0),
        before=TrtVersion(11, 0),
        api=("NetworkDefinitionCreationFlag.STRONGLY_TYPED",),
        absent_before=False,
        why="10.x builds a strongly typed network only when asked; 11.x always does and deprecates the flag",
    ),
    "same_compute_capability": Feature(
        since=TrtVersion(10, 9),
        api=("HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY",),
        why="engines portable across GPUs of one compute capability (10.9+); 10.3 offers only AMPERE_PLUS",
    ),
}


@dataclass(frozen=True)
class Capabilities:
    """What the installed TensorRT supports, as attributes named after :data:`FEATURES`."""

    version: TrtVersion
    plugin_override: bool = False
    strongly_typed_flag: bool = False
    same_compute_capability: bool = False
    lean: bool = False  # the lean runtime: deserialize and run only (no builder, no parser)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def for_version(cls, version: TrtVersion | str, lean: bool = False) -> Capabilities:
        version = version if isinstance(version, TrtVersion) else TrtVersion.parse(version)
        check_supported(version)
        flags = {name: feature.covers(version) for name, feature in FEATURES.items()}
        return cls(version=version, lean=lean, **flags)


def check_supported(version: TrtVersion) -> None:
    if version < MIN_SUPPORTED:
        raise TensorRTUnavailable(
            f"TensorRT {version}: got a release older than {MIN_SUPPORTED.short}, expected "
            f"{MIN_SUPPORTED.short} (JetPack 6) or newer: its ONNX parser cannot hand IPluginV3 "
            "plugins our DCN nodes"
        )


# Python modules of TensorRT, most capable first: the full package, then the lean runtime (run only).
FULL_MODULE = "tensorrt"
LEAN_MODULES = ("tensorrt_lean", "tensorrt_lean_bindings")
INSTALL_HINT = (
    "install TensorRT's Python package for this platform (Jetson: it comes with JetPack, "
    "`sudo apt install python3-libnvinfer`; x86_64: `pip install tensorrt-cu12` or `tensorrt-cu13`)"
)


def import_tensorrt(builder: bool = True) -> tuple[ModuleType, Capabilities]:
    """(TensorRT module, its capabilities). ``builder=False`` also accepts the lean runtime.

    Raises :class:`TensorRTUnavailable` (with what to install) when nothing usable imports.
    """
    reasons = []
    candidates = [FULL_MODULE] + ([] if builder else list(LEAN_MODULES))
    for name in candidates:
        try:
            module = importlib.import_module(name)
        except (ImportError, OSError) as error:  # absent, or its native libraries are; other errors
            # (a broken install) propagate: they must not read as "TensorRT not installed"
            reasons.append(
                f"{name}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )
            continue
        lean = name != FULL_MODULE
        if builder and not hasattr(module, "Builder"):
            reasons.append(f"{name}: has no Builder (a runtime-only package)")
            continue
        return module, Capabilities.for_version(getattr(module, "__version__", "0.0"), lean=lean)
    wanted = "TensorRT with its builder" if builder else "a TensorRT runtime"
    raise TensorRTUnavailable(
        f"{wanted}: got none importable ({'; '.join(reasons)}); {INSTALL_HINT}"
    )


def installed_version() -> TrtVersion | None:
    """The TensorRT version that :func:`import_tensorrt` would use for running, or None."""
    try:
        _, caps = import_tensorrt(builder=False)
    except TensorRTUnavailable:
        return None
    return caps.version
