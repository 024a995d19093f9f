"""Georeference carried alongside a raster so outputs can be written back georeferenced.

The affine transform uses the rasterio / ``affine`` coefficient order ``(a, b, c, d, e, f)``:
``x_map = a * col + b * row + c`` and ``y_map = d * col + e * row + f``, where ``(col, row)`` is the
top-left corner of a pixel. ``c, f`` are thus the map coordinates of the top-left corner of the
raster, ``a`` the pixel width and ``e`` the (usually negative) pixel height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from comix.data.errors import DataError


@dataclass(frozen=True)
class GeoRef:
    """Where a raster lies on Earth.

    Attributes:
        transform: affine coefficients ``(a, b, c, d, e, f)``, see the module docstring.
        crs: the coordinate reference system as ``"EPSG:<code>"`` or WKT; ``None`` if unknown.
    """

    transform: tuple[float, float, float, float, float, float]
    crs: str | None = None

    def __post_init__(self) -> None:
        if len(self.transform) != 6:
            raise DataError(
                f"GeoRef.transform: got {len(self.transform)} coefficients, expected 6 (a, b, c, d, e, f)"
            )
        object.__setattr__(self, "transform", tuple(float(v) for v in self.transform))

    @classmethod
    def from_origin(
        cls,
        west: float,
        north: float,
        pixel_width: float,
        pixel_height: float,
        crs: str | None = None,
    ) -> GeoRef:
        """North-up raster whose top-left corner is at ``(west, north)``; pixel sizes are positive."""
        return cls((pixel_width, 0.0, west, 0.0, -pixel_height, north), crs)

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(pixel width, pixel height) in map units, both positive for a north-up raster."""
        return abs(self.transform[0]), abs(self.transform[4])

    def to_dict(self) -> dict:
        """Plain form for YAML / JSON."""
        return {"transform": list(self.transform), "crs": self.crs}

    @classmethod
    def from_dict(cls, data: dict) -> GeoRef:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["transform"]), data.get("crs"))


# Two rasters are on the same grid when their CRS is the same and every corner of the H x W grid maps to the
# same place within this fraction of a pixel (the first raster's smaller pixel side): tight enough to refuse
# any real misregistration (a shift of one pixel is 100 times this), loose enough for the rounding of
# coordinates written as text (ENVI headers) or as float32 tags.
GRID_TOLERANCE_PIXELS = 0.01


def same_crs(first: str | None, second: str | None) -> bool | None:
    """Whether two CRS texts name the same CRS: True / False, or None when it cannot be told here (one is
    unknown, or they are spelled differently and rasterio, which would compare them, is not installed)."""
    if first is None or second is None:
        return None
    if first == second:
        return True
    try:
        from rasterio.crs import CRS
    except ImportError:
        both_epsg = all(text.upper().startswith("EPSG:") for text in (first, second))
        return False if both_epsg else None
    try:
        return CRS.from_user_input(first) == CRS.from_user_input(second)
    except Exception:  # an unparsable CRS text: compared as text, and they differ
        return False


def _corners(georef: GeoRef, height: int, width: int) -> list[tuple[float, float]]:
    a, b, c, d, e, f = georef.transform
    return [
        (a * col + b * row + c, d * col + e * row + f) for row in (0, height) for col in (0, width)
    ]


def grid_mismatch(
    first: GeoRef | None, second: GeoRef | None, height: int, width: int
) -> str | None:
    """Why two ``height x width`` rasters with these georeferences are not on the same grid (a phrase), or
    None when they are, or when one has no georeference (nothing to compare)."""
    if first is None or second is None:
        return None
    if same_crs(first.crs, second.crs) is False:
        return f"its CRS is {second.crs}, expected {first.crs}"
    pixel = min(first.pixel_size) or 1.0
    pairs = zip(_corners(first, height, width), _corners(second, height, width))
    worst = max(math.hypot(x1 - x2, y1 - y2) for (x1, y1), (x2, y2) in pairs)
    if worst <= GRID_TOLERANCE_PIXELS * pixel:
        return None
    return (
        f"its top-left corner is at ({_number(second.transform[2])}, {_number(second.transform[5])}), "
        f"expected ({_number(first.transform[2])}, {_number(first.transform[5])}), and its corners lie up "
        f"to {_number(worst)} map units ({_number(worst / pixel)} pixels) from the reference's "
        f"(tolerance {GRID_TOLERANCE_PIXELS:g} pixel)"
    )


def _number(value: float) -> str:
    """12500.0 -> "12500", 0.125 -> "0.13": map coordinates as people write them."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def check_same_grid(
    reference: str, first: GeoRef | None, other: str, second: GeoRef | None, height: int, width: int
) -> None:
    """Refuse (:class:`DataError`) a raster ``other`` that is not on ``reference``'s grid (same CRS and
    transform within :data:`GRID_TOLERANCE_PIXELS`); rasters without a georeference are not compared."""
    why = grid_mismatch(first, second, height, width)
    if why is not None:
        raise DataError(
            f"{other}: not on the grid of {reference}: {why}; co-registered rasters share one transform "
            "and CRS (reproject or resample it onto that grid first)"
        )
