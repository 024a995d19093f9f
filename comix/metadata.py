"""The model record: what every artifact of a CoMiX model carries about itself (one schema, versioned).

An exported ONNX graph stores it in ``metadata_props`` (keys ``comix.<field>``, JSON values); a calibrated
graph carries the same record plus its precision recipe; a TensorRT engine carries it in a JSON file beside
the engine. This module is the only place that writes or reads it.

Schema versions:

* 1 — exports before the record had a version: no ``comix.schema_version`` key; the training tile was
  called ``tile_size``. Read and upgraded in memory.
* 2 — ``schema_version``, ``training_tile`` and ``precision`` (empty for FP32). Later (same meaning of
  every field, so the same version): ``normalization`` — the model's input statistics in raw units
  (``hsi_mean``, ``hsi_std``, ``x_mean``, ``x_std``), which the runtime fills nodata pixels with; empty in
  records written before it.
* 3 — ``task`` (:data:`comix.tasks.TASKS`): a record may describe a SHIP fusion model, whose output is an
  image. Records of versions 1 and 2 are CoMiX segmentation models and read as ``task = "segmentation"``;
  a build that reads only version 2 refuses a version-3 record instead of running a fusion model as CoMiX.

A record of a newer version than this build reads is refused with a message (upgrade, or re-export).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata

from comix.errors import BadInputError
from comix.tasks import SEGMENTATION

PREFIX = "comix."
SCHEMA_VERSION = 3
TOOLS = ("comix-deploy", "torch", "onnx", "onnxscript", "onnxslim", "onnxruntime")
# old key -> field, per schema version before the current one
_RENAMED = {1: {"tile_size": "training_tile"}}


class MetadataError(BadInputError):
    """A model record cannot be read (message says which key, got/expected, and what to do)."""


def tool_versions() -> dict[str, str]:
    """Installed versions of the tools that make artifacts ("absent" when not installed)."""
    versions = {}
    for tool in TOOLS:
        try:
            versions[tool] = importlib_metadata.version(tool)
        except importlib_metadata.PackageNotFoundError:
            versions[tool] = "absent"
    return versions


@dataclass
class ModelRecord:
    """What a runtime needs to feed a model and present its output, and what made the artifact.

    ``training_tile`` is [H, W] of the tiles the model was trained on; ``graph_kind`` is "canonical"
    (ai.comix nodes), "portable" (ai.onnx only) or "" for a non-ONNX artifact; ``precision`` is the
    recipe of a calibrated graph (empty for FP32); ``normalization`` the per-band / per-channel input
    statistics the graph applies to raw values (empty when unknown); ``task`` is what the model does
    (``segmentation`` for CoMiX, ``fusion-irvis`` / ``fusion-pansharpen`` for SHIP, whose ``config`` is a
    ShipConfig and whose ``class_names`` are empty), so tools choose the metric and refuse a model of the
    wrong kind.
    """

    model_name: str = "unknown"
    task: str = SEGMENTATION
    config: dict = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    class_colors: list[list[int]] = field(default_factory=list)
    wavelengths_nm: list[float] = field(default_factory=list)
    hsi_bands: int | None = None
    x_modality: str = ""
    x_channels: int | None = None
    training_tile: list[int] = field(default_factory=list)
    checkpoint_sha256: str = ""
    graph_kind: str = "canonical"
    opset: int = 0
    exporter: str = "torch.onnx.export(dynamo=True)"
    precision: dict = field(default_factory=dict)
    normalization: dict[str, list[float]] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=tool_versions)
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------ key/value form (ONNX metadata_props)
    def to_props(self) -> dict[str, str]:
        """``comix.<field>`` -> string (str fields as they are, everything else as JSON)."""
        return {
            PREFIX + key: value if isinstance(value, str) else json.dumps(value)
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> ModelRecord:
        """Read a record from ``comix.*`` keys (other keys ignored); upgrades version 1.

        A graph with no ``comix.*`` key at all gives the defaults (a foreign model: the runtime then
        knows only what the graph's shapes say).
        """
        values = {
            key[len(PREFIX) :]: value for key, value in props.items() if key.startswith(PREFIX)
        }
        if not values:
            return cls()
        version = _int(values.pop("schema_version", "1"), "schema_version")
        if version > SCHEMA_VERSION:
            raise MetadataError(
                f"model record: got schema version {version}, expected <= {SCHEMA_VERSION}; the "
                "artifact was made by a newer comix-deploy: upgrade it, or re-export the model"
            )
        for old, new in _RENAMED.get(version, {}).items():
            if old in values:
                values[new] = values.pop(old)
        defaults = asdict(cls())
        parsed = {}
        for name, default in defaults.items():
            if name in values and name != "schema_version":
                parsed[name] = (
                    values[name] if isinstance(default, str) else _json(values[name], name)
                )
        return cls(**parsed)

    # ------------------------------------------------------------------ JSON form (files beside engines)
    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ModelRecord:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise MetadataError(f"model record: not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise MetadataError(
                f"model record: got a JSON {type(document).__name__}, expected an object"
            )
        return cls.from_props(
            {PREFIX + k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}
        )

    # ------------------------------------------------------------------ ONNX
    def write_onnx(self, model):
        """Replace the ``comix.*`` keys of an ``onnx.ModelProto`` (other keys kept); returns the model."""
        keep = {p.key: p.value for p in model.metadata_props if not p.key.startswith(PREFIX)}
        del model.metadata_props[:]
        for key, value in {**keep, **self.to_props()}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        model.producer_name = "comix-deploy"
        return model

    @classmethod
    def read_onnx(cls, model) -> ModelRecord:
        """The record of an ``onnx.ModelProto``."""
        return cls.from_props({p.key: p.value for p in model.metadata_props})


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise MetadataError(
            f"model record: {PREFIX}{name}: got {text[:40]!r}, expected a JSON value"
        ) from None


def _int(text: str, name: str) -> int:
    value = _json(text, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MetadataError(f"model record: {PREFIX}{name}: got {text!r}, expected an integer")
    return value
