"""Checkpoints: a folder with ``model.safetensors`` (weights and normalisation buffers) and ``config.json``.

``config.json`` (format ``comix-checkpoint``, version 1)::

    {"format": "comix-checkpoint", "format_version": 1, "variant": "comix_t", "task": "segmentation",
     "model_config": {...ComixConfig fields...},
     "normalization": {"hsi_mean": [...], "hsi_std": [...], "x_mean": [...], "x_std": [...]},
     "class_names": [...], "band_wavelengths_nm": [...] or null, "training_recipe": {...},
     "weights": {"file": "model.safetensors", "bytes": n, "sha256": "..."}}

Loading rebuilds the model from ``model_config`` and checks everything: format and version, config
validity, class-name and wavelength counts, the weights file's size and hash (a truncated or altered
file is named as such), tensor names and shapes, and that the JSON statistics equal the stored buffers.

``task`` says which network the config builds: ``segmentation`` (CoMiX, the default, so checkpoints written
before the key existed read as CoMiX) or a fusion task (SHIP: ``ShipConfig``, no class names or
normalisation statistics; ``band_wavelengths_nm`` then lists the fused bands).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from comix.atomic import atomic_path, write_text_atomic
from comix.errors import BadInputError
from comix.hashing import file_sha256
from comix.metadata import ModelRecord
from comix.model.config import ConfigError
from comix.model.registry import ModelConfig, config_class, model_from_config
from comix.tasks import SEGMENTATION, TASKS

FORMAT_NAME = "comix-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class CheckpointError(BadInputError):
    """A checkpoint cannot be written or read; the message names the file and what is wrong."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode) and the metadata saved with it."""

    model: torch.nn.Module  # ComixNet, or a family's network (ShipNet)
    variant: str
    class_names: list[str]
    band_wavelengths_nm: list[float] | None
    training_recipe: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """``segmentation`` (CoMiX) or a fusion task (SHIP)."""
        return str(self.metadata.get("task", SEGMENTATION))

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of ``model.safetensors``, as recorded in ``config.json`` and verified on load."""
        return str(self.metadata.get("weights", {}).get("sha256", ""))

    def record(self, tile: tuple[int, int] = (128, 128)) -> ModelRecord:
        """The model record of this checkpoint (what an export carries and what the PyTorch backend describes
        the model by): task, config, class names and colours, wavelengths, input channels, X modality, the
        training tile (``tile`` when the recipe does not say), the weights hash and the input statistics."""
        from comix.viz import class_colours

        config = self.model.config
        recipe = self.training_recipe or {}
        first, second = config.input_channels
        modality = self.metadata.get("x_modality") or recipe.get("x_modality")
        return ModelRecord(
            model_name=self.variant or type(self.model).__name__,
            task=self.task,
            config=config.to_dict(),
            class_names=list(self.class_names),
            class_colors=class_colours(len(self.class_names))[1:].tolist()
            if self.class_names
            else [],
            wavelengths_nm=list(self.band_wavelengths_nm or []),
            hsi_bands=first,
            x_modality=str(modality or getattr(config, "guide_modality", "")),
            x_channels=second,
            training_tile=_training_tile(recipe.get("tile", recipe.get("patch")), tile),
            checkpoint_sha256=self.weights_sha256,
            normalization={
                key: [float(v) for v in values]
                for key, values in (self.metadata.get("normalization") or {}).items()
            },
        )


def _training_tile(value, fallback: tuple[int, int]) -> list[int]:
    """The recipe's training tile as [H, W] (an int means square); ``fallback`` when unknown."""
    if isinstance(value, int):
        return [value, value]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return [int(v) for v in value]
    return list(fallback)


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, config) for a checkpoint folder, or for either file of the pair given directly."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.parent
    return path / WEIGHTS_FILE, path / CONFIG_FILE


def _normalization(model: torch.nn.Module) -> dict[str, list[float]]:
    if not hasattr(model, "hsi_norm"):
        return {}  # a family without input statistics (SHIP scales by config.data_range)
    return {
        "hsi_mean": model.hsi_norm.mean.tolist(),
        "hsi_std": model.hsi_norm.std.tolist(),
        "x_mean": model.x_norm.mean.tolist(),
        "x_std": model.x_norm.std.tolist(),
    }


def save_checkpoint(
    model: torch.nn.Module,
    path: str | Path,
    *,
    variant: str = "",
    class_names: list[str] | None = None,
    band_wavelengths_nm: list[float] | None = None,
    training_recipe: dict[str, Any] | None = None,
) -> Path:
    """Write ``path/model.safetensors`` and ``path/config.json``; returns the folder.

    ``class_names`` defaults to ``class_0 .. class_{K-1}``; its length must equal ``config.classes``, and
    ``band_wavelengths_nm`` (if given) must have ``config.bands`` finite values.
    """
    cfg = model.config
    task = cfg.task
    if class_names is None:
        class_names = [f"class_{i}" for i in range(cfg.class_count)]
    names = list(class_names)
    _check_metadata(names, band_wavelengths_nm, cfg, "save_checkpoint")
    weights_path, config_path = checkpoint_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    with atomic_path(
        weights_path
    ) as temporary:  # a crash leaves the previous pair, never a torn file
        save_file(
            state,
            str(temporary),
            metadata={"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION)},
        )
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "variant": variant,
        "task": task,
        "model_config": cfg.to_dict(),
        "normalization": _normalization(model),
        "class_names": names,
        "band_wavelengths_nm": None
        if band_wavelengths_nm is None
        else [float(w) for w in band_wavelengths_nm],
        "training_recipe": dict(training_recipe or {}),
        "weights": {
            "file": WEIGHTS_FILE,
            "bytes": weights_path.stat().st_size,
            "sha256": file_sha256(weights_path),
        },
    }
    write_text_atomic(config_path, json.dumps(document, indent=2) + "\n")
    return weights_path.parent


