"""NumPy ``.npy`` and ``.npz`` rasters (arrays as stored; the dataset description gives their layout).

``.npy`` is also read window by window (:class:`NpyRaster`, memory-mapped) and written block by block
(:class:`NpyBlockWriter`); a ``.npz`` member is compressed and can only be read whole."""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.windowed import ArrayRaster, ArrayShape


def read_npy(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` array (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a .npy array")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(
            f"{path}: cannot read as .npy: {error} (truncated or corrupt file?)"
        ) from error


def list_npz_keys(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a .npz archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(
            f"{path}: cannot read as .npz: {error} (truncated or corrupt file?)"
        ) from error


def read_npz(path: str | Path, key: str) -> np.ndarray:
    """Read one array of a ``.npz`` archive (no pickles)."""
    path = Path(path)
    keys = list_npz_keys(path)
    if key not in keys:
        raise DataError(f"{path}: no key {key!r}, expected one of the keys present: {keys}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive[key]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(
            f"{path}: cannot read key {key!r}: {error} (truncated or corrupt file?)"
        ) from error


class NpyRaster(ArrayRaster):
    """A ``.npy`` array read window by window from a memory map opened for each read and closed after
    (pages read do not stay in this process's memory). ``axes`` is its stored layout (HWC, CHW or HW)."""

    def __init__(self, path: str | Path, axes: str) -> None:
        path = Path(path)
        mapped = self._open(path)
        try:
            spec = ArrayShape(tuple(mapped.shape), mapped.dtype)
        finally:
            _unmap(mapped)
        super().__init__(spec, axes, path)

    @staticmethod
    def _open(path: Path) -> np.memmap:
        if not path.is_file():
            raise DataError(f"{path}: file not found, expected a .npy array")
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise DataError(
                f"{path}: cannot read as .npy: {error} (truncated or corrupt file?)"
            ) from error
        if not isinstance(mapped, np.memmap):
            raise DataError(
                f"{path}: got an array that cannot be memory-mapped (object dtype?), expected numbers"
            )
        return mapped

    @contextlib.contextmanager
    def _array(self):
        mapped = self._open(self.path)
        try:
            yield mapped
        finally:
            _unmap(mapped)


def _unmap(mapped: np.memmap) -> None:
    handle = getattr(mapped, "_mmap", None)
    if handle is not None:
        handle.close()


class NpyBlockWriter:
    """Write an (H, W) or (C, H, W) ``.npy`` array block by block, so the whole array never has to be in
    memory. A block is any rectangle of rows and columns (all channels), written where it belongs with
    positioned writes into a file sized up front (no memory map: mapped pages would count as the
    process's memory until the kernel drops them). The caller names the path (a temporary one)."""

    def __init__(self, path: str | Path, shape: tuple[int, ...], dtype) -> None:
        if len(shape) not in (2, 3):
            raise DataError(
                f"NpyBlockWriter({path}): got shape {shape}, expected (H, W) or (C, H, W)"
            )
        self.path = Path(path)
        self.shape, self.dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        self.handle = open(self.path, "wb")  # noqa: SIM115 - the writer owns it until close()
        np.lib.format.write_array_header_1_0(
            self.handle,
            {
                "descr": np.lib.format.dtype_to_descr(self.dtype),
                "fortran_order": False,
                "shape": self.shape,
            },
        )
        self.offset = self.handle.tell()
        self.handle.truncate(self.offset + int(np.prod(self.shape)) * self.dtype.itemsize)
        self.handle.flush()

    def write(self, row: int, block: np.ndarray, col: int = 0) -> None:
        """Rows ``row .. row + h`` and columns ``col .. col + w``: ``block`` (h, w), or (C, h, w) for a
        (C, H, W) array. Blocks may come in any order."""
        channels, height, width = (1, *self.shape) if len(self.shape) == 2 else self.shape
        block = np.asarray(block, dtype=self.dtype)
        block3 = block[None] if block.ndim == 2 and len(self.shape) == 2 else block
        if (
            block3.ndim != 3
            or block3.shape[0] != channels
            or row < 0
            or col < 0
            or row + block3.shape[1] > height
            or col + block3.shape[2] > width
        ):
            expected = "(h, w)" if len(self.shape) == 2 else f"({channels}, h, w)"
            raise DataError(
                f"NpyBlockWriter({self.path}): got block of shape {block.shape} at row {row}, column "
                f"{col}, expected {expected} inside the {height} x {width} array"
            )
        item = self.dtype.itemsize
        fd = self.handle.fileno()
        h, w = block3.shape[1:]
        for channel in range(channels):
            start = self.offset + ((channel * height + row) * width + col) * item
            if w == width:  # whole rows: one contiguous write
                _pwrite_all(fd, np.ascontiguousarray(block3[channel]).tobytes(), start)
                continue
            for r in range(h):
                _pwrite_all(
                    fd, np.ascontiguousarray(block3[channel, r]).tobytes(), start + r * width * item
                )

    def close(self) -> None:
        self.handle.close()


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """``os.pwrite`` until every byte is written (a positioned write may write fewer bytes than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
