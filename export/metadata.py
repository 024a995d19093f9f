"""``metadata_props`` written into every exported model, and read back by the runtime.

Keys are prefixed ``comix.``; values are strings (JSON for structured values). An artifact carries what
built it: exporter, opset and tool versions, the checkpoint hash and the graph kind.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import onnx

from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION

PREFIX = "comix."
TOOLS = ("torch", "onnx", "onnxscript", "onnxslim", "onnxruntime")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool in TOOLS:
        try:
            versions[tool] = importlib_metadata.version(tool)
        except importlib_metadata.PackageNotFoundError:
            versions[tool] = "absent"
    return versions


@dataclass
class ExportMetadata:
    """What the runtime needs to feed the model and present its output, and what built the artifact."""

    model_name: str = "unknown"
    config: dict = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    class_colors: list[list[int]] = field(default_factory=list)
    wavelengths_nm: list[float] = field(default_factory=list)
    hsi_bands: int | None = None
    x_modality: str = ""
    x_channels: int | None = None
    tile_size: list[int] = field(default_factory=list)
    checkpoint_sha256: str = ""
    graph_kind: str = "canonical"  # "canonical" (ai.comix nodes) or "portable" (ai.onnx only)
    opset: int = 0
    exporter: str = "torch.onnx.export(dynamo=True)"
    tools: dict[str, str] = field(default_factory=tool_versions)

    def to_props(self) -> dict[str, str]:
        props = {}
        for key, value in asdict(self).items():
            props[PREFIX + key] = value if isinstance(value, str) else json.dumps(value)
        props[PREFIX + "custom_domain"] = f"{CUSTOM_DOMAIN}:{CUSTOM_DOMAIN_VERSION}"
        return props

    @classmethod
    def from_model(cls, model: onnx.ModelProto) -> ExportMetadata:
        """Read back what :meth:`write` stored; unknown or missing keys keep their defaults."""
        props = {p.key[len(PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(PREFIX)}
        values = {}
        for name, default in asdict(cls()).items():
            if name not in props:
                continue
            values[name] = props[name] if isinstance(default, str) else json.loads(props[name])
        return cls(**values)

    def write(self, model: onnx.ModelProto) -> onnx.ModelProto:
        """Replace our keys in ``model.metadata_props`` (other keys are kept)."""
        keep = [p for p in model.metadata_props if not p.key.startswith(PREFIX)]
        del model.metadata_props[:]
        model.metadata_props.extend(keep)
        onnx.helper.set_model_props(model, {**{p.key: p.value for p in keep}, **self.to_props()})
        model.producer_name = "comix-export"
        return model


def checkpoint_hash(checkpoint: str | os.PathLike) -> str:
    """SHA-256 of a checkpoint file, or of ``model.safetensors`` inside a checkpoint folder."""
    path = Path(checkpoint)
    if path.is_dir():
        path = path / "model.safetensors"
    return file_sha256(path) if path.is_file() else ""
