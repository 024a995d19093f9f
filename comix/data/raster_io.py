"""One entry point for every raster format: :func:`read_raster` dispatches on the format and returns
the array in a stated axis layout, which :func:`to_chw` turns into band-first ``(C, H, W)``;
:func:`open_raster` gives the same file as a :class:`~comix.data.windowed.WindowedRaster` read window by
window, with its nodata (scenes larger than memory).

Native layouts: MATLAB and NumPy arrays come as stored (MATLAB order for ``.mat`` of any version);
GeoTIFF and ENVI readers already return ``(C, H, W)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.data.envi_io import open_envi, read_envi
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.geotiff_io import open_geotiff, read_geotiff
from comix.data.mat_io import open_mat, read_mat
from comix.data.numpy_io import NpyRaster, read_npy, read_npz
from comix.data.windowed import ArrayRaster, WindowedRaster

FORMATS = ("mat", "geotiff", "envi", "npy", "npz")
_SUFFIX_TO_FORMAT = {
    ".mat": "mat",
    ".tif": "geotiff",
    ".tiff": "geotiff",
    ".hdr": "envi",
    ".img": "envi",
    ".dat": "envi",
    ".raw": "envi",
    ".bsq": "envi",
    ".bil": "envi",
    ".bip": "envi",
    ".npy": "npy",
    ".npz": "npz",
}
LAYOUTS = ("HWC", "CHW", "HW")
DEFAULT_LAYOUT = {"mat": "HWC", "npy": "HWC", "npz": "HWC", "geotiff": "CHW", "envi": "CHW"}


@dataclass
class RasterData:
    """What a file held.

    Attributes:
        array: the array in ``layout`` order.
        layout: ``"HWC"``, ``"CHW"`` or ``"HW"``.
        georef: georeference when the format carries one (GeoTIFF, ENVI), else ``None``.
        wavelengths_nm: per-band centres when the file carries them, else ``None``.
        path: the file read.
    """

    array: np.ndarray
    layout: str
    georef: GeoRef | None
    wavelengths_nm: np.ndarray | None
    path: Path


def infer_format(path: str | Path) -> str:
    """Format name from the file suffix; :class:`DataError` for an unknown suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIX_TO_FORMAT:
        return _SUFFIX_TO_FORMAT[suffix]
    if suffix == "" and Path(str(path) + ".hdr").is_file():
        return "envi"
    raise DataError(
        f"{path}: unknown raster format (suffix {suffix!r}), expected one of "
        f"{sorted(_SUFFIX_TO_FORMAT)} or a 'format' of {list(FORMATS)}"
    )


def _checked_source(path: str | Path, key: str | None, fmt: str | None) -> tuple[Path, str]:
    """``(path, format)`` of a raster to read, or a :class:`DataError` naming what is wrong with the request
    (unknown format, a MAT/NPZ file without a key, a missing file; an ENVI path may name the header)."""
    path = Path(path)
    fmt = fmt or infer_format(path)
    if fmt not in FORMATS:
        raise DataError(f"{path}: got format {fmt!r}, expected one of {list(FORMATS)}")
    if fmt in ("mat", "npz") and not key:
        raise DataError(f"{path}: a {fmt} file needs a 'key' naming the variable to read")
    if not path.exists() and fmt != "envi":
        raise DataError(f"{path}: file not found")
    return path, fmt


