"""Whole-scene inference defaults: the one place each value is written
(CLI, demo, eval and training use these).

A static-shape model overrides the tile and batch with its own (see :func:`resolve_window`).
"""

from __future__ import annotations

from comix.data.geotiff_io import BLOCK
from comix.runtime.backend import ModelIO
from comix.tiles import DEFAULT_TILE, parse_tile

TILE = DEFAULT_TILE
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


def resolve_window(
    info: ModelIO,
    tile: int | tuple[int, int] | None = None,
    overlap: int | None = None,
    batch: int | None = None,
) -> tuple[tuple[int, int], int, int]:
    """(tile (H, W), overlap, batch) for a model: what was asked, else the model's fixed sizes, else defaults.

    ``tile`` may be an int (square) or (H, W)."""
    tile_hw = parse_tile(info.tile or (TILE, TILE) if tile is None else tile, minimum=-(2**31))
    overlap = default_overlap(min(tile_hw)) if overlap is None else overlap
    batch = batch if batch is not None else info.max_batch or BATCH
    return tile_hw, overlap, batch
