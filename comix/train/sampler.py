"""Random training tiles from a scene with sparse labels, with flip / rot90 augmentation.

Each tile is centred (up to a random shift) on a training pixel, drawn class-balanced by default so rare
classes are seen; only ``train_mask`` labels are kept in the tile, everything else is 0 (ignored).
The sampler owns a seeded NumPy generator whose state is saved with a checkpoint, so a resumed run
draws the same tiles as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comix.data.scene import Scene
from comix.errors import BadInputError


@dataclass
class TileBatch:
    """hsi float32 (B, bands, T, T), x float32 (B, C, T, T), labels int64 (B, T, T) with 0 = ignore."""

    hsi: np.ndarray
    x: np.ndarray
    labels: np.ndarray


class TileSampler:
    """Draws augmented training tiles of ``tile`` x ``tile`` pixels from one scene."""

    def __init__(
        self, scene: Scene, tile: int, seed: int, class_balanced: bool = True, augment: bool = True
    ):
        if tile < 1:
            raise BadInputError(f"tile: got {tile}, expected a positive size in pixels")
        if not scene.train_mask.any():
            raise BadInputError(
                f"scene '{scene.name}' has no training pixels (train_mask is empty)"
            )
        self.scene = scene
        self.tile = tile
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        self.train_labels = np.where(scene.train_mask, scene.labels, 0)
        rows, cols = np.nonzero(scene.train_mask)
        classes = scene.labels[rows, cols]
        if class_balanced:
            self._pixels_by_class = [
                np.stack([rows[classes == c], cols[classes == c]], axis=1)
                for c in np.unique(classes)
            ]
        else:
            self._pixels_by_class = [np.stack([rows, cols], axis=1)]
        # Scenes smaller than a tile are padded once (zeros, labels 0) so every tile is full size.
        pad_h, pad_w = max(0, tile - scene.height), max(0, tile - scene.width)
        pads = ((0, pad_h), (0, pad_w))
        self._hsi = np.pad(scene.hsi, ((0, 0), *pads)) if pad_h or pad_w else scene.hsi
        self._x = np.pad(scene.x, ((0, 0), *pads)) if pad_h or pad_w else scene.x
        self._labels = np.pad(self.train_labels, pads) if pad_h or pad_w else self.train_labels

    def state(self) -> dict:
        """JSON-ready generator state (for resume)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def _corner(self) -> tuple[int, int]:
        """Top-left corner of a tile holding a randomly chosen training pixel."""
        pixels = self._pixels_by_class[self.rng.integers(len(self._pixels_by_class))]
        row, col = pixels[self.rng.integers(len(pixels))]
        height, width = self._labels.shape
        top = int(np.clip(row - self.rng.integers(self.tile), 0, height - self.tile))
        left = int(np.clip(col - self.rng.integers(self.tile), 0, width - self.tile))
        return top, left

    def sample(self, batch: int) -> TileBatch:
        """``batch`` augmented tiles."""
        hsi, x, labels = [], [], []
        for _ in range(batch):
            top, left = self._corner()
            window = (slice(top, top + self.tile), slice(left, left + self.tile))
            tile_hsi = self._hsi[(slice(None), *window)]
            tile_x = self._x[(slice(None), *window)]
            tile_labels = self._labels[window]
            if self.augment:
                rotations, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
                tile_hsi, tile_x, tile_labels = (
                    augment(a, rotations, flip) for a in (tile_hsi, tile_x, tile_labels)
                )
            hsi.append(tile_hsi)
            x.append(tile_x)
            labels.append(tile_labels)
        return TileBatch(
            np.stack(hsi).astype(np.float32),
            np.stack(x).astype(np.float32),
            np.stack(labels).astype(np.int64),
        )


def augment(array: np.ndarray, rotations: int, flip: bool) -> np.ndarray:
    """Rotate the last two axes by ``rotations`` x 90 degrees, then mirror W if ``flip``
    (all 8 dihedral views)."""
    out = np.rot90(array, k=rotations, axes=(-2, -1))
    if flip:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)
