"""Windowed rasters: read ``(C, h, w)`` pieces of a scene without loading it whole, and say which pixels
hold no data.

    with open_raster("hsi.tif") as raster:          # comix.data.raster_io.open_raster: any format
        raster.shape                                 # (C, H, W)
        block, valid = raster.read(Window(0, 0, 128, 128))   # (C, h, w) float32, (h, w) bool

What "no data" is (one rule for every format, :func:`valid_pixels`): a pixel is valid when every one of
its values is finite (no NaN / Inf anywhere), none equals a declared nodata value (the format's own —
GeoTIFF nodata tag, ENVI ``data ignore value`` — and/or one given by the user), and the format's mask
(GeoTIFF internal mask / alpha) marks it valid. The rule is conservative on purpose: a pixel with one
missing band is not a measurement the model was trained on.

Each format module owns its windowed reader (``geotiff_io``, ``envi_io``, ``numpy_io``, ``mat_io``);
:class:`ArrayRaster` is the shared part for anything that slices like a NumPy array (in-memory arrays,
memory maps, HDF5 datasets), in any stored axis order.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef, check_same_grid


@dataclass(frozen=True)
class Window:
    """Rows ``row .. row + height`` and columns ``col .. col + width`` of a raster."""

    row: int
    col: int
    height: int
    width: int

    @property
    def rows(self) -> slice:
        return slice(self.row, self.row + self.height)

    @property
    def cols(self) -> slice:
        return slice(self.col, self.col + self.width)

    def __str__(self) -> str:
        return (
            f"rows {self.row}-{self.row + self.height}, columns {self.col}-{self.col + self.width}"
        )

    def clip(self, height: int, width: int) -> Window:
        """The part of this window inside a ``height x width`` raster (may be empty)."""
        row, col = max(self.row, 0), max(self.col, 0)
        return Window(
            row,
            col,
            max(0, min(self.row + self.height, height) - row),
            max(0, min(self.col + self.width, width) - col),
        )


def nodata_values(*values: float | None) -> tuple[float, ...]:
    """The distinct declared nodata values (None dropped; NaN kept once: NaN is always nodata anyway)."""
    found: list[float] = []
    for value in values:
        if value is None:
            continue
        value = float(value)
        if math.isnan(value):
            continue  # non-finite values are always nodata
        if value not in found:
            found.append(value)
    return tuple(found)


def valid_pixels(
    block: np.ndarray, nodata: Sequence[float] = (), mask: np.ndarray | None = None
) -> np.ndarray:
    """(h, w) bool for a (C, h, w) block in its stored dtype: every value finite and none equal to a
    ``nodata`` value, and ``mask`` (h, w) true where given. See the module doc."""
    if block.dtype.kind == "f":
        valid = np.isfinite(block).all(axis=0)
    else:
        valid = np.ones(block.shape[1:], dtype=bool)
    for value in nodata:
        if block.dtype.kind in "iu" and (value != int(value) or not _fits(value, block.dtype)):
            continue  # an integer raster cannot hold it
        valid &= (block != np.asarray(value).astype(block.dtype)).all(axis=0)
    if mask is not None:
        valid &= mask
    return valid


def _fits(value: float, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return info.min <= value <= info.max


class WindowedRaster(ABC):
    """A ``(C, H, W)`` raster read window by window (subclasses implement :meth:`_read`).

    Attributes:
        path: the file (None for an in-memory array).
        shape: (C, H, W).
        georef, wavelengths_nm: as the format carries them, else None.
        nodata: declared nodata values (format and user), see :func:`nodata_values`.
        nodata_sources: where each came from, for reports ("GeoTIFF nodata tag", "--nodata", ...).
    """

    path: Path | None = None
    shape: tuple[int, int, int]
    dtype: np.dtype
    georef: GeoRef | None = None
    wavelengths_nm: np.ndarray | None = None
    nodata: tuple[float, ...] = ()
    nodata_sources: tuple[str, ...] = ()

    @abstractmethod
    def _read(self, window: Window) -> np.ndarray:
        """(C, h, w) in the stored dtype for a window inside the raster (a copy, not a view of a map)."""

    def _mask(self, window: Window) -> np.ndarray | None:
        """(h, w) bool of the format's own validity mask, None when it has none."""
        return None

    def add_nodata(self, value: float | None, source: str) -> None:
        """Also treat ``value`` as nodata (a user's ``--nodata``); None does nothing."""
        if value is None:
            return
        merged = nodata_values(*self.nodata, value)
        if merged != self.nodata or math.isnan(float(value)):
            self.nodata = merged
            self.nodata_sources = (*self.nodata_sources, f"{source} {value}")

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """``(block (C, h, w) float32, valid (h, w) bool)`` for ``window`` (which must lie inside)."""
        height, width = self.shape[1:]
        if window.clip(height, width) != window or window.height < 1 or window.width < 1:
            raise DataError(
                f"{self.label}: window {window} is not inside the {height} x {width} raster"
            )
        native = self._read(window)
        valid = valid_pixels(native, self.nodata, self._mask(window))
        return native.astype(np.float32, copy=False), valid

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole raster: ``(C, H, W) float32, (H, W) bool``."""
        return self.read(Window(0, 0, self.shape[1], self.shape[2]))

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "array"

    def close(self) -> None:  # noqa: B027 - a no-op by default, not abstract
        """Release the file (a no-op for arrays)."""

    def __enter__(self) -> WindowedRaster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class ArrayShape:
    """Shape and dtype of an array that a subclass of :class:`ArrayRaster` opens only when it reads."""

    shape: tuple[int, ...]
    dtype: np.dtype


STORED_AXES = ("CHW", "HWC", "HW", "HCW", "CWH", "WHC", "WH", "WCH")


class ArrayRaster(WindowedRaster):
    """Any array-like that slices like NumPy (ndarray, ``np.memmap``, ``h5py.Dataset``), stored with
    ``axes`` in its own order: e.g. ``"HWC"`` (MATLAB / NumPy default), ``"CHW"``, ``"HW"``, ``"HCW"``
    (ENVI BIL), ``"CWH"`` (a MATLAB ``(H, W, C)`` array as HDF5 stores it, axes reversed).

    Subclasses that map files override :meth:`_array` to open the array per read and release it after,
    so pages of a memory map do not stay in this process's resident memory.
    """

    def __init__(
        self,
        array,
        axes: str,
        path: str | Path | None = None,
        georef: GeoRef | None = None,
        wavelengths_nm: np.ndarray | None = None,
        nodata: Sequence[float] = (),
        nodata_sources: Sequence[str] = (),
    ) -> None:
        if axes not in STORED_AXES:
            raise DataError(
                f"{path or 'array'}: got axis order {axes!r}, expected one of {list(STORED_AXES)}"
            )
        if len(array.shape) == 2 and len(axes) == 3:
            axes = axes.replace(
                "C", ""
            )  # a 2-D array is one channel whatever layout the file's kind defaults to
        if len(array.shape) != len(axes):
            raise DataError(
                f"{path or 'array'}: array shape {tuple(array.shape)} has {len(array.shape)} axes, "
                f"expected {len(axes)} for layout {axes}"
            )
        if np.dtype(array.dtype).kind not in "biuf":
            raise DataError(f"{path or 'array'}: got {array.dtype} data, expected a numeric array")
        self.array = array
        self.axes = axes
        self.path = None if path is None else Path(path)
        sizes = dict(zip(axes, array.shape))
        self.shape = (int(sizes.get("C", 1)), int(sizes["H"]), int(sizes["W"]))
        self.dtype = np.dtype(array.dtype)
        self.georef = georef
        self.wavelengths_nm = wavelengths_nm
        self.nodata = nodata_values(*nodata)
        self.nodata_sources = tuple(nodata_sources)

    @contextlib.contextmanager
    def _array(self) -> Iterator:
        yield self.array

    def _read(self, window: Window) -> np.ndarray:
        index = tuple(
            {"C": slice(None), "H": window.rows, "W": window.cols}[axis] for axis in self.axes
        )
        with self._array() as array:
            piece = np.array(array[index])  # a copy: nothing keeps the map's pages alive
        axes = self.axes if "C" in self.axes else "C" + self.axes
        if "C" not in self.axes:
            piece = piece[None]
        order = [axes.index(axis) for axis in "CHW"]
        if piece.dtype.byteorder not in "=|":
            piece = piece.astype(piece.dtype.newbyteorder("="))
        return np.ascontiguousarray(piece.transpose(order))


class StackedRaster(WindowedRaster):
    """Several co-registered rasters stacked along C (an X modality given as several files); a pixel is
    valid where it is valid in every part."""

    def __init__(self, parts: Sequence[WindowedRaster]) -> None:
        if not parts:
            raise DataError("stacked raster: got no parts, expected at least one")
        grid = parts[0].shape[1:]
        for part in parts[1:]:
            if part.shape[1:] != grid:
                raise DataError(
                    f"{part.label}: H x W {part.shape[1:]}, expected {grid} like {parts[0].label} "
                    "(co-registered rasters)"
                )
            check_same_grid(parts[0].label, parts[0].georef, part.label, part.georef, *grid)
        self.parts = list(parts)
        self.path = parts[0].path
        self.shape = (sum(p.shape[0] for p in parts), *grid)
        self.dtype = np.result_type(*[p.dtype for p in parts])
        self.georef = next((p.georef for p in parts if p.georef is not None), None)
        self.nodata = ()
        self.nodata_sources = tuple(s for p in parts for s in p.nodata_sources)

    def _read(self, window: Window) -> np.ndarray:  # pragma: no cover - read() is overridden
        raise NotImplementedError

    def add_nodata(self, value: float | None, source: str) -> None:
        for part in self.parts:
            part.add_nodata(value, source)
        self.nodata_sources = tuple(s for p in self.parts for s in p.nodata_sources)

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        blocks, valid = [], None
        for part in self.parts:
            block, part_valid = part.read(window)
            blocks.append(block)
            valid = part_valid if valid is None else valid & part_valid
        return np.concatenate(blocks, axis=0), valid

    @property
    def label(self) -> str:
        return " + ".join(p.label for p in self.parts)

    def close(self) -> None:
        for part in self.parts:
            part.close()
