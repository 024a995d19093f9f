"""The file beside every engine (``model.engine`` -> ``model.engine.json``) and the compatibility check.

It holds the one model record (:class:`comix.metadata.ModelRecord`, read and written only through that
module) and the engine's own facts (:class:`EngineFacts`): what built the engine (TensorRT version, GPU
and compute capability, plugin library hash and plugins, ONNX hash, the precision recipe, profiles,
build options, which DCN route the parser took). A runtime reads it *before* deserializing and refuses an
engine built for another TensorRT, GPU or plugin library with a message naming what differs
(:func:`compatibility_problems`) — TensorRT itself would fail later with an opaque error, or, for a
different plugin library, silently run other code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from comix.atomic import write_text_atomic
from comix.errors import BadInputError
from comix.metadata import MetadataError, ModelRecord
from comix.tensorrt.version import TrtVersion

ENGINE_SCHEMA_VERSION = 1
DOCUMENT_KIND = "comix.tensorrt.engine"
HARDWARE_LEVELS = ("none", "ampere+", "same-compute-capability")


class EngineMismatch(BadInputError):
    """The engine was built for another TensorRT, GPU or plugin library (message lists each difference)."""


@dataclass
class EngineFacts:
    """What built an engine and how; JSON-friendly. ``gpu.compute_capability`` is "major.minor"."""

    engine_file: str = ""
    engine_sha256: str = ""
    tensorrt_version: str = ""
    gpu: dict = field(default_factory=dict)  # name, compute_capability, driver, cuda_runtime
    plugin_library: dict = field(default_factory=dict)  # file, sha256, comix_version, plugins
    onnx: dict = field(default_factory=dict)  # file, sha256
    dcn_route: dict = field(
        default_factory=dict
    )  # comix.tensorrt.onnx_prep.DcnRoute + plugin layers seen
    precision: dict = field(
        default_factory=dict
    )  # the graph's recipe (ModelRecord.precision) + "network"
    profiles: list[dict] = field(default_factory=list)  # EngineProfile.to_dict() per profile
    io: list[dict] = field(default_factory=list)  # name, mode, dtype per I/O tensor
    build_options: dict = field(default_factory=dict)
    built_at: str = ""
    engine_schema_version: int = ENGINE_SCHEMA_VERSION


def record_path(engine_path: str | os.PathLike) -> Path:
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def write_engine_record(
    engine_path: str | os.PathLike, facts: EngineFacts, model: ModelRecord
) -> Path:
    """Write ``<engine>.json`` atomically: ``{"kind", "engine": facts, "model": model record}``."""
    document = {
        "kind": DOCUMENT_KIND,
        "engine": asdict(facts),
        "model": json.loads(model.to_json()),
    }
    return write_text_atomic(record_path(engine_path), json.dumps(document, indent=2))


def read_engine_record(engine_path: str | os.PathLike) -> tuple[EngineFacts, ModelRecord]:
    """(facts, model record) from ``<engine>.json``; clear errors for a missing, foreign or newer file."""
    path = record_path(engine_path)
    if not path.is_file():
        raise EngineMismatch(
            f"engine {engine_path}: got no {path.name} beside it, expected the record `comix build` "
            "writes (rebuild the engine with comix build, or copy its .json along)"
        )
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise EngineMismatch(f"engine record {path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or document.get("kind") != DOCUMENT_KIND:
        raise EngineMismatch(
            f"engine record {path}: got kind "
            f"{document.get('kind') if isinstance(document, dict) else None!r}, "
            f"expected {DOCUMENT_KIND!r}"
        )
    values = document.get("engine") or {}
    version = values.get("engine_schema_version", 0)
    if not isinstance(version, int) or version > ENGINE_SCHEMA_VERSION:
        raise EngineMismatch(
            f"engine record {path}: got schema version {version!r}, expected <= "
            f"{ENGINE_SCHEMA_VERSION}: made by a newer comix-deploy; upgrade it"
        )
    known = set(EngineFacts.__dataclass_fields__)
    facts = EngineFacts(**{k: v for k, v in values.items() if k in known})
    try:
        model = ModelRecord.from_json(json.dumps(document.get("model") or {}))
    except MetadataError as error:
        raise EngineMismatch(f"engine record {path}: {error}") from None
    return facts, model


@dataclass(frozen=True)
class RuntimeEnvironment:
    """What loads the engine here: TensorRT version, GPU name and compute capability, plugin library hash."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    plugin_sha256: str