def read_raster(
    path: str | Path, key: str | None = None, fmt: str | None = None, layout: str | None = None
) -> RasterData:
    """Read one raster.

    Args:
        path: the file.
        key: variable name for ``.mat`` (struct paths like ``"hsi.Data"`` allowed) and ``.npz``.
        fmt: one of :data:`FORMATS`; inferred from the suffix when ``None``.
        layout: axis layout of the stored array for ``mat``/``npy``/``npz`` (default ``"HWC"``);
            GeoTIFF and ENVI are always ``"CHW"``.
    """
    path, fmt = _checked_source(path, key, fmt)
    georef = wavelengths = None
    if fmt == "mat":
        array = read_mat(path, key)
    elif fmt == "npy":
        array = read_npy(path)
    elif fmt == "npz":
        array = read_npz(path, key)
    elif fmt == "geotiff":
        array, georef, wavelengths = read_geotiff(path)
    else:
        array, georef, wavelengths = read_envi(path)
    if fmt in ("geotiff", "envi"):
        if layout not in (None, "CHW"):
            raise DataError(
                f"{path}: {fmt} rasters are read band-first, got layout {layout!r}, expected 'CHW' or none"
            )
        layout = "CHW"
    if layout is not None and layout not in LAYOUTS:
        raise DataError(f"{path}: got layout {layout!r}, expected one of {list(LAYOUTS)}")
    if layout == "HW" and array.ndim != 2:
        raise DataError(
            f"{path}: got layout 'HW' for an array of shape {array.shape} ({array.ndim} axes), expected "
            "HWC or CHW for a multi-band array"
        )
    layout = layout or DEFAULT_LAYOUT[fmt]
    if array.ndim == 2:
        layout = "HW"
    return RasterData(array, layout, georef, wavelengths, path)


def open_raster(
    path: str | Path,
    key: str | None = None,
    fmt: str | None = None,
    layout: str | None = None,
    nodata: float | None = None,
) -> WindowedRaster:
    """Open one raster for windowed reading, ``(C, H, W)`` windows whatever the stored layout.

    GeoTIFF, ENVI, ``.npy`` and MATLAB v7.3 are read window by window; a MATLAB v5 variable and a ``.npz``
    member cannot be and are read whole. ``nodata`` is a value that also means "no data" (for files that
    declare none; NaN / Inf always do). Arguments as :func:`read_raster`.
    """
    path, fmt = _checked_source(path, key, fmt)
    if fmt in ("geotiff", "envi") and layout not in (None, "CHW"):
        raise DataError(
            f"{path}: {fmt} rasters are read band-first, got layout {layout!r}, expected 'CHW' or none"
        )
    layout = layout or DEFAULT_LAYOUT[fmt]
    if layout not in LAYOUTS:
        raise DataError(f"{path}: got layout {layout!r}, expected one of {list(LAYOUTS)}")
    if fmt == "geotiff":
        raster = open_geotiff(path)
    elif fmt == "envi":
        raster = open_envi(path)
    elif fmt == "npy":
        raster = NpyRaster(path, layout)
    elif fmt == "mat":
        raster = open_mat(path, key, layout)
    else:
        raster = ArrayRaster(read_npz(path, key), layout, path)
    raster.add_nodata(nodata, "--nodata")
    return raster


def to_chw(raster: RasterData) -> np.ndarray:
    """The raster as ``(C, H, W)`` (a 2-D raster becomes ``(1, H, W)``)."""
    array, layout = raster.array, raster.layout
    if layout not in LAYOUTS:
        raise DataError(f"{raster.path}: got layout {layout!r}, expected one of {list(LAYOUTS)}")
    expected_ndim = 2 if layout == "HW" else 3
    if array.ndim != expected_ndim:
        raise DataError(
            f"{raster.path}: array shape {array.shape} has {array.ndim} axes, expected "
            f"{expected_ndim} for layout {layout}"
        )
    if layout == "HW":
        return array[None]
    if layout == "HWC":
        return np.moveaxis(array, -1, 0)
    return array


def to_hw(raster: RasterData, what: str = "label raster") -> np.ndarray:
    """A single-channel raster as ``(H, W)``; :class:`DataError` if it has several channels."""
    chw = to_chw(raster)
    if chw.shape[0] != 1:
        raise DataError(
            f"{raster.path}: {what} has {chw.shape[0]} channels (shape {raster.array.shape}, "
            f"layout {raster.layout}), expected 1"
        )
    return chw[0]
