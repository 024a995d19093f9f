"""Build a :class:`~comix.data.scene.Scene` from a dataset description file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comix.data.description import DatasetDescription, SourceSpec, load_description
from comix.data.errors import DataError
from comix.data.georef import GeoRef, check_same_grid
from comix.data.labels import map_label_values
from comix.data.raster_io import RasterData, read_raster, to_chw, to_hw
from comix.data.scene import Scene
from comix.data.split import masks_from_rasters, stratified_split


def read_source(spec: SourceSpec) -> RasterData:
    """Read the raster a :class:`SourceSpec` names."""
    return read_raster(spec.path, key=spec.key, fmt=spec.format, layout=spec.layout)


def _check_grid(
    what: str,
    path: Path,
    shape: tuple[int, int],
    expected: tuple[int, int],
    hsi: RasterData,
    georef: GeoRef | None = None,
) -> None:
    """The raster at ``path`` (a ``what``) must be on the HSI cube's grid: its size, and where both carry a
    georeference, its transform and CRS."""
    if tuple(shape) != tuple(expected):
        raise DataError(
            f"{path}: {what} is {shape[0]}x{shape[1]} (H x W), expected {expected[0]}x{expected[1]} "
            f"like the HSI cube {hsi.path.name} (check the 'layout' of both sources)"
        )
    check_same_grid(f"the HSI cube {hsi.path}", hsi.georef, f"{path} ({what})", georef, *expected)


def _hw_on_grid(what: str, spec: SourceSpec, grid: tuple[int, int], hsi: RasterData) -> np.ndarray:
    """A single-band raster (mask or labels) as (H, W), checked to lie on the HSI cube's grid."""
    raster = read_source(spec)
    values = to_hw(raster, what)
    _check_grid(what, spec.path, values.shape, grid, hsi, raster.georef)
    return values


def load_scene(description: str | Path | DatasetDescription) -> Scene:
    """Read every file a description names and return the validated scene.

    Returns:
        :class:`Scene` with ``hsi`` float32 ``(bands, H, W)``, ``x`` float32 ``(C, H, W)`` (the X sources
        stacked along C), ``labels`` int64 ``(H, W)`` (0 = unlabelled) and the train/test masks.
    """
    if not isinstance(description, DatasetDescription):
        description = load_description(description)
    hsi_raster = read_source(description.hsi)
    hsi = to_chw(hsi_raster).astype(np.float32)
    grid = hsi.shape[1:]
    x_parts, x_georefs = [], []
    for spec in description.x:
        raster = read_source(spec)
        x_georefs.append(raster.georef)
        part = to_chw(raster)
        _check_grid("X raster", spec.path, part.shape[1:], grid, hsi_raster, raster.georef)
        x_parts.append(part.astype(np.float32))
    x = np.concatenate(x_parts, axis=0)

    split = description.split
    train_raw = test_raw = None
    if split.method == "masks":
        test_raw = _hw_on_grid("test mask", split.test, grid, hsi_raster)
        if split.train is not None:
            train_raw = _hw_on_grid("train mask", split.train, grid, hsi_raster)
    if description.labels is not None:
        raw = _hw_on_grid("label raster", description.labels, grid, hsi_raster)
        label_source = description.labels.path
    else:
        raw = np.where(train_raw != description.unlabelled, train_raw, test_raw)
        label_source = f"{split.train.path} + {split.test.path}"
    labels = map_label_values(
        raw, description.label_values, description.unlabelled, label_source, description.class_names
    )
    if split.method == "masks":
        train_mask, test_mask = masks_from_rasters(
            labels, train_raw, test_raw, description.unlabelled
        )
    else:
        train_mask, test_mask = stratified_split(
            labels, split.train_fraction, split.train_per_class, split.seed
        )

    wavelengths = (
        description.wavelengths_nm
        if description.wavelengths_nm is not None
        else hsi_raster.wavelengths_nm
    )
    if wavelengths is not None and len(wavelengths) != hsi.shape[0]:
        raise DataError(
            f"{description.path}: {len(wavelengths)} wavelengths for the {hsi.shape[0]} bands of "
            f"{description.hsi.path.name}, expected one per band"
        )
    georef = hsi_raster.georef or next((g for g in x_georefs if g is not None), None)
    if georef is None and isinstance(description.extra.get("georef"), dict):
        try:
            georef = GeoRef.from_dict(description.extra["georef"])
        except (KeyError, TypeError) as error:
            raise DataError(
                f"{description.path}: 'georef' is {description.extra['georef']!r}, expected "
                "{transform: [a, b, c, d, e, f], crs: 'EPSG:...'}"
            ) from error
    return Scene(
        hsi=hsi,
        x=x,
        labels=labels,
        class_names=description.class_names,
        train_mask=train_mask,
        test_mask=test_mask,
        wavelengths_nm=wavelengths,
        x_modality=description.x_modality,
        x_channel_names=description.x_channel_names,
        georef=georef,
        name=description.name,
    )
