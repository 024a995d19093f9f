"""Fuse one whole scene with a SHIP model behind any backend: what ``comix fusion infer``, the
fusion evaluation and the demo call. The image-output counterpart of :mod:`comix.runtime.segment`.

    backend = open_backend("ship.onnx")                       # the same backends as segmentation
    image = fuse_image(backend, primary, guide)               # (C, H, W), tiles blended
    run = fuse_scene(backend, ms, pan, "out/fused.tif")       # + GeoTIFF, PNG quick-look, JSON summary

A pan-sharpening model takes the MS image upsampled to the PAN grid; :func:`prepare_inputs` upsamples an MS
image given at its own resolution (bicubic, :func:`comix.ship.data.resample.bicubic_upsample`, as in
training). Tiles: a fusion model's output is blended, not classified
(``SlidingWindow(labels=False)``); the overlap defaults to :func:`default_fusion_overlap`, chosen
from the tile-border measurement in docs/ship.md (the Fourier product is a circular convolution over
each tile).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.runtime import defaults
from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError
from comix.runtime.sliding_window import ProgressCallback, SceneResult, SlidingWindow
from comix.tasks import FUSION_PANSHARPEN, FUSION_TASKS, require_task


def default_fusion_overlap(tile: int) -> int:
    """Overlap of fusion (SHIP) tiles when none is given: 1/4 of the tile (32 px at 128). SHIP's
    Fourier product is a circular convolution over the tile, so pixels near a tile border see the
    opposite border's content; the measurement in docs/ship.md
    ("Tiles and the circular convolution") chose this value."""
    return tile // 4


def prepare_inputs(
    backend: Backend, primary: np.ndarray, guide: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(primary, guide) on one grid: an MS image ``ratio`` times smaller than the PAN is upsampled first."""
    if primary.ndim != 3 or guide.ndim != 3:
        raise RuntimeInputError(
            f"inputs: got shapes {primary.shape} and {guide.shape}, expected (C, H, W) each"
        )
    if backend.info.task == FUSION_PANSHARPEN and primary.shape[1:] != guide.shape[1:]:
        from comix.ship.data.resample import bicubic_upsample

        ratio = int(backend.info.config.get("ratio", 4))
        if (primary.shape[1] * ratio, primary.shape[2] * ratio) != guide.shape[1:]:
            raise RuntimeInputError(
                f"MS image {primary.shape[1]}x{primary.shape[2]} and PAN image "
                f"{guide.shape[1]}x{guide.shape[2]}: expected the PAN grid, or the PAN grid "
                f"divided by the model's ratio {ratio}"
            )
        primary = bicubic_upsample(primary, ratio)
    return primary.astype(np.float32, copy=False), guide.astype(np.float32, copy=False)


def fusion_window(
    backend: Backend,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    progress: ProgressCallback | None = None,
) -> SlidingWindow:
    """The sliding window of a fusion model: blended image output, the measured default overlap."""
    tile_hw, _, _ = defaults.resolve_window(backend.info, tile, overlap, batch)
    if overlap is None:
        overlap = default_fusion_overlap(min(tile_hw))
    return SlidingWindow(
        backend, tile=tile, overlap=overlap, batch=batch, progress=progress, labels=False
    )


def fuse_image(
    backend: Backend,
    primary: np.ndarray,
    guide: np.ndarray,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    progress: ProgressCallback | None = None,
) -> SceneResult:
    """Fused (C, H, W) image of one scene (``result.logits``), tiles blended; MS upsampled when needed."""
    require_task(backend.info.task, FUSION_TASKS, backend.info.name or "model", "fuse_image")
    primary, guide = prepare_inputs(backend, primary, guide)
    return fusion_window(backend, tile, overlap, batch, progress)(primary, guide)


@dataclass
class FusionRun:
    """A finished scene: the blended result, the files written and the summary stored in the JSON."""

    result: SceneResult
    paths: dict[str, Path]
    summary: dict = field(default_factory=dict)

    @property
    def image(self) -> np.ndarray:
        return self.result.logits


def fuse_scene(
    backend: Backend,
    primary: np.ndarray,
    guide: np.ndarray,
    output: str | os.PathLike,
    *,
    georef=None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    progress: ProgressCallback | None = None,
    summary: dict | None = None,
) -> FusionRun:
    """Fuse a whole scene and write its products named after ``output``
    (:mod:`comix.ship.runtime.image_outputs`)."""
    from comix.ship.runtime.image_outputs import image_output_paths, write_image_products

    image_output_paths(output)  # a bad output path fails before any work
    require_task(
        backend.info.task, FUSION_TASKS, backend.info.name or "model", "comix fusion infer"
    )
    primary, guide = prepare_inputs(backend, primary, guide)
    window = fusion_window(backend, tile, overlap, batch, progress)
    result = window(primary, guide)
    info = backend.info
    document = {
        "model_name": info.name,
        "task": info.task,
        "backend": backend.name,
        "tile": list(window.tile_for(*primary.shape[1:])),
        "overlap": window.overlap,
        "batch": window.batch,
        **(summary or {}),
    }
    paths = write_image_products(
        result,
        output,
        georef,
        document,
        data_range=float(info.config.get("data_range", 1.0)),
        rgb_bands=_rgb_bands(info.config, info.task),
    )
    return FusionRun(result, paths, document)


def _rgb_bands(config: dict, task: str) -> tuple[int, int, int] | None:
    """Bands shown as R, G, B in the quick-look: a 4-band MS (B, G, R, NIR) -> (2, 1, 0);
    8-band WV3 -> (4, 2, 1)."""
    channels = int(config.get("primary_channels", 3))
    if task != FUSION_PANSHARPEN:
        return (0, 1, 2) if channels == 3 else None
    return {4: (2, 1, 0), 8: (4, 2, 1)}.get(
        channels, (min(2, channels - 1), min(1, channels - 1), 0)
    )


def check_fusion_model(
    backend: Backend, expected: str | tuple[str, ...], what: str, where: str
) -> None:
    """Refuse (one sentence, exit 2) a model whose task is not ``expected``."""
    require_task(backend.info.task, expected, what, where)


__all__ = [
    "FusionRun",
    "check_fusion_model",
    "fuse_image",
    "fuse_scene",
    "fusion_window",
    "prepare_inputs",
]
