"""NumPy ``.npy`` and ``.npz`` rasters (arrays as stored; the dataset description gives their layout)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from comix.data.errors import DataError


def read_npy(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` array (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a .npy array")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read as .npy: {error} (truncated or corrupt file?)") from error


def list_npz_keys(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a .npz archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path}: cannot read as .npz: {error} (truncated or corrupt file?)") from error


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
        raise DataError(f"{path}: cannot read key {key!r}: {error} (truncated or corrupt file?)") from error
