"""What the model sees where a scene has no data: never NaN or an arbitrary number.

Nodata pixels (every HSI band and X channel of a pixel the source marks invalid) are filled in each tile
before the model runs; the products mark them as nodata, so only their neighbours' context sees the fill.
Two fills (``--nodata-fill``):

* ``nearest`` (default): each nodata pixel takes the values of the nearest valid pixel of the tile
  (exact Euclidean distance, :mod:`comix.runtime.nearest_fill`: NumPy only, ties broken the same
  everywhere). CoMiX's context is global per tile (the FFM's attention context and CMFeX's pooled
  statistics), so whatever fills a hole shifts every pixel's logits a little; a fill that looks like
  the hole's surroundings shifts them least. Measured on a trained model with a 15 x 20 hole
  (docs/archive.md): 2-4x fewer changed classes 10 px or more from the hole than the mean fill, and
  fewer than GDAL's inverse-distance fill (``rasterio.fill.fillnodata``), at a fraction of its cost.
* ``mean``: the model's own input normalisation mean (from the model record; 0 after the normalisation
  inside the model, the value the model's own padding has). A model whose record carries no statistics
  (exported before the record had them) gets the mean of the tile's valid pixels instead, and the scene
  summary says so.
"""

from __future__ import annotations

import numpy as np

from comix.runtime.backend import ModelIO
from comix.runtime.errors import RuntimeInputError
from comix.runtime.nearest_fill import nearest_valid

FILLS = ("nearest", "mean")
DESCRIPTIONS = {
    "nearest": "nearest valid pixel of the tile",
    "mean": "model normalisation mean",
    "tile-mean": "mean of the tile's valid pixels (the model record has no normalisation "
    "statistics: re-export the model to record them)",
}


class NodataFill:
    """Fill the nodata pixels of a tile in place: ``fill(hsi (bands, h, w), x (C, h, w), valid (h, w))``;
    ``valid`` must have at least one True (a tile without valid pixels is skipped, not filled)."""

    def __init__(self, info: ModelIO, method: str = "nearest") -> None:
        if method not in FILLS:
            raise RuntimeInputError(f"--nodata-fill: got {method!r}, expected one of {list(FILLS)}")
        self.hsi_mean = np.asarray(info.hsi_mean, dtype=np.float32)
        self.x_mean = np.asarray(info.x_mean, dtype=np.float32)
        for name, mean, count in (
            ("HSI", self.hsi_mean, info.bands),
            ("X", self.x_mean, info.x_channels),
        ):
            if mean.size and count is not None and mean.size != count:
                raise RuntimeInputError(
                    f"model record: {name} normalisation mean has {mean.size} values, expected "
                    f"{count} (one per input channel)"
                )
        if method == "mean" and not (self.hsi_mean.size and self.x_mean.size):
            method = "tile-mean"
        self.method = method

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.method]

    def __call__(self, hsi: np.ndarray, x: np.ndarray, valid: np.ndarray) -> None:
        if valid.all():
            return
        invalid = ~valid
        if self.method == "nearest":
            rows, cols = nearest_valid(valid)
            source_rows, source_cols = rows[invalid], cols[invalid]
            for values in (hsi, x):
                values[:, invalid] = values[:, source_rows, source_cols]
            return
        for values, mean in ((hsi, self.hsi_mean), (x, self.x_mean)):
            if self.method == "mean":
                if mean.size != values.shape[0]:
                    raise RuntimeInputError(
                        f"nodata fill: got {values.shape[0]} channels, expected {mean.size} "
                        "as in the model's normalisation statistics"
                    )
                values[:, invalid] = mean[:, None]
            else:
                values[:, invalid] = (
                    values[:, valid].mean(axis=1, dtype=np.float64).astype(np.float32)[:, None]
                )
