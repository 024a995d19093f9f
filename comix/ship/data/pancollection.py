"""PanCollection-style ``.h5`` files: the layout pan-sharpening benchmarks (WV3, QB, GF2, WV2) are shared in.

One HDF5 file per split with datasets, channels first, float64 in sensor digital numbers
(11-bit data: 0-2047)::

    gt  (N, B, H, W)    reference (reduced-resolution sets; absent from full-resolution sets)
    lms (N, B, H, W)    MS upsampled to the PAN grid (optional here: computed bicubic when absent)
    ms  (N, B, H/r, W/r)
    pan (N, 1, H, W)

The reader checks every shape against the others and says which key is wrong; ``data_range`` (2047 for
WV3/QB/WV2, 1023 for GF2) is not stored in the files and is given by the caller.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.errors import DataError
from comix.ship.data.pairs import PansharpenSet

REQUIRED = ("ms", "pan")
OPTIONAL = (
    "gt",
    "lms",
    "truth",
)  # truth: the ideal MS of synthetic full-resolution sets (ours; others ignore it)
DEFAULT_DATA_RANGE = 2047.0


def read_pancollection(
    path: str | os.PathLike, data_range: float = DEFAULT_DATA_RANGE
) -> PansharpenSet:
    """Read a PanCollection ``.h5`` file into a :class:`PansharpenSet` (float32, the file's units)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such file, expected a PanCollection .h5 file (keys ms, pan[, lms, gt])"
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise DataError(
            f"{path}: not a readable HDF5 file ({error}); expected a PanCollection .h5 file"
        ) from None
    with handle:
        keys = sorted(handle.keys())
        missing = [key for key in REQUIRED if key not in handle]
        if missing:
            raise DataError(
                f"{path}: missing dataset(s) {missing}, found {keys}; expected ms (N, B, h, w) and "
                "pan (N, 1, H, W) (and optionally lms, gt)"
            )
        arrays = {}
        for key in (*REQUIRED, *OPTIONAL):
            if key in handle:
                value = handle[key]
                if not hasattr(value, "shape") or len(value.shape) != 4:
                    shape = getattr(value, "shape", "a group")
                    raise DataError(
                        f"{path}: {key}: got shape {shape}, expected 4 axes (N, C, H, W) as PanCollection "
                        "stores them"
                    )
                arrays[key] = np.asarray(value, dtype=np.float32)
    ms, pan = arrays["ms"], arrays["pan"]
    if pan.shape[1] != 1:
        raise DataError(f"{path}: pan: got {pan.shape[1]} channels (shape {pan.shape}), expected 1")
    if ms.shape[0] != pan.shape[0]:
        raise DataError(
            f"{path}: got {ms.shape[0]} ms and {pan.shape[0]} pan samples, expected the same N"
        )
    ratio_h, ratio_w = pan.shape[2] / ms.shape[2], pan.shape[3] / ms.shape[3]
    if ratio_h != ratio_w or ratio_h != int(ratio_h) or ratio_h < 1:
        raise DataError(
            f"{path}: ms {ms.shape} and pan {pan.shape}: got H/h = {ratio_h:g} and W/w = {ratio_w:g}, "
            "expected one integer resolution ratio (e.g. 4)"
        )
    try:
        return PansharpenSet(
            ms,
            pan,
            arrays.get("gt"),
            arrays.get("lms"),
            int(ratio_h),
            float(data_range),
            name=path.stem,
            truth=arrays.get("truth"),
            metadata={"source": str(path)},
        )
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


def write_pancollection(
    path: str | os.PathLike, data: PansharpenSet, scale: float | None = None
) -> Path:
    """Write ``data`` as a PanCollection ``.h5`` (float64, atomically); ``scale`` multiplies the values first
    (e.g. 2047 to store reflectance as 11-bit digital numbers). Returns the path."""
    import h5py

    factor = 1.0 if scale is None else float(scale)
    with atomic_path(path) as temp:
        with h5py.File(temp, "w") as handle:
            for key in ("gt", "lms", "ms", "pan", "truth"):
                value = getattr(data, key)
                if value is not None:
                    handle.create_dataset(key, data=value.astype(np.float64) * factor)
    return Path(path)
