"""Co-registered means the same grid: the same CRS and the same transform, every corner of the H x W grid
within GRID_TOLERANCE_PIXELS (0.01) of a pixel; checked wherever an HSI cube meets its X raster."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.errors import DataError
from comix.data.georef import (
    GRID_TOLERANCE_PIXELS,
    GeoRef,
    check_same_grid,
    grid_mismatch,
    same_crs,
)
from comix.data.geotiff_io import write_geotiff
from comix.data.windowed import ArrayRaster, StackedRaster
from comix.runtime.errors import RuntimeInputError
from comix.runtime.scene_source import SceneSource

HEIGHT, WIDTH = 30, 50  # H != W, so a swapped axis moves a corner
UTM = GeoRef.from_origin(268000.0, 3290500.0, 2.5, 2.5, "EPSG:26915")


def _moved(dx_pixels: float = 0.0, dy_pixels: float = 0.0, **changes) -> GeoRef:
    a, b, c, d, e, f = UTM.transform
    values = {"a": a, "b": b, "c": c + dx_pixels * 2.5, "d": d, "e": e, "f": f - dy_pixels * 2.5}
    values.update(changes)
    return GeoRef(tuple(values[k] for k in "abcdef"), changes.get("crs", UTM.crs))


def test_the_same_grid_and_shifts_within_the_tolerance_pass():
    assert grid_mismatch(UTM, UTM, HEIGHT, WIDTH) is None
    assert grid_mismatch(UTM, _moved(0.5 * GRID_TOLERANCE_PIXELS), HEIGHT, WIDTH) is None
    assert grid_mismatch(UTM, None, HEIGHT, WIDTH) is None  # nothing to compare
    assert grid_mismatch(None, UTM, HEIGHT, WIDTH) is None


@pytest.mark.parametrize(
    "other, what",
    [
        (_moved(dx_pixels=5000), "12500 map units (5000 pixels)"),  # the 12.5 km of the issue
        (_moved(dy_pixels=2 * GRID_TOLERANCE_PIXELS), "pixels"),  # a fiftieth of a pixel
        (
            _moved(a=2.5 * (1 + 1e-3)),
            "pixels",
        ),  # same origin, pixels 0.1 % wider: 0.05 px at the far end
        (_moved(b=0.01), "pixels"),  # a rotation term: rows drift sideways
        (_moved(e=-2.0), "pixels"),  # another pixel height
    ],
)
def test_another_transform_is_another_grid(other, what):
    why = grid_mismatch(UTM, other, HEIGHT, WIDTH)
    assert why is not None and what in why


def test_the_far_corner_is_where_a_pixel_size_difference_shows():
    # 0.1 % wider pixels: 0 at the origin, 50 px * 0.001 = 0.05 px at the east edge
    assert grid_mismatch(UTM, _moved(a=2.5 * 1.001), HEIGHT, 1) is None
    assert grid_mismatch(UTM, _moved(a=2.5 * 1.001), HEIGHT, WIDTH) is not None


def test_crs_is_compared_by_meaning_not_spelling():
    assert same_crs("EPSG:26915", "EPSG:26915") is True
    assert same_crs("EPSG:26915", "EPSG:32615") is False
    assert same_crs("EPSG:26915", None) is None
    pytest.importorskip("rasterio")
    from rasterio.crs import CRS

    wkt = CRS.from_epsg(26915).to_wkt()
    assert same_crs("EPSG:26915", wkt) is True
    assert grid_mismatch(UTM, GeoRef(UTM.transform, wkt), HEIGHT, WIDTH) is None
    assert "EPSG:32615" in grid_mismatch(UTM, GeoRef(UTM.transform, "EPSG:32615"), HEIGHT, WIDTH)


def test_check_same_grid_names_both_rasters():
    with pytest.raises(DataError, match=r"dsm\.tif: not on the grid of the HSI cube hsi\.tif"):
        check_same_grid("the HSI cube hsi.tif", UTM, "dsm.tif", _moved(3), HEIGHT, WIDTH)


def _raster(georef: GeoRef | None, channels: int = 1) -> ArrayRaster:
    return ArrayRaster(np.zeros((channels, HEIGHT, WIDTH), np.float32), "CHW", georef=georef)


def test_scene_sources_and_stacked_rasters_refuse_another_grid():
    SceneSource(_raster(UTM, 4), _raster(UTM))  # the same grid
    SceneSource(_raster(UTM, 4), _raster(None))  # an X array without a georeference
    with pytest.raises(RuntimeInputError, match="not on the grid"):
        SceneSource(_raster(UTM, 4), _raster(_moved(1)))
    with pytest.raises(DataError, match="not on the grid"):
        StackedRaster([_raster(UTM), _raster(_moved(dy_pixels=1))])


def test_a_dataset_with_a_moved_x_raster_is_refused(tmp_path):
    from comix.data.loader import load_scene
    from comix.data.scene import Scene
    from comix.data.scene_writer import write_scene

    labels = np.ones((HEIGHT, WIDTH), np.int64)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[::2] = True
    scene = Scene(
        hsi=np.ones((3, HEIGHT, WIDTH), np.float32),
        x=np.ones((1, HEIGHT, WIDTH), np.float32),
        labels=labels,
        class_names=("one",),
        train_mask=mask,
        test_mask=~mask,
        georef=UTM,
    )
    description = write_scene(scene, tmp_path / "scene")
    assert load_scene(description).georef == UTM
    write_geotiff(tmp_path / "scene" / "x.tif", scene.x, _moved(dx_pixels=5000))
    with pytest.raises(DataError, match=r"x\.tif \(X raster\): not on the grid of the HSI cube"):
        load_scene(description)
