"""The one tile vocabulary: what ``--tile`` means in every command.

A tile is ``(height, width)`` in pixels everywhere in the code. On the command line (every command that has
``--tile``): ``S`` is an S x S tile, ``HxW`` is H rows by W columns (``128``, ``128x96``).
``comix build`` also takes a range for a TensorRT profile, ``MIN:OPT:MAX`` of those (``64:128:256``,
``64x64:96x128:128x256``), and ``comix profile`` takes the option several times for a sweep. Left
out, the tile is the model's own (a graph or engine built for one tile size) or else :data:`DEFAULT_TILE`.

    parse_tile("128x96")            # (128, 96)
    parse_tile_range("64:128:256")  # ((64, 64), (128, 128), (256, 256))
    format_tile((128, 128))         # "128"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from comix.errors import BadInputError

Tile = tuple[int, int]
DEFAULT_TILE = 128  # the runtime's tile when the model fixes none (comix.runtime.defaults.TILE)
HELP = (
    "Tile in pixels: S (S x S) or HxW (H rows, W columns); default: the model's own tile if it has one, "
    f"else {DEFAULT_TILE}."
)
_SIZE = re.compile(r"(\d+)(?:[x×](\d+))?")


def _bad(option: str, text: object, ranges: bool) -> BadInputError:
    expected = "S or HxW (e.g. 128 or 128x96)"
    if ranges:
        expected += ", or MIN:OPT:MAX of those (e.g. 64:128:256)"
    return BadInputError(f"{option}: got {text!r}, expected {expected}")


def parse_tile(text: str | int | Sequence[int], option: str = "--tile", minimum: int = 1) -> Tile:
    """``"128"`` / ``128`` -> (128, 128); ``"128x96"`` / ``(128, 96)`` -> (128, 96). Refuses anything else,
    and sizes below ``minimum``, in one sentence naming ``option``."""
    if isinstance(text, int) and not isinstance(text, bool):
        tile = (text, text)
    elif (
        isinstance(text, (tuple, list)) and len(text) == 2 and all(isinstance(v, int) for v in text)
    ):
        tile = (int(text[0]), int(text[1]))
    else:
        match = _SIZE.fullmatch(str(text).strip().lower())
        if match is None:
            raise _bad(option, text, ranges=False)
        tile = (int(match.group(1)), int(match.group(2) or match.group(1)))
    if min(tile) < minimum:
        raise BadInputError(
            f"{option}: got {format_tile(tile)}, expected at least {minimum} pixels on each side"
        )
    return tile


def parse_tile_range(text: str, option: str = "--tile") -> tuple[Tile, Tile, Tile]:
    """``S``, ``HxW`` or ``MIN:OPT:MAX`` of those -> (min, opt, max) tiles (a fixed tile gives three equal
    ones); refuses a range whose sides are not ordered min <= opt <= max."""
    parts = str(text).strip().split(":")
    if len(parts) not in (1, 3):
        raise _bad(option, text, ranges=True)
    try:
        tiles = [parse_tile(part, option) for part in parts]
    except BadInputError:
        raise _bad(option, text, ranges=True) from None
    if len(tiles) == 1:
        return tiles[0], tiles[0], tiles[0]
    low, opt, high = tiles
    for axis, name in ((0, "height"), (1, "width")):
        if not low[axis] <= opt[axis] <= high[axis]:
            raise BadInputError(
                f"{option}: got {text!r}, expected MIN <= OPT <= MAX for the {name} "
                f"(got {low[axis]}, {opt[axis]}, {high[axis]})"
            )
    return low, opt, high


def format_tile(tile: Sequence[int]) -> str:
    """(128, 128) -> "128"; (128, 96) -> "128x96"."""
    height, width = int(tile[0]), int(tile[1])
    return str(height) if height == width else f"{height}x{width}"
