"""ENVI rasters: a text header (``.hdr``) beside a raw binary file, read into ``(bands, H, W)``.

Supports data types 1, 2, 3, 4, 5, 12, 13, 14, 15, interleaves ``bsq``, ``bil``, ``bip``, both byte
orders, ``header offset``, ``wavelength`` (+ ``wavelength units``), ``map info`` (north-up, with an
optional ``coordinate system string``) and ``data ignore value`` (the nodata value, see
:mod:`comix.data.windowed`). The raw file is memory-mapped and its size checked against the header, so a
truncated file is reported, not silently padded; :class:`EnviRaster` reads it window by window.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.windowed import ArrayRaster, ArrayShape

ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}
_UNIT_TO_NM = {
    "nanometers": 1.0,
    "nm": 1.0,
    "micrometers": 1000.0,
    "microns": 1000.0,
    "um": 1000.0,
    "millimeters": 1e6,
    "mm": 1e6,
}


def header_and_data_paths(path: str | Path) -> tuple[Path, Path]:
    """Given either the ``.hdr`` or the data file, return ``(header_path, data_path)``."""
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        header = path
        candidates = [
            path.with_suffix(ext) for ext in ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip")
        ]
    else:
        header = path.with_name(path.name + ".hdr")
        if not header.is_file():
            header = path.with_suffix(".hdr")
        candidates = [path]
    if not header.is_file():
        raise DataError(
            f"{path}: no ENVI header found (looked for {header.name}), expected a .hdr beside the data"
        )
    for candidate in candidates:
        if candidate.is_file() and candidate != header:
            return header, candidate
    raise DataError(
        f"{header}: no ENVI data file beside it, expected one of {[c.name for c in candidates]}"
    )


def parse_envi_header(path: Path) -> dict[str, str]:
    """Header fields as lower-case names -> raw text values (braces kept for lists)."""
    text = Path(path).read_text(errors="replace")
    if not text.lstrip().startswith("ENVI"):
        raise DataError(
            f"{path}: first line is {text.splitlines()[0][:40] if text else ''!r}, expected 'ENVI'"
        )
    fields: dict[str, str] = {}
    for match in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, flags=re.MULTILINE):
        fields[match.group(1).strip().lower()] = match.group(2).strip()
    return fields


def _list_field(value: str) -> list[str]:
    return [item.strip() for item in value.strip().strip("{}").split(",") if item.strip()]


def _int_field(fields: dict, name: str, header: Path, default: int | None = None) -> int:
    if name not in fields:
        if default is not None:
            return default
        raise DataError(
            f"{header}: header has no '{name}' field, expected it (fields present: {sorted(fields)})"
        )
    try:
        return int(fields[name])
    except ValueError as error:
        raise DataError(f"{header}: '{name} = {fields[name]}', expected an integer") from error


@dataclass(frozen=True)
class _EnviLayout:
    """Where and how the pixels of an ENVI image lie in its raw file."""

    header: Path
    data_path: Path
    fields: dict
    dtype: np.dtype
    offset: int
    stored_shape: tuple[int, int, int]
    axes: str  # stored axis order: CHW (bsq), HCW (bil), HWC (bip)
    bands: int
    samples: int


def _layout(path: str | Path) -> _EnviLayout:
    header, data_path = header_and_data_paths(path)
    fields = parse_envi_header(header)
    samples, lines = _int_field(fields, "samples", header), _int_field(fields, "lines", header)
    bands = _int_field(fields, "bands", header)
    offset = _int_field(fields, "header offset", header, default=0)
    data_type = _int_field(fields, "data type", header)
    if data_type not in ENVI_DTYPES:
        raise DataError(f"{header}: data type {data_type}, expected one of {sorted(ENVI_DTYPES)}")
    interleave = fields.get("interleave", "bsq").lower()
    shapes = {
        "bsq": (bands, lines, samples),
        "bil": (lines, bands, samples),
        "bip": (lines, samples, bands),
    }
    if interleave not in shapes:
        raise DataError(f"{header}: interleave {interleave!r}, expected bsq, bil or bip")
    byte_order = _int_field(fields, "byte order", header, default=0)
    dtype = np.dtype(("<" if byte_order == 0 else ">") + ENVI_DTYPES[data_type])
    expected = offset + samples * lines * bands * dtype.itemsize
    size = data_path.stat().st_size
    if size < expected:
        raise DataError(
            f"{data_path}: {size} bytes, expected {expected} for {bands} bands x {lines} lines x "
            f"{samples} samples of {dtype.name} (+{offset} header bytes): truncated file?"
        )
    return _EnviLayout(
        header,
        data_path,
        fields,
        dtype,
        offset,
        shapes[interleave],
        {"bsq": "CHW", "bil": "HCW", "bip": "HWC"}[interleave],
        bands,
        samples,
    )


def _ignore_value(fields: dict, header: Path) -> float | None:
    """The header's ``data ignore value`` (ENVI's nodata), None when absent."""
    if "data ignore value" not in fields:
        return None
    try:
        return float(fields["data ignore value"])
    except ValueError:
        raise DataError(
            f"{header}: 'data ignore value = {fields['data ignore value']}', expected a number"
        ) from None


def read_envi(path: str | Path) -> tuple[np.ndarray, GeoRef | None, np.ndarray | None]:
    """Read an ENVI image.

    Returns:
        ``(array (bands, H, W) in the file's dtype, georef or None, wavelengths_nm (bands,) or None)``.
        For an ENVI Spectral Library the array is ``(1, spectra, wavelengths)`` and the wavelengths
        are per sample.
    """
    layout = _layout(path)
    raw = np.memmap(
        layout.data_path,
        dtype=layout.dtype,
        mode="r",
        offset=layout.offset,
        shape=layout.stored_shape,
    )
    array = raw.transpose([layout.axes.index(axis) for axis in "CHW"])
    array = np.array(array, dtype=layout.dtype.newbyteorder("="))
    fields, header = layout.fields, layout.header
    # a spectral library is one "band" of spectra (lines) x wavelengths (samples)
    per_sample = "spectral library" in fields.get("file type", "").lower()
    wavelengths = _wavelengths_from_header(
        fields, header, layout.samples if per_sample else layout.bands
    )
    return array, _georef_from_header(fields, header), wavelengths


class EnviRaster(ArrayRaster):
    """An ENVI image read window by window from a memory map that is opened for each read and closed
    after, so the pages read do not stay in this process's memory. Nodata: ``data ignore value``."""

    def __init__(self, path: str | Path) -> None:
        layout = _layout(path)
        self.layout = layout
        ignore = _ignore_value(layout.fields, layout.header)
        super().__init__(
            ArrayShape(layout.stored_shape, layout.dtype),
            layout.axes,
            layout.data_path,
            _georef_from_header(layout.fields, layout.header),
            _wavelengths_from_header(layout.fields, layout.header, layout.bands),
            nodata=() if ignore is None else (ignore,),
            nodata_sources=() if ignore is None else (f"ENVI data ignore value {ignore:g}",),
        )

    @contextlib.contextmanager
    def _array(self):
        layout = self.layout
        mapped = np.memmap(
            layout.data_path,
            dtype=layout.dtype,
            mode="r",
            offset=layout.offset,
            shape=layout.stored_shape,
        )
        try:
            yield mapped
        finally:
            mapped._mmap.close()  # unmap now: resident pages go with it
            del mapped


def open_envi(path: str | Path) -> EnviRaster:
    """An :class:`EnviRaster` for the header or the data file (clear :class:`DataError` when malformed)."""
    return EnviRaster(path)


def _wavelengths_from_header(fields: dict, header: Path, bands: int) -> np.ndarray | None:
    if "wavelength" not in fields:
        return None
    try:
        values = np.asarray([float(v) for v in _list_field(fields["wavelength"])], dtype=np.float64)
    except ValueError as error:
        raise DataError(f"{header}: wavelength list is not numeric: {error}") from error
    if values.size != bands:
        raise DataError(
            f"{header}: {values.size} wavelengths for {bands} bands, expected one per band"
        )
    units = fields.get("wavelength units", "").strip().lower()
    if units in _UNIT_TO_NM:
        return values * _UNIT_TO_NM[units]
    return values * 1000.0 if values.max() < 30.0 else values  # unitless: micrometres if small


def _georef_from_header(fields: dict, header: Path) -> GeoRef | None:
    if "map info" not in fields:
        return None
    items = _list_field(fields["map info"])
    try:
        ref_col, ref_row, map_x, map_y, size_x, size_y = (float(v) for v in items[1:7])
    except (ValueError, IndexError) as error:
        raise DataError(
            f"{header}: map info {fields['map info']!r}, expected "
            "{proj, ref col, ref row, x, y, pixel x, pixel y, ...}"
        ) from error
    rotation = next(
        (float(i.split("=")[1]) for i in items if i.lower().startswith("rotation=")), 0.0
    )
    if rotation != 0.0:
        raise DataError(
            f"{header}: map info rotation={rotation}, expected a north-up raster (rotation 0)"
        )
    west = map_x - (ref_col - 1.0) * size_x  # ENVI reference pixel is 1-based
    north = map_y + (ref_row - 1.0) * size_y
    crs = None
    if "coordinate system string" in fields:
        crs = fields["coordinate system string"].strip().strip("{}").strip()
    elif items[0].strip().upper() == "UTM" and len(items) >= 9:
        zone, hemisphere = int(items[7]), items[8].strip().lower()
        datum = items[9].strip().upper() if len(items) > 9 else "WGS-84"
        if datum in ("WGS-84", "WGS84"):
            crs = f"EPSG:{(32600 if hemisphere.startswith('n') else 32700) + zone}"
    return GeoRef.from_origin(west, north, size_x, size_y, crs)


def write_envi(
    path: str | Path,
    array: np.ndarray,
    wavelengths_nm=None,
    georef: GeoRef | None = None,
    interleave: str = "bsq",
    description: str = "written by comix.data",
    ignore_value: float | None = None,
) -> Path:
    """Write ``array`` (bands, H, W) as ``path`` (raw) + ``path.hdr``; each file atomic. Returns the
    header path. ``ignore_value`` is written as ``data ignore value`` (ENVI's nodata)."""
    path = Path(path)
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise DataError(
            f"write_envi({path}): got array shape {array.shape}, expected (bands, H, W)"
        )
    codes = {np.dtype(v).str[1:]: k for k, v in ENVI_DTYPES.items()}
    if array.dtype.str[1:] not in codes:
        raise DataError(
            f"write_envi({path}): got dtype {array.dtype}, expected one of {sorted(codes)}"
        )
    order = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (1, 2, 0)}
    if interleave not in order:
        raise DataError(
            f"write_envi({path}): got interleave {interleave!r}, expected bsq, bil or bip"
        )
    bands, lines, samples = array.shape
    lines_out = [
        "ENVI",
        f"description = {{{description}}}",
        f"samples = {samples}",
        f"lines = {lines}",
        f"bands = {bands}",
        "header offset = 0",
        "file type = ENVI Standard",
        f"data type = {codes[array.dtype.str[1:]]}",
        f"interleave = {interleave}",
        f"byte order = {0 if array.dtype.byteorder in '<=|' else 1}",
    ]
    if ignore_value is not None:
        lines_out.append(f"data ignore value = {float(ignore_value):g}")
    if wavelengths_nm is not None:
        lines_out += [
            "wavelength units = Nanometers",
            "wavelength = {" + ", ".join(f"{float(w):.4f}" for w in wavelengths_nm) + "}",
        ]
    if georef is not None:
        a, _, c, _, e, f = georef.transform
        lines_out.append(
            f"map info = {{Arbitrary, 1, 1, {c!r}, {f!r}, {abs(a)!r}, {abs(e)!r}, units=Meters}}"
        )
        if georef.crs:
            lines_out.append(f"coordinate system string = {{{georef.crs}}}")
    with atomic_path(path, make_parents=True) as temp:
        np.ascontiguousarray(array.transpose(order[interleave])).tofile(temp)
    header = path.with_name(path.name + ".hdr")
    with atomic_path(header, make_parents=True) as temp:
        temp.write_text("\n".join(lines_out) + "\n")
    return header
