"""Open a fusion data set from a path, whatever its format: a PanCollection ``.h5`` file (pan-sharpening) or a
folder of infrared-visible image pairs."""

from __future__ import annotations

import os
from pathlib import Path

from comix.data.errors import DataError
from comix.ship.data.image_folders import read_image_pairs
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.data.pancollection import DEFAULT_DATA_RANGE, read_pancollection

H5_SUFFIXES = (".h5", ".hdf5")


def load_fusion_data(
    path: str | os.PathLike, data_range: float = DEFAULT_DATA_RANGE
) -> PansharpenSet | IrVisSet:
    """A ``.h5`` file -> :class:`PansharpenSet` (values in the file's units, ``data_range`` of them = 1.0);
    a folder with ir/ and vi/ subfolders -> :class:`IrVisSet`."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in H5_SUFFIXES:
        return read_pancollection(path, data_range)
    if path.is_dir():
        return read_image_pairs(path)
    raise DataError(
        f"{path}: got {'a missing path' if not path.exists() else 'a ' + (path.suffix or 'file')}, "
        f"expected a PanCollection .h5 file or a folder with ir/ and vi/ image pairs"
    )
