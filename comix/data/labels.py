"""Label rasters: raw file values -> class indices ``0..K`` (``0`` = unlabelled), with validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comix.data.errors import DataError


def map_label_values(
    raw: np.ndarray,
    label_values: tuple[int, ...],
    unlabelled: int,
    source: Path | str,
    class_names: tuple[str, ...] = (),
) -> np.ndarray:
    """Map a raw ``(H, W)`` label raster to int64 class indices.

    ``raw == unlabelled`` -> 0, ``raw == label_values[k]`` -> ``k + 1``.

    Raises:
        DataError: non-integer values, or values that are neither ``unlabelled`` nor a declared class
            (the message lists the offending values with pixel counts).
    """
    raw = np.asarray(raw)
    if raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        if not finite.all() or np.any(raw[finite] != np.round(raw[finite])):
            raise DataError(
                f"{source}: label raster holds non-integer or NaN values, expected integer class values"
            )
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{source}: label raster has dtype {raw.dtype}, expected integers")
    raw = raw.astype(np.int64)
    present, counts = np.unique(raw, return_counts=True)
    allowed = set(label_values) | {unlabelled}
    bad = [(int(v), int(c)) for v, c in zip(present, counts) if int(v) not in allowed]
    if bad:
        shown = ", ".join(f"{v} ({c} px)" for v, c in bad[:10])
        raise DataError(
            f"{source}: label values outside the declared classes: {shown}; expected "
            f"{unlabelled} (unlabelled) or one of {list(label_values)}"
            + (f" for classes {list(class_names)}" if class_names else "")
        )
    lookup_min = min(allowed)
    table = np.zeros(max(allowed) - lookup_min + 1, dtype=np.int64)
    for index, value in enumerate(label_values, start=1):
        table[value - lookup_min] = index
    return table[raw - lookup_min]
