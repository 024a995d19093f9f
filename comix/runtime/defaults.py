"""Whole-scene inference defaults: the one place each value is written (CLI, demo, eval and training use these).

A static-shape model overrides the tile and batch with its own (see :func:`resolve_window`).
"""

from __future__ import annotations

from comix.runtime.backend import ModelIO

TILE = 128
BATCH = 4
NODATA_FILL = "nearest"  # what nodata pixels are filled with for the model: comix.runtime.nodata


def default_overlap(tile: int) -> int:
    """Overlap used when none is given: 3/8 of the tile (48 px at 128). Measured on a Houston-sized scene
    (docs/export.md, "Scene-scale checks"): from 48 px at tile 128 the class agreement within 8 px of tile
    borders equals that elsewhere; at 32 px it was up to 7 points lower for a model with near-tied classes."""
    return (3 * tile) // 8


def default_fusion_overlap(tile: int) -> int:
    """Overlap of fusion (SHIP) tiles when none is given: 1/4 of the tile (32 px at 128). SHIP's Fourier product is a
    circular convolution over the tile, so pixels near a tile border see the opposite border's content; the
    measurement in docs/ship.md ("Tiles and the circular convolution") chose this value."""
    return tile // 4


def resolve_window(info: ModelIO, tile: int | tuple[int, int] | None = None, overlap: int | None = None,
                   batch: int | None = None) -> tuple[tuple[int, int], int, int]:
    """(tile (H, W), overlap, batch) for a model: what was asked, else the model's fixed sizes, else defaults.

    ``tile`` may be an int (square) or (H, W)."""
    if tile is None:
        tile = info.tile or (TILE, TILE)
    tile_hw = (tile, tile) if isinstance(tile, int) else (int(tile[0]), int(tile[1]))
    overlap = default_overlap(min(tile_hw)) if overlap is None else overlap
    batch = batch if batch is not None else info.max_batch or BATCH
    return tile_hw, overlap, batch
