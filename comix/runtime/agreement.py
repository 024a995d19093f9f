"""How closely whole-scene results agree: one backend against another, and tiled against one full pass.

* :func:`scene_agreement` runs the same :class:`~comix.runtime.SlidingWindow` tiling through two
  backends (e.g. ONNX Runtime and PyTorch) and counts pixels whose class differs (expected 0).
* :func:`seam_check` compares the blended tiled result with one full-scene pass of the same backend,
  overall, within a band around the interior tile borders and elsewhere. A model with per-tile global
  context (CoMiX's FFM) cannot match a full pass exactly; "no seams" means the border band agrees as well
  as the rest. :func:`border_lines`, :func:`border_band` and :func:`region_stats` are its parts.

Results are plain dicts of numbers (they go into JSON reports as they are).
"""

from __future__ import annotations

import time

import numpy as np

from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError
from comix.runtime.sliding_window import SlidingWindow, label_raster
from comix.runtime.tiling import TileGrid


def scene_agreement(
    backend: Backend,
    reference: Backend,
    hsi: np.ndarray,
    x: np.ndarray,
    tile: int,
    overlap: int,
    batch: int,
) -> dict:
    """Same tiling through ``backend`` and ``reference`` on hsi ``(bands, H, W)``, x ``(C, H, W)``.

    Returns:
        ``pixels``, ``differing_pixels`` (class differs), ``max_abs_logit_diff``, ``tiles``, and the seconds
        of each run, ``backend_seconds`` and ``reference_seconds``.
    """
    got = SlidingWindow(backend, tile, overlap, batch)(hsi, x)
    want = SlidingWindow(reference, tile, overlap, batch)(hsi, x)
    if got.logits.shape != want.logits.shape:
        raise RuntimeInputError(
            f"logits: got {backend.name} {got.logits.shape}, expected {reference.name}'s "
            f"{want.logits.shape}"
        )
    return {
        "pixels": int(got.classes.size),
        "differing_pixels": int((got.classes != want.classes).sum()),
        "max_abs_logit_diff": float(np.abs(got.logits - want.logits).max()),
        "tiles": got.tiles,
        "backend_seconds": got.seconds,
        "reference_seconds": want.seconds,
    }


def border_lines(height: int, width: int, tile: int, overlap: int) -> tuple[list[int], list[int]]:
    """Interior tile borders of the grid SlidingWindow uses: (row boundaries, column boundaries), each the
    index of the first pixel after a border (a tile's start > 0 or its end < the scene size)."""
    th, tw = min(tile, height), min(tile, width)
    grid = TileGrid(height, width, th, tw, min(overlap, max(0, min(th, tw) - 1)))
    rows = sorted({r for r in grid.rows if r > 0} | {r + th for r in grid.rows if r + th < height})
    cols = sorted({c for c in grid.cols if c > 0} | {c + tw for c in grid.cols if c + tw < width})
    return rows, cols


def border_band(height: int, width: int, rows: list[int], cols: list[int], band: int) -> np.ndarray:
    """(H, W) bool: pixels within ``band`` pixels of a border line (``line - band <= i < line + band``)."""
    near_row = np.zeros(height, dtype=bool)
    near_col = np.zeros(width, dtype=bool)
    for line in rows:
        near_row[max(0, line - band) : line + band] = True
    for line in cols:
        near_col[max(0, line - band) : line + band] = True
    return near_row[:, None] | near_col[None, :]


def region_stats(agree: np.ndarray, diff: np.ndarray, mask: np.ndarray) -> dict:
    """Class agreement and logit difference (mean, 99th percentile) over the pixels of (H, W) ``mask``."""
    if not mask.any():
        return {
            "pixels": 0,
            "agreement": float("nan"),
            "mean_logit_diff": float("nan"),
            "p99_logit_diff": float("nan"),
        }
    return {
        "pixels": int(mask.sum()),
        "agreement": float(agree[mask].mean()),
        "mean_logit_diff": float(diff[mask].mean()),
        "p99_logit_diff": float(np.percentile(diff[mask], 99)),
    }


def seam_check(
    backend: Backend,
    hsi: np.ndarray,
    x: np.ndarray,
    tile: int,
    overlaps: list[int],
    batch: int,
    band: int,
) -> tuple[dict, dict]:
    """One full pass of hsi (bands, H, W), x (C, H, W) vs the tiled result for each overlap.

    Returns ({overlap: stats}, {overlap: (H, W) float32 max-over-classes |tiled - full| logits}); stats
    has overall / border-band / elsewhere agreement and logit differences, the border lines, and for context
    how many classes the full pass predicts, the share of the largest, and the median top-2 logit margin
    (the smaller it is, the more easily a small logit difference flips a class)."""
    height, width = hsi.shape[1:]
    start = time.perf_counter()
    full = backend.run(hsi[None], x[None])[0]  # (K, H, W)
    full_seconds = time.perf_counter() - start
    full_classes = label_raster(full)
    top2 = np.sort(full, axis=0)[-2:]
    context = {
        "full_pass_seconds": full_seconds,
        "classes_predicted": int(np.unique(full_classes).size),
        "largest_class_fraction": float(
            np.bincount(full_classes.ravel()).max() / full_classes.size
        ),
        "median_top2_margin": float(np.median(top2[1] - top2[0])),
    }
    stats, maps = {}, {}
    for overlap in overlaps:
        tiled = SlidingWindow(backend, tile, overlap, batch)(hsi, x)
        diff = np.abs(tiled.logits - full).max(axis=0)
        agree = tiled.classes == full_classes
        rows, cols = border_lines(height, width, tile, overlap)
        near = border_band(height, width, rows, cols, band)
        stats[overlap] = {
            "tiles": tiled.tiles,
            "border_rows": rows,
            "border_cols": cols,
            **context,
            "all": region_stats(agree, diff, np.ones_like(near)),
            "border_band": region_stats(agree, diff, near),
            "elsewhere": region_stats(agree, diff, ~near),
        }
        maps[overlap] = diff
    return stats, maps
