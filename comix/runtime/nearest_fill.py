"""For every pixel of a tile, the nearest valid pixel (exact Euclidean distance), in NumPy alone.

    rows, cols = nearest_valid(valid)      # valid (H, W) bool with at least one True -> (H, W) int64 each

What ``--nodata-fill nearest`` copies into a hole (:mod:`comix.runtime.nodata`). It is the exact Euclidean
distance transform computed in two separable passes: down each column, the nearest valid row (two sweeps,
vectorised over the columns); then along each row, the column ``c'`` minimising
``vertical(c')^2 + (c - c')^2`` (one (W, W) comparison per row, vectorised). Among equally near
valid pixels the one in the smallest column (and in that column the upper one) is chosen, so the
fill is the same on every machine and install — the runtime install has no SciPy, and its
``scipy.ndimage.distance_transform_edt`` breaks ties its own way. Tested against SciPy's distances
(equal everywhere). Cost: O(H W^2) per tile with holes, ~5 ms at 128 x 128 here.
"""

from __future__ import annotations

import numpy as np

from comix.runtime.errors import RuntimeInputError

_FAR = np.iinfo(np.int64).max // 4


def _nearest_in_columns(valid: np.ndarray) -> np.ndarray:
    """(H, W) int64: the row of the nearest valid pixel in the same column (the upper one on a tie; a row
    index far outside when the column has none)."""
    height = valid.shape[0]
    rows = np.arange(height)[:, None]
    above = np.where(valid, rows, -_FAR)
    above = np.maximum.accumulate(above, axis=0)  # last valid row at or above
    below = np.where(valid, rows, _FAR)
    below = np.minimum.accumulate(below[::-1], axis=0)[::-1]  # first valid row at or below
    take_below = (below - rows) < (rows - above)
    return np.where(take_below, below, above)


def nearest_valid(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols), each (H, W) int64: the nearest valid pixel of every pixel (module doc)."""
    valid = np.asarray(valid, dtype=bool)
    if valid.ndim != 2 or not valid.any():
        raise RuntimeInputError(
            f"nearest fill: got a mask of shape {valid.shape} with {int(valid.sum())} valid pixels, "
            "expected (H, W) with at least one"
        )
    height, width = valid.shape
    column_rows = _nearest_in_columns(valid)  # (H, W)
    vertical = np.abs(column_rows - np.arange(height)[:, None]).astype(np.float64)
    vertical[np.abs(column_rows) >= _FAR // 2] = np.inf  # a column with no valid pixel
    columns = np.arange(width)
    horizontal = (columns[:, None] - columns[None, :]).astype(np.float64) ** 2  # (c, c')
    best_cols = np.empty((height, width), dtype=np.int64)
    for row in range(height):
        cost = vertical[row][None, :] ** 2 + horizontal  # (c, c'): squared distance via column c'
        best_cols[row] = np.argmin(cost, axis=1)  # smallest c' among equals
    best_rows = np.take_along_axis(column_rows, best_cols, axis=1)
    return best_rows, best_cols