def _check_metadata(
    class_names: list[str],
    wavelengths: list[float] | None,
    cfg: ModelConfig,
    where: str,
) -> None:
    classes, bands = cfg.class_count, cfg.input_channels[0]
    if len(class_names) != classes or not all(isinstance(n, str) for n in class_names):
        raise CheckpointError(
            f"{where}: class_names: got {len(class_names)} names, expected {classes} strings "
            "(config.classes; none for a fusion model)"
        )
    if wavelengths is not None:
        values = list(wavelengths)
        if len(values) != bands:
            raise CheckpointError(
                f"{where}: band_wavelengths_nm: got {len(values)} values, expected {bands} "
                "(config.bands / primary_channels)"
            )
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise CheckpointError(
                f"{where}: band_wavelengths_nm: got non-finite or non-numeric values"
            )


def _read_document(config_path: Path) -> dict[str, Any]:
    if not config_path.is_file():
        raise CheckpointError(f"{config_path}: missing, expected the checkpoint's {CONFIG_FILE}")
    try:
        document = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"{config_path}: not valid JSON ({error}); truncated or not a CoMiX checkpoint"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        got = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise CheckpointError(f"{config_path}: format: got {got!r}, expected {FORMAT_NAME!r}")
    if document.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{config_path}: format_version: got {document.get('format_version')!r}, "
            f"expected {FORMAT_VERSION} (this build reads version {FORMAT_VERSION} only)"
        )
    for key in ("model_config", "normalization", "class_names", "weights"):
        if key not in document:
            raise CheckpointError(f"{config_path}: missing key {key!r}")
    if document.setdefault("task", SEGMENTATION) not in TASKS:
        raise CheckpointError(
            f"{config_path}: task: got {document['task']!r}, expected one of {list(TASKS)}"
        )
    return document


def _check_weights_file(weights_path: Path, expected: dict[str, Any]) -> None:
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: missing, expected the checkpoint's {WEIGHTS_FILE}")
    size = weights_path.stat().st_size
    if size != expected.get("bytes"):
        kind = (
            "truncated"
            if isinstance(expected.get("bytes"), int) and size < expected["bytes"]
            else "wrong size"
        )
        raise CheckpointError(
            f"{weights_path}: {kind}: got {size} bytes, expected {expected.get('bytes')} "
            f"(as recorded in {CONFIG_FILE})"
        )
    digest = file_sha256(weights_path)
    if digest != expected.get("sha256"):
        raise CheckpointError(
            f"{weights_path}: sha256 mismatch: got {digest}, expected {expected.get('sha256')}; "
            "the weights file was altered or belongs to another checkpoint"
        )


def _check_state(
    state: dict[str, torch.Tensor], model: torch.nn.Module, weights_path: Path
) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights_path}: tensors do not match the config: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}"
        )
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{weights_path}: {key}: got shape {tuple(state[key].shape)}, "
                f"expected {tuple(value.shape)} from the config"
            )


def load_checkpoint(path: str | Path, *, map_location: str = "cpu") -> Checkpoint:
    """Rebuild the model from ``path`` (folder or either file of the pair) and check everything.

    Raises :class:`CheckpointError` with the file and the mismatch.
    """
    weights_path, config_path = checkpoint_paths(path)
    document = _read_document(config_path)
    try:
        values = dict(document["model_config"])
        cfg = config_class(document["task"]).from_dict(values)
        if cfg.task != document["task"]:
            raise ConfigError(f"task: got {document['task']!r} beside a {cfg.task!r} config")
        model = model_from_config(cfg)
    except (ConfigError, TypeError, ValueError) as error:
        raise CheckpointError(f"{config_path}: model_config is invalid: {error}") from None
    _check_metadata(
        document["class_names"], document.get("band_wavelengths_nm"), cfg, str(config_path)
    )
    _check_weights_file(weights_path, document["weights"])
    try:
        state = load_file(str(weights_path), device=map_location)
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{weights_path}: unreadable safetensors file ({error})") from None
    _check_state(state, model, weights_path)
    model.load_state_dict(state)
    stored = _normalization(model)
    for key, values in document["normalization"].items():
        if (
            key not in stored
            or len(values) != len(stored[key])
            or not torch.allclose(
                torch.tensor(values, dtype=torch.float32),
                torch.tensor(stored[key]),
                rtol=1e-6,
                atol=0.0,
            )
        ):
            raise CheckpointError(
                f"{config_path}: normalization.{key} does not match the buffer in {WEIGHTS_FILE}"
            )
    model.eval()
    return Checkpoint(
        model,
        document.get("variant", ""),
        list(document["class_names"]),
        document.get("band_wavelengths_nm"),
        dict(document.get("training_recipe") or {}),
        document,
    )
