"""The one interface every inference backend implements (PyTorch, ONNX Runtime; TensorRT later).

``backend.run(hsi (B, bands, T_h, T_w) float32, x (B, C, T_h, T_w) float32) -> logits (B, K, T_h, T_w)``
float32 numpy, raw input values (normalisation is inside the model). ``backend.info`` says what the
model expects, so the sliding-window driver can check a scene before any work and choose tiles.

A backend may also time its own layers (``layer_times``, used by ``comix profile``): ONNX Runtime through
its profiler, PyTorch through ``torch.profiler`` with module scopes, TensorRT through its layer profiler.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from comix.errors import FailedError
from comix.runtime.errors import RuntimeInputError
from comix.tasks import input_labels


@dataclass
class ModelIO:
    """What a model takes and gives.

    ``bands`` / ``x_channels`` are the channels of the model's first and second input (HSI bands and
    X channels for CoMiX; primary and guide channels for a SHIP fusion model), ``classes`` those of
    its output (classes; fused channels); None when the model does not say. Built by
    :func:`model_io` from the model record and the artifact's shapes, the same way for every
    backend. ``tile`` is the fixed (H, W) of a static-shape model, None for dynamic H, W;
    ``max_batch`` is the fixed batch of a static model, None for dynamic. ``hsi_mean`` / ``x_mean``
    are the model's input normalisation means (raw units, per band / channel): nodata pixels are
    filled with them (empty when the model does not say).
    """

    bands: int | None
    x_channels: int | None
    classes: int | None
    tile: tuple[int, int] | None = None
    max_batch: int | None = None
    class_names: list[str] = field(default_factory=list)
    class_colors: list[list[int]] = field(default_factory=list)
    wavelengths_nm: list[float] = field(default_factory=list)
    x_modality: str = ""
    training_tile: list[int] = field(default_factory=list)
    name: str = ""
    hsi_mean: list[float] = field(default_factory=list)
    x_mean: list[float] = field(default_factory=list)
    # what the model does (comix.tasks) and its config (a fusion model's ratio, data range, ...)
    task: str = "segmentation"
    config: dict = field(default_factory=dict)
    input_labels: tuple[str, str] = ("HSI cube", "X raster")


def _shape_or_record(shape: int | None, recorded) -> int | None:
    if shape is not None:
        return shape
    return int(recorded) if isinstance(recorded, int) and recorded > 0 else None


def model_io(
    record,
    *,
    bands: int | None = None,
    x_channels: int | None = None,
    classes: int | None = None,
    tile: tuple[int, int] | None = None,
    max_batch: int | None = None,
) -> ModelIO:
    """What a model takes and gives, from its record (:class:`comix.metadata.ModelRecord`) and the shapes its
    artifact fixes (a graph's or engine's inputs; None where a shape is dynamic or unknown). The one builder
    of :class:`ModelIO`: every backend calls it, so no backend drops the task, the normalisation means or
    the input names."""
    statistics = record.normalization if isinstance(record.normalization, dict) else {}
    config = dict(record.config)
    outputs = config.get("classes") or config.get("primary_channels") or len(record.class_names)
    return ModelIO(
        bands=_shape_or_record(bands, record.hsi_bands),
        x_channels=_shape_or_record(x_channels, record.x_channels),
        classes=_shape_or_record(classes, outputs),
        tile=tile,
        max_batch=max_batch,
        class_names=list(record.class_names),
        class_colors=list(record.class_colors),
        wavelengths_nm=list(record.wavelengths_nm),
        x_modality=record.x_modality,
        training_tile=list(record.training_tile),
        name=record.model_name,
        hsi_mean=[float(v) for v in statistics.get("hsi_mean", [])],
        x_mean=[float(v) for v in statistics.get("x_mean", [])],
        task=record.task,
        config=config,
        input_labels=input_labels(record.task),
    )


@dataclass
class LayerTime:
    """Mean time of one layer (graph node, engine layer or module scope) per ``run`` call.

    ``name`` is the node/layer name, for exported models ``<module path>[<Class>]/<node>`` (see
    :func:`comix.export.passes.scoped_name`); ``kind`` is the op type (``Conv``, ``DeformConv3D``) or the
    aten op; ``milliseconds`` the mean over the profiled runs; ``calls`` how often it ran per run.
    """

    name: str
    kind: str
    milliseconds: float
    calls: int = 1


class Backend(ABC):
    """Runs a model on batches of tiles. A backend in :mod:`comix.runtime.registry` also has the classmethod
    ``open(path, options: OpenOptions) -> Backend``."""

    name = "abstract"
    info: ModelIO
    # what the open found of the model's recorded digests (comix.runtime.integrity.Verification; None
    # where the backend checks its artifact another way: a checkpoint's loader, an engine's record)
    verification = None

    @abstractmethod
    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        """hsi (B, bands, H, W), x (B, C, H, W) float32 -> logits (B, classes, H, W) float32."""

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime] | None:
        """Per-layer times of ``run(hsi, x)``, averaged over ``runs`` profiled calls after one warm-up;
        None when this backend cannot break its time down (the default)."""
        return None

    def weights_digest(self) -> str | None:
        """SHA-256 of the weights as held in memory now (``--recheck-every`` compares it with the value at
        open); None when this backend cannot read them."""
        return None

    def reload(self) -> None:
        """Open the model again from its file (after a re-check found a change); the default cannot."""
        raise FailedError(f"the {self.name} backend cannot reload its model")

    def check_scene(self, hsi: np.ndarray, x: np.ndarray) -> None:
        """Raise :class:`RuntimeInputError` (got/expected) unless the scene fits the model
        (arrays or shapes)."""
        self.check_shapes(tuple(np.shape(hsi)), tuple(np.shape(x)))

    def check_shapes(self, hsi: tuple[int, ...], x: tuple[int, ...]) -> None:
        """:meth:`check_scene` on the shapes hsi (bands, H, W) and x (C, H, W) alone (a scene on disk)."""
        first, second = self.info.input_labels
        if len(hsi) != 3:
            raise RuntimeInputError(f"{first}: got shape {hsi}, expected 3 axes (bands, H, W)")
        if len(x) != 3:
            raise RuntimeInputError(f"{second}: got shape {x}, expected 3 axes (C, H, W)")
        if self.info.bands is not None and hsi[0] != self.info.bands:
            raise RuntimeInputError(
                f"{first}: got {hsi[0]} bands, expected {self.info.bands} as the model "
                "was trained with"
            )
        if self.info.x_channels is not None and x[0] != self.info.x_channels:
            raise RuntimeInputError(
                f"{second}: got {x[0]} channels, expected {self.info.x_channels} as the "
                "model was trained with"
            )
        if min(hsi[1:]) < 1:
            raise RuntimeInputError(f"{first}: got H x W {hsi[1:]}, expected at least 1 x 1 pixels")
        if hsi[1:] != x[1:]:
            raise RuntimeInputError(
                f"scene size: got {first} H x W {hsi[1:]} and {second} H x W {x[1:]}, "
                "expected the same grid (co-registered rasters)"
            )
