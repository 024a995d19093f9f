"""The blending band: the rows of a scene (or of one vertical strip of it) that tiles are still being added
to, and nothing more.

Tiles arrive in row-major order. Each adds ``outputs * window`` and ``window`` (see
:mod:`comix.runtime.tiling`) to the rows it covers, and its validity mask. Rows above the next tile's
top are final: :meth:`BlendingBand.pop` divides them by their summed weights and hands them on, and the band
forgets them. So the band holds about one tile height (plus the rows a batch spans) times its width — never
the whole scene. Its width is the scene's, or, for a scene planned in strips
(:class:`~comix.runtime.streaming.TilePlan`), the columns ``left .. right`` of one strip: a tile reaching
past them adds only its part inside (the neighbouring strip runs that tile again for its own columns).

Outputs are per-pixel channels of any kind (class logits for segmentation; an image for a model that
outputs one): the band only blends.
"""

from __future__ import annotations

import numpy as np

from comix.errors import BadInputError
from comix.runtime.tiling import Tile


class BlendingBand:
    """Rows ``top .. top + rows`` and columns ``left .. right`` of a ``height x width`` scene: weighted sums
    (K, rows, right - left) float32, weights (rows, right - left) float32 and validity (rows, right - left)
    bool. ``channels`` K may be unknown until the first output; ``columns`` (left, right) default to the
    whole width."""

    def __init__(
        self,
        height: int,
        width: int,
        channels: int | None = None,
        columns: tuple[int, int] | None = None,
    ) -> None:
        self.height, self.width = height, width
        self.left, self.right = columns if columns is not None else (0, width)
        if not 0 <= self.left < self.right <= width:
            raise BadInputError(
                f"band columns: got {self.left} .. {self.right}, expected 0 <= left < right <= {width}"
            )
        self.channels = channels
        self.top = 0  # the scene row of the first row held
        self.rows = 0  # rows held
        self.start = 0  # where row ``top`` is in the arrays: popped rows are not moved at every pop
        self.sums: np.ndarray | None = None
        self.weights = np.zeros((0, self.columns), dtype=np.float32)
        self.valid = np.zeros((0, self.columns), dtype=bool)

    @property
    def columns(self) -> int:
        return self.right - self.left

    @property
    def nbytes(self) -> int:
        return (
            (0 if self.sums is None else self.sums.nbytes) + self.weights.nbytes + self.valid.nbytes
        )

    def _arrays(self) -> list[tuple[np.ndarray, int]]:
        """(array, row axis) of everything the band holds."""
        arrays = [(self.weights, 0), (self.valid, 0)]
        return arrays if self.sums is None else [(self.sums, 1), *arrays]

    @staticmethod
    def _rows(array: np.ndarray, axis: int, rows: slice) -> tuple:
        return (slice(None),) * axis + (rows,)

    def _reserve(self, end: int) -> None:
        """Make rows up to ``end`` (exclusive, scene coordinates) available. Popped rows stay where they
        were (a line stream pops one row at a time) until the arrays' end is reached; then the held rows
        move to the front and everything after them is cleared (rows after the held ones are always
        zero)."""
        if self.sums is None and self.channels is not None:
            self.sums = np.zeros(
                (self.channels, self.weights.shape[0], self.columns), dtype=np.float32
            )
        needed = end - self.top
        if self.start + needed > self.weights.shape[0] and self.start:
            held = slice(self.start, self.start + self.rows)
            for array, axis in self._arrays():
                array[self._rows(array, axis, slice(0, self.rows))] = array[
                    self._rows(array, axis, held)
                ]
                array[self._rows(array, axis, slice(self.rows, held.stop))] = 0
            self.start = 0
        if needed <= self.weights.shape[0]:
            self.rows = max(self.rows, needed)
            return
        grow = (
            needed - self.weights.shape[0]
        )  # exactly what is needed: the band is the width-dependent memory
        self.weights = np.concatenate([self.weights, np.zeros((grow, self.columns), np.float32)])
        self.valid = np.concatenate([self.valid, np.zeros((grow, self.columns), bool)])
        if self.sums is not None:
            self.sums = np.concatenate(
                [self.sums, np.zeros((self.channels, grow, self.columns), np.float32)], axis=1
            )
        self.rows = needed

    def add(
        self, tile: Tile, outputs: np.ndarray | None, window: np.ndarray, valid: np.ndarray
    ) -> None:
        """One tile: ``outputs`` (K, th, tw) float32 or None for a skipped (all-nodata) tile, ``window``
        (th, tw) blending weights, ``valid`` (th, tw) bool. Parts outside the scene or the band's columns are
        cropped."""
        if tile.top < self.top:
            raise BadInputError(
                f"tile at row {tile.top} arrived after rows up to {self.top} were final"
            )
        th, tw = window.shape
        h = min(th, self.height - tile.top)
        first, last = max(tile.left, self.left), min(tile.left + tw, self.right)
        if last <= first:
            raise BadInputError(
                f"tile at column {tile.left} (width {tw}) does not reach the band's columns "
                f"{self.left} .. {self.right}"
            )
        if outputs is not None and self.channels is None:
            self.channels = outputs.shape[0]
        self._reserve(tile.top + h)
        rows = slice(self.start + tile.top - self.top, self.start + tile.top - self.top + h)
        cols = slice(first - self.left, last - self.left)
        inside = (slice(0, h), slice(first - tile.left, last - tile.left))
        self.valid[rows, cols] |= valid[inside]
        if outputs is not None:
            self.sums[:, rows, cols] += outputs[(slice(None), *inside)] * window[inside]
            self.weights[rows, cols] += window[inside]

    def pop(self, end: int) -> tuple[int, np.ndarray | None, np.ndarray] | None:
        """Finish rows ``top .. end``: ``(first row, blended (K, n, right - left) float32 with NaN at nodata,
        valid (n, right - left))``, or None when there are no rows. While the channel count is unknown (every
        tile so far was skipped, so these rows are all nodata) ``blended`` is None."""
        count = min(end, self.height) - self.top
        if count <= 0:
            return None
        self._reserve(self.top + count)
        rows = slice(self.start, self.start + count)
        valid = self.valid[rows].copy()
        blended = None
        if self.channels is not None:
            weights = self.weights[rows]
            blended = np.full((self.channels, count, self.columns), np.nan, dtype=np.float32)
            np.divide(
                self.sums[:, rows],
                weights[None],
                out=blended,
                where=valid[None] & (weights[None] > 0),
            )
        first = self.top
        self.top += count
        self.rows = max(0, self.rows - count)
        self.start += count  # the popped rows are cleared when the held ones move to the front
        return first, blended, valid
