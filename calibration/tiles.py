"""Calibration tiles from a scene: drawn around training pixels, stratified so rare classes are present.

Held-out (test) pixels are never used for calibration: they score the calibrated graph afterwards.
Tile ``i`` is centred (clipped to the scene) on a random training pixel of class ``order[i % K]``, where
``order`` runs from the rarest class to the commonest; so with at least K tiles every class with
training pixels appears in the set, and rare classes are not left to chance. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from comix.calibration.errors import CalibrationError
from comix.calibration.graph import GraphInputs
from comix.data.scene import Scene
from comix.hashing import bytes_sha256
from comix.tiles import parse_tile


@dataclass
class CalibrationTiles:
    """hsi float32 (N, bands, T, T), x float32 (N, C, T, T), raw units — the graph's first and
    second inputs (a fusion model's primary and guide image); ``corners`` (top, left) per tile;
    ``classes`` the label values present (training pixels) in each tile (segmentation);
    ``samples`` / ``strata`` the sample index and content stratum of each crop (fusion,
    :mod:`comix.ship.calibration.tiles`)."""

    hsi: np.ndarray
    x: np.ndarray
    corners: list[tuple[int, int]]
    classes: list[list[int]] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    strata: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.hsi.shape[0])

    @property
    def tile_size(self) -> list[int]:
        return [int(self.hsi.shape[2]), int(self.hsi.shape[3])]

    def sha256(self) -> str:
        """Content hash of the tiles themselves (what the statistics depend on)."""
        shapes = f"{self.hsi.shape}{self.x.shape}".encode()
        return bytes_sha256(shapes + self.hsi.tobytes() + self.x.tobytes())

    def coverage(self, class_names: tuple[str, ...]) -> dict[str, int]:
        """class name -> number of tiles holding training pixels of it."""
        counts = dict.fromkeys(class_names, 0)
        for present in self.classes:
            for label in present:
                counts[class_names[label - 1]] += 1
        return counts


def check_scene(scene: Scene, inputs: GraphInputs, where: str) -> None:
    """Refuse a scene the model cannot take or that has nothing to calibrate or score on."""
    if inputs.bands is not None and scene.num_bands != inputs.bands:
        raise CalibrationError(
            f"dataset {where}: got {scene.num_bands} HSI bands, expected {inputs.bands} as "
            "the model takes"
        )
    if inputs.x_channels is not None and scene.x.shape[0] != inputs.x_channels:
        raise CalibrationError(
            f"dataset {where}: got {scene.x.shape[0]} X channels, expected "
            f"{inputs.x_channels} as the model takes"
        )
    if scene.height * scene.width == 0:
        raise CalibrationError(
            f"dataset {where}: got an empty scene ({scene.height}x{scene.width} px), expected "
            "pixels to calibrate on"
        )
    if not np.any(scene.labels > 0):
        raise CalibrationError(
            f"dataset {where}: got only unlabelled pixels (label 0 everywhere), expected "
            "labelled training pixels to draw calibration tiles from and held-out pixels to "
            "score on"
        )
    if not scene.train_mask.any():
        raise CalibrationError(
            f"dataset {where}: got no training pixels in its split, expected some to draw "
            "calibration tiles from (held-out pixels are kept for scoring)"
        )


def calibration_tiles(
    scene: Scene, count: int, tile: int | tuple[int, int], seed: int = 0
) -> CalibrationTiles:
    """``count`` tiles of ``tile`` (S or (H, W) px; the scene size when it is smaller), stratified
    by class."""
    if count < 1:
        raise CalibrationError(f"--tiles: got {count}, expected at least 1 calibration tile")
    rng = np.random.default_rng(seed)
    tile_h, tile_w = parse_tile(tile)
    size_h, size_w = min(tile_h, scene.height), min(tile_w, scene.width)
    train_labels = np.where(scene.train_mask, scene.labels, 0)
    rows, cols = np.nonzero(scene.train_mask)
    values = scene.labels[rows, cols]
    present = np.unique(values)
    counts = np.array([np.sum(values == c) for c in present])
    order = present[np.argsort(counts, kind="stable")]  # rarest first
    hsi, x, corners, classes = [], [], [], []
    for index in range(count):
        label = order[index % len(order)]
        pick = rng.integers(int(np.sum(values == label)))
        row, col = rows[values == label][pick], cols[values == label][pick]
        top = int(
            np.clip(
                row - size_h // 2 + rng.integers(-size_h // 4, size_h // 4 + 1),
                0,
                scene.height - size_h,
            )
        )
        left = int(
            np.clip(
                col - size_w // 2 + rng.integers(-size_w // 4, size_w // 4 + 1),
                0,
                scene.width - size_w,
            )
        )
        window = (slice(top, top + size_h), slice(left, left + size_w))
        hsi.append(scene.hsi[(slice(None), *window)])
        x.append(scene.x[(slice(None), *window)])
        corners.append((top, left))
        classes.append(sorted(int(v) for v in np.unique(train_labels[window]) if v > 0))
    return CalibrationTiles(
        np.stack(hsi).astype(np.float32), np.stack(x).astype(np.float32), corners, classes
    )