def _cc(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major or 0), int(minor or 0)


def compatibility_problems(facts: EngineFacts, here: RuntimeEnvironment) -> list[str]:
    """Each way the engine does not fit this runtime, as a got/expected sentence (empty = compatible).

    TensorRT: the exact build unless the engine is version compatible (then the same major and not older).
    GPU: the same GPU model unless built hardware compatible (``ampere+``: any compute capability >= 8.0;
    ``same-compute-capability``: the same one). Plugin library: the same SHA-256, always.
    """
    problems = []
    options = facts.build_options or {}
    built, running = facts.tensorrt_version, here.tensorrt_version
    if not built:
        pass  # built by trtexec from `comix build`'s line: not recorded, see unchecked()
    elif options.get("version_compatible"):
        b, r = TrtVersion.parse(built), TrtVersion.parse(running)
        if r.major != b.major or r < b:
            problems.append(
                f"TensorRT: engine built with {built} (version compatible within {b.major}.x, "
                f"not older), got {running}"
            )
    elif built != running:
        problems.append(
            f"TensorRT: engine built with {built}, got {running} (build with --version-compatible "
            "to run on later releases of the same major version)"
        )
    gpu = facts.gpu or {}
    level = options.get("hardware_compatibility", "none")
    if not gpu:
        pass
    elif level == "ampere+":
        if _cc(here.compute_capability) < (8, 0):
            problems.append(
                f"GPU: engine built hardware compatible for Ampere and newer (compute capability "
                f">= 8.0), got {here.gpu_name} with {here.compute_capability}"
            )
    elif level == "same-compute-capability":
        if here.compute_capability != gpu.get("compute_capability"):
            problems.append(
                f"GPU: engine built for compute capability {gpu.get('compute_capability')}, got "
                f"{here.gpu_name} with {here.compute_capability}"
            )
    elif (here.gpu_name, here.compute_capability) != (
        gpu.get("name"),
        gpu.get("compute_capability"),
    ):
        problems.append(
            f"GPU: engine built on {gpu.get('name')} (compute capability {gpu.get('compute_capability')}), "
            f"got {here.gpu_name} ({here.compute_capability}); rebuild it here, or build with "
            "--hardware-compatible"
        )
    library = facts.plugin_library or {}
    if library.get("sha256") and library.get("sha256") != here.plugin_sha256:
        problems.append(
            f"plugin library: engine built with {library.get('file')} sha256 "
            f"{str(library.get('sha256'))[:12]}… (comix {library.get('comix_version')}), got sha256 "
            f"{here.plugin_sha256[:12]}…; use the library it was built with, or rebuild the engine"
        )
    return problems


def unchecked(facts: EngineFacts) -> list[str]:
    """What the record cannot vouch for (an engine built by trtexec from the line comix build printed)."""
    missing = [
        what
        for what, value in (
            ("TensorRT version", facts.tensorrt_version),
            ("GPU", facts.gpu),
            ("plugin library", (facts.plugin_library or {}).get("sha256")),
        )
        if not value
    ]
    return missing


def check_compatible(
    engine_path: str | os.PathLike, facts: EngineFacts, here: RuntimeEnvironment
) -> None:
    """Raise :class:`EngineMismatch` listing every difference (one line per problem after the first
    sentence)."""
    problems = compatibility_problems(facts, here)
    if problems:
        raise EngineMismatch(f"engine {engine_path} cannot run here: " + "; ".join(problems))
