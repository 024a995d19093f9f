"""Tile grid and blending window for whole-scene sliding-window inference.

Tiles are ``(tile_h, tile_w)`` with ``overlap`` pixels shared between neighbours; the last tile of a
row/column is moved back to end at the scene edge, so every pixel is covered and every tile has the
same shape (tiles batch together). A scene smaller than a tile is padded (edge values) up to one tile.

Blending: each tile's logits are weighted by a separable window and the weighted sum is divided by the
summed weights. Per axis the window is 1 in the middle and, on a side facing a neighbour, rises from
``floor`` over ``overlap`` pixels: the first ``margin`` pixels (where a tile lacks context the full
scene has) stay at ``floor``, then a raised-cosine (Hann) ramp to 1. Sides on the scene edge are flat 1,
so edge pixels keep full weight. ``floor > 0`` keeps every covered pixel's weight positive (no gaps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comix.errors import BadInputError
from comix.runtime.errors import RuntimeInputError

DEFAULT_FLOOR = 1e-3


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis of length ``size`` (already padded to >= ``tile``)."""
    if size < tile:
        raise BadInputError(
            f"axis size {size} is smaller than the tile {tile}; pad the scene first"
        )
    stride = tile - overlap
    starts = list(range(0, size - tile + 1, stride))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts


def ramp(length: int, overlap: int, margin: int, floor: float) -> np.ndarray:
    """Rising edge of the window: (length,) float64, ``floor`` for ``margin`` pixels, Hann ramp to 1."""
    window = np.ones(length, dtype=np.float64)
    rise = max(overlap - margin, 1)
    for i in range(min(overlap, length)):
        if i < margin:
            window[i] = floor
        else:
            window[i] = floor + (1 - floor) * 0.5 * (1 - np.cos(np.pi * (i - margin + 0.5) / rise))
    return window


def axis_window(
    length: int, overlap: int, margin: int, floor: float, taper_begin: bool, taper_end: bool
) -> np.ndarray:
    """Window along one axis of a tile; taper only the sides that face a neighbouring tile."""
    window = np.ones(length, dtype=np.float64)
    edge = ramp(length, overlap, margin, floor)
    if taper_begin:
        window = np.minimum(window, edge)
    if taper_end:
        window = np.minimum(window, edge[::-1])
    return window


def random_tiles(
    hsi: np.ndarray, x: np.ndarray, tile: tuple[int, int], count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` tiles cut at seeded random places of a scene: hsi (N, bands, th, tw), x (N, C, th, tw)
    float32 from hsi (bands, H, W) and x (C, H, W); a scene smaller than the tile is edge-padded to it. What
    ``comix compare`` and ``comix profile`` run (one cutter for both)."""
    if count < 1:
        raise RuntimeInputError(f"--tiles: got {count}, expected >= 1")
    th, tw = tile
    height, width = hsi.shape[1:]
    if height < th or width < tw:
        pad = ((0, 0), (0, max(0, th - height)), (0, max(0, tw - width)))
        hsi, x = np.pad(hsi, pad, mode="edge"), np.pad(x, pad, mode="edge")
        height, width = hsi.shape[1:]
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, height - th + 1, count)
    cols = rng.integers(0, width - tw + 1, count)
    cut = [(slice(None), slice(r, r + th), slice(c, c + tw)) for r, c in zip(rows, cols)]
    return (
        np.stack([hsi[s] for s in cut]).astype(np.float32),
        np.stack([x[s] for s in cut]).astype(np.float32),
    )


@dataclass(frozen=True)
class Tile:
    top: int
    left: int


@dataclass
class TileGrid:
    """All tiles of a (height, width) scene (sizes after padding to at least one tile)."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    overlap: int
    margin: int | None = None
    floor: float = DEFAULT_FLOOR

    def __post_init__(self) -> None:
        for name, value in (("tile height", self.tile_h), ("tile width", self.tile_w)):
            if value < 1:
                raise RuntimeInputError(f"{name}: got {value}, expected >= 1")
        if not 0 <= self.overlap < min(self.tile_h, self.tile_w):
            raise RuntimeInputError(
                f"overlap: got {self.overlap}, expected 0 <= overlap < tile size "
                f"{min(self.tile_h, self.tile_w)}"
            )
        if not 0 < self.floor <= 1:
            raise RuntimeInputError(f"window floor: got {self.floor}, expected 0 < floor <= 1")
        if self.margin is None:
            self.margin = self.overlap // 4
        self.rows = tile_starts(self.padded_height, self.tile_h, self.overlap)
        self.cols = tile_starts(self.padded_width, self.tile_w, self.overlap)

    @property
    def padded_height(self) -> int:
        return max(self.height, self.tile_h)

    @property
    def padded_width(self) -> int:
        return max(self.width, self.tile_w)

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)

    def tiles(self) -> list[Tile]:
        return [Tile(top, left) for top in self.rows for left in self.cols]

    def window(self, tile: Tile) -> np.ndarray:
        """(tile_h, tile_w) float32 blending weights of one tile."""
        rows = axis_window(
            self.tile_h,
            self.overlap,
            self.margin,
            self.floor,
            taper_begin=tile.top > 0,
            taper_end=tile.top + self.tile_h < self.padded_height,
        )
        cols = axis_window(
            self.tile_w,
            self.overlap,
            self.margin,
            self.floor,
            taper_begin=tile.left > 0,
            taper_end=tile.left + self.tile_w < self.padded_width,
        )
        return np.outer(rows, cols).astype(np.float32)
