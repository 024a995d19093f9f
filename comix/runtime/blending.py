"""The blending band: the rows of a scene that tiles are still being added to, and nothing more.

Tiles arrive in row-major order. Each adds ``outputs * window`` and ``window`` (see
:mod:`comix.runtime.tiling`) to the rows it covers, and its validity mask. Rows above the next tile's
top are final: :meth:`BlendingBand.pop` divides them by their summed weights and hands them on, and the band
forgets them. So the band holds about one tile height (plus the rows a batch spans) times the scene width
— never the whole scene.

Outputs are per-pixel channels of any kind (class logits for segmentation; an image for a model that
outputs one): the band only blends.
"""

from __future__ import annotations

import numpy as np

from comix.runtime.tiling import Tile


class BlendingBand:
    """Rows ``top .. top + rows`` of a ``width``-wide scene: weighted sums (K, rows, W) float32, weights
    (rows, W) float32 and validity (rows, W) bool. ``channels`` K may be unknown until the first output."""

    def __init__(self, height: int, width: int, channels: int | None = None) -> None:
        self.height, self.width = height, width
        self.channels = channels
        self.top = 0
        self.rows = 0
        self.sums: np.ndarray | None = None
        self.weights = np.zeros((0, width), dtype=np.float32)
        self.valid = np.zeros((0, width), dtype=bool)

    @property
    def nbytes(self) -> int:
        return (0 if self.sums is None else self.sums.nbytes) + self.weights.nbytes + self.valid.nbytes

    def _reserve(self, end: int) -> None:
        """Make rows up to ``end`` (exclusive, scene coordinates) available."""
        if self.sums is None and self.channels is not None:
            self.sums = np.zeros((self.channels, self.weights.shape[0], self.width), dtype=np.float32)
        needed = end - self.top
        if needed <= self.weights.shape[0]:
            self.rows = max(self.rows, needed)
            return
        grow = needed - self.weights.shape[0]  # exactly what is needed: the band is the width-dependent memory
        self.weights = np.concatenate([self.weights, np.zeros((grow, self.width), np.float32)])
        self.valid = np.concatenate([self.valid, np.zeros((grow, self.width), bool)])
        if self.sums is not None:
            self.sums = np.concatenate([self.sums, np.zeros((self.channels, grow, self.width), np.float32)], axis=1)
        self.rows = needed

    def add(self, tile: Tile, outputs: np.ndarray | None, window: np.ndarray, valid: np.ndarray) -> None:
        """One tile: ``outputs`` (K, th, tw) float32 or None for a skipped (all-nodata) tile, ``window``
        (th, tw) blending weights, ``valid`` (th, tw) bool. Parts outside the scene are cropped."""
        if tile.top < self.top:
            raise ValueError(f"tile at row {tile.top} arrived after rows up to {self.top} were final")
        th, tw = window.shape
        h, w = min(th, self.height - tile.top), min(tw, self.width - tile.left)
        if outputs is not None and self.channels is None:
            self.channels = outputs.shape[0]
        self._reserve(tile.top + h)
        rows = slice(tile.top - self.top, tile.top - self.top + h)
        cols = slice(tile.left, tile.left + w)
        self.valid[rows, cols] |= valid[:h, :w]
        if outputs is not None:
            self.sums[:, rows, cols] += outputs[:, :h, :w] * window[:h, :w]
            self.weights[rows, cols] += window[:h, :w]

    def pop(self, end: int) -> tuple[int, np.ndarray, np.ndarray] | None:
        """Finish rows ``top .. end``: ``(first row, blended (K, n, W) float32 with NaN at nodata, valid (n, W))``,
        or None when there is nothing to hand on yet (no rows, or the channel count is still unknown)."""
        count = min(end, self.height) - self.top
        if count <= 0 or self.channels is None:
            return None
        self._reserve(self.top + count)
        weights = self.weights[:count]
        valid = self.valid[:count].copy()
        blended = np.full((self.channels, count, self.width), np.nan, dtype=np.float32)
        np.divide(self.sums[:, :count], weights[None], out=blended, where=valid[None] & (weights[None] > 0))
        first = self.top
        keep = self.weights.shape[0] - count
        for array, axis in ((self.sums, 1), (self.weights, 0), (self.valid, 0)):
            index = [slice(None)] * array.ndim
            moved = [slice(None)] * array.ndim
            cleared = [slice(None)] * array.ndim
            index[axis], moved[axis], cleared[axis] = slice(0, keep), slice(count, count + keep), slice(keep, None)
            array[tuple(index)] = array[tuple(moved)]
            array[tuple(cleared)] = 0
        self.top += count
        self.rows = max(0, self.rows - count)
        return first, blended, valid
