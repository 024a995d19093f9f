"""The options of an engine build and their defaults (one owner: ``comix build``, the builder and the
``trtexec`` line all read them from here).

Precision is not an option: it lives in the graph (FP32, FP16 casts, or INT8 Q/DQ from the precision
step), and the network is strongly typed, so TensorRT keeps exactly the graph's types. TensorRT 11 has
no FP16/INT8 builder flags at all; on 10.x they would let TensorRT pick types behind the graph's back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from comix.errors import BadInputError
from comix.tensorrt.engine_record import HARDWARE_LEVELS

DEFAULT_WORKSPACE_MIB = 1024  # fits a Jetson Orin Nano 8 GB beside the engine and the scene tiles
OPTIMIZATION_LEVELS = range(6)  # TensorRT's builder optimization levels (its default is 3)


class BuildOptionError(BadInputError):
    """A build option out of range (message says got/expected)."""


@dataclass
class BuildOptions:
    """Workspace limit, timing cache, DLA, compatibility and plugin serialization of one build.

    ``dla_core`` None = GPU only; with a DLA core, layers DLA cannot run fall back to the GPU unless
    ``gpu_fallback`` is False. ``version_compatible`` engines run on later TensorRT releases of the same
    major version (and on the lean runtime); ``hardware_compatibility`` is one of HARDWARE_LEVELS.
    ``serialize_plugins`` embeds the plugin library in the engine (needed by version-compatible engines
    that run where the library is not installed); TensorRT serialises plugin libraries only into
    version-compatible engines, so it needs ``version_compatible``. ``tf32`` lets FP32 layers run in TF32
    on the tensor cores (TensorRT's default; a relative error near 1e-3): parity checks against an FP32
    reference build with it off, and the record says which.
    """

    workspace_mib: int = DEFAULT_WORKSPACE_MIB
    timing_cache: Path | None = None
    dla_core: int | None = None
    gpu_fallback: bool = True
    version_compatible: bool = False
    exclude_lean_runtime: bool = False
    hardware_compatibility: str = "none"
    optimization_level: int | None = None
    serialize_plugins: bool = False
    profiling_verbosity: str = "detailed"  # layer names and details for layer_times() and profilers
    tf32: bool = True

    def __post_init__(self) -> None:
        if self.workspace_mib < 1:
            raise BuildOptionError(f"--workspace: got {self.workspace_mib} MiB, expected >= 1")
        if self.dla_core is not None and self.dla_core < 0:
            raise BuildOptionError(
                f"--dla-core: got {self.dla_core}, expected a DLA core index >= 0"
            )
        if self.hardware_compatibility not in HARDWARE_LEVELS:
            raise BuildOptionError(
                f"--hardware-compatible: got {self.hardware_compatibility!r}, expected one of "
                f"{list(HARDWARE_LEVELS)}"
            )
        if (
            self.optimization_level is not None
            and self.optimization_level not in OPTIMIZATION_LEVELS
        ):
            raise BuildOptionError(
                f"--optimization-level: got {self.optimization_level}, expected 0..5"
            )
        if self.exclude_lean_runtime and not self.version_compatible:
            raise BuildOptionError(
                "--exclude-lean-runtime: got it without --version-compatible, expected both"
            )
        if self.serialize_plugins and not self.version_compatible:
            raise BuildOptionError(
                "--serialize-plugins: got it without --version-compatible, expected both (TensorRT "
                "serialises plugin libraries only into version-compatible engines)"
            )
        if self.dla_core is not None and self.hardware_compatibility != "none":
            raise BuildOptionError(
                "--dla-core with --hardware-compatible: DLA engines are tied to one Jetson; "
                "expected one of the two"
            )
        if self.profiling_verbosity not in ("detailed", "layer_names_only", "none"):
            raise BuildOptionError(
                f"profiling verbosity: got {self.profiling_verbosity!r}, expected detailed, "
                "layer_names_only or none"
            )

    def to_dict(self) -> dict:
        document = asdict(self)
        document["timing_cache"] = str(self.timing_cache) if self.timing_cache else None
        return document


def check_supported_by(options: BuildOptions, caps) -> None:
    """Refuse options the target TensorRT (``caps``: :class:`comix.tensorrt.version.Capabilities`) lacks."""
    if (
        options.hardware_compatibility == "same-compute-capability"
        and not caps.same_compute_capability
    ):
        raise BuildOptionError(
            f"--hardware-compatible same-compute-capability: got TensorRT {caps.version.short}, "
            "expected 10.9 or newer (use ampere+ there)"
        )
