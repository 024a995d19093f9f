"""Whole-scene inference defaults: the one place each value is written (CLI, demo, eval and training use these).

A static-shape model overrides the tile and batch with its own (see :func:`resolve_window`).
"""

from __future__ import annotations

from comix.data.geotiff_io import BLOCK
from comix.runtime.backend import ModelIO

TILE = 128
BATCH = 4
NODATA_FILL = "nearest"  # what nodata pixels are filled with for the model: comix.runtime.nodata
# Scenes wider than this are run in vertical strips of at most this many columns (comix.runtime.streaming),
# so the blending band, and with it peak memory, does not grow with the scene. A multiple of the products'
# GeoTIFF tile (BLOCK): strip edges fall on tile edges. 2048 px: the band of a 15-class model is ~17 MB and
# at tile 128 / overlap 48 one tile column in ~25 is run twice (the one across each strip edge).
STRIP_WIDTH = 8 * BLOCK
STRIP_ALIGN = BLOCK


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


def resolve_window(
    info: ModelIO,
    tile: int | tuple[int, int] | None = None,
    overlap: int | None = None,
    batch: int | None = None,
) -> tuple[tuple[int, int], int, int]:
    """(tile (H, W), overlap, batch) for a model: what was asked, else the model's fixed sizes, else defaults.

    ``tile`` may be an int (square) or (H, W)."""
    if tile is None:
        tile = info.tile or (TILE, TILE)
    tile_hw = (tile, tile) if isinstance(tile, int) else (int(tile[0]), int(tile[1]))
    overlap = default_overlap(min(tile_hw)) if overlap is None else overlap
    batch = batch if batch is not None else info.max_batch or BATCH
    return tile_hw, overlap, batch
