"""Georeference carried alongside a raster so outputs can be written back georeferenced.

The affine transform uses the rasterio / ``affine`` coefficient order ``(a, b, c, d, e, f)``:
``x_map = a * col + b * row + c`` and ``y_map = d * col + e * row + f``, where ``(col, row)`` is the
top-left corner of a pixel. ``c, f`` are thus the map coordinates of the top-left corner of the
raster, ``a`` the pixel width and ``e`` the (usually negative) pixel height.
"""

from __future__ import annotations

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
