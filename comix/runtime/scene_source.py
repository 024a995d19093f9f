"""A scene as the runtime reads it: the HSI cube and the X raster, window by window, with one nodata mask.

    with SceneSource.from_files("hsi.tif", "dsm.tif", nodata=-9999) as source:   # any reader format
        hsi, x, valid = source.read(Window(0, 0, 128, 128))   # (bands, h, w), (C, h, w) float32, (h, w) bool
    source = SceneSource.from_arrays(hsi, x, georef)         # an in-memory scene: the same interface

A pixel is nodata when the HSI or the X raster has no data there (the rule of
:mod:`comix.data.windowed`: NaN / Inf anywhere, a declared nodata value, the format's mask). Values are
returned as stored; filling nodata for the model is :mod:`comix.runtime.nodata`'s job.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef, check_same_grid
from comix.data.windowed import ArrayRaster, StackedRaster, Window, WindowedRaster
from comix.runtime.errors import RuntimeInputError


@dataclass(frozen=True)
class RasterRef:
    """One file of a scene: path, variable key (.mat/.npz), stored layout (.mat/.npy/.npz)."""

    path: str
    key: str | None = None
    layout: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "key": self.key, "layout": self.layout}


class SceneSource:
    """The (hsi, x) pair of one scene, read window by window (see the module doc)."""

    def __init__(
        self, hsi: WindowedRaster, x: WindowedRaster, georef: GeoRef | None = None, name: str = ""
    ) -> None:
        if hsi.shape[1:] != x.shape[1:]:
            raise RuntimeInputError(
                f"scene size: got HSI H x W {hsi.shape[1:]} and X H x W {x.shape[1:]}, expected "
                "the same grid (co-registered rasters)"
            )
        if min(hsi.shape[1:]) < 1:
            raise RuntimeInputError(
                f"HSI cube: got H x W {hsi.shape[1:]}, expected at least 1 x 1 pixels"
            )
        try:
            check_same_grid(
                f"the HSI cube {hsi.label}", hsi.georef, x.label, x.georef, *hsi.shape[1:]
            )
        except DataError as error:
            raise RuntimeInputError(str(error)) from None
        self.hsi, self.x = hsi, x
        self.georef = georef if georef is not None else (hsi.georef or x.georef)
        self.name = name

    @property
    def height(self) -> int:
        return self.hsi.shape[1]

    @property
    def width(self) -> int:
        return self.hsi.shape[2]

    @property
    def bands(self) -> int:
        return self.hsi.shape[0]

    @property
    def x_channels(self) -> int:
        return self.x.shape[0]

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hsi (bands, h, w), x (C, h, w)) float32`` as stored and ``valid (h, w) bool`` for a window."""
        try:
            hsi, hsi_valid = self.hsi.read(window)
            x, x_valid = self.x.read(window)
        except DataError as error:
            raise RuntimeInputError(str(error)) from None
        return hsi, x, hsi_valid & x_valid

    def nodata_sources(self) -> dict[str, list[str]]:
        """Where nodata comes from, per raster, for the summary (NaN / Inf are always nodata)."""
        return {
            "hsi": ["NaN/Inf", *self.hsi.nodata_sources],
            "x": ["NaN/Inf", *self.x.nodata_sources],
        }

    def close(self) -> None:
        self.hsi.close()
        self.x.close()

    def __enter__(self) -> SceneSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def from_arrays(
        cls,
        hsi: np.ndarray,
        x: np.ndarray,
        georef: GeoRef | None = None,
        name: str = "",
        nodata: float | None = None,
    ) -> SceneSource:
        """An in-memory scene: hsi (bands, H, W), x (C, H, W)."""
        for label, array, what in (("HSI cube", hsi, "bands"), ("X raster", x, "C")):
            if np.ndim(array) != 3:
                raise RuntimeInputError(
                    f"{label}: got shape {np.shape(array)}, expected 3 axes ({what}, H, W)"
                )
        hsi_raster, x_raster = ArrayRaster(hsi, "CHW"), ArrayRaster(x, "CHW")
        hsi_raster.add_nodata(nodata, "nodata")
        x_raster.add_nodata(nodata, "nodata")
        return cls(hsi_raster, x_raster, georef, name)

    @classmethod
    def from_files(
        cls,
        hsi: RasterRef | str | os.PathLike,
        x: RasterRef | Sequence[RasterRef] | str | os.PathLike,
        nodata: float | None = None,
        x_nodata: float | None = None,
        name: str = "",
    ) -> SceneSource:
        """Open the HSI file and the X file(s) (several are stacked along C) for windowed reading.

        ``nodata`` also means "no data" in every file, ``x_nodata`` in the X files (default: ``nodata``).
        """
        from comix.data.raster_io import open_raster

        hsi_ref = hsi if isinstance(hsi, RasterRef) else RasterRef(str(hsi))
        if isinstance(x, RasterRef):
            x_refs = [x]
        elif isinstance(x, (str, os.PathLike)):
            x_refs = [RasterRef(str(x))]
        else:
            x_refs = list(x)
        opened: list[WindowedRaster] = []
        try:
            opened.append(
                open_raster(Path(hsi_ref.path), hsi_ref.key, layout=hsi_ref.layout, nodata=nodata)
            )
            for ref in x_refs:
                opened.append(
                    open_raster(
                        Path(ref.path),
                        ref.key,
                        layout=ref.layout,
                        nodata=nodata if x_nodata is None else x_nodata,
                    )
                )
            x_raster = opened[1] if len(opened) == 2 else StackedRaster(opened[1:])
            return cls(opened[0], x_raster, name=name)
        except DataError as error:
            for raster in opened:
                raster.close()
            raise RuntimeInputError(str(error)) from None
        except BaseException:
            for raster in opened:
                raster.close()
            raise
