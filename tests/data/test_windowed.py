"""Windowed readers (every format) equal the whole-file readers, and find nodata the way the module says:
NaN/Inf anywhere, a GeoTIFF nodata tag, a GeoTIFF internal mask, ENVI's data ignore value, a user value."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.envi_io import write_envi
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.geotiff_io import GeoTiffBlockWriter, read_geotiff, write_geotiff
from comix.data.mat_io import write_mat
from comix.data.numpy_io import NpyBlockWriter
from comix.data.raster_io import open_raster
from comix.data.windowed import StackedRaster, Window, valid_pixels

GEOREF = GeoRef.from_origin(500000.0, 4000000.0, 2.0, 2.0, "EPSG:32633")
WINDOWS = [Window(0, 0, 31, 43), Window(3, 5, 7, 11), Window(30, 42, 1, 1), Window(10, 0, 5, 43)]


def _cube(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.3, 0.1, (5, 31, 43)).astype(np.float32)


def _reference_valid(block: np.ndarray, nodata: list[float]) -> np.ndarray:
    """Pixel by pixel, the rule of the module doc (independent of the vectorised one)."""
    valid = np.ones(block.shape[1:], bool)
    for i in range(block.shape[1]):
        for j in range(block.shape[2]):
            for value in block[:, i, j]:
                if not np.isfinite(value) or any(value == v for v in nodata):
                    valid[i, j] = False
    return valid


def _write(fmt: str, folder, cube: np.ndarray):
    """(path, key, layout) of ``cube`` (C, H, W) written as ``fmt``."""
    if fmt == "geotiff":
        write_geotiff(folder / "a.tif", cube, GEOREF)
        return folder / "a.tif", None, None
    if fmt.startswith("envi"):
        write_envi(folder / "a.img", cube, georef=GEOREF, interleave=fmt.split("-")[1])
        return folder / "a.img.hdr", None, None
    if fmt == "npy-HWC":
        np.save(folder / "a.npy", np.moveaxis(cube, 0, -1))
        return folder / "a.npy", None, "HWC"
    if fmt == "npy-CHW":
        np.save(folder / "a.npy", cube)
        return folder / "a.npy", None, "CHW"
    if fmt.startswith("mat"):
        write_mat(folder / "a.mat", {"data": np.moveaxis(cube, 0, -1)}, fmt.split("-")[1])
        return folder / "a.mat", "data", "HWC"
    np.savez(folder / "a.npz", data=cube)
    return folder / "a.npz", "data", "CHW"


FORMATS = [
    "geotiff",
    "envi-bsq",
    "envi-bil",
    "envi-bip",
    "npy-HWC",
    "npy-CHW",
    "mat-7.3",
    "mat-5",
    "npz",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_windows_equal_the_whole_array_and_nan_is_nodata(fmt, tmp_path):
    cube = _cube()
    cube[:, 4, 6] = np.nan
    cube[2, 20, 30] = np.inf
    path, key, layout = _write(fmt, tmp_path, cube)
    with open_raster(path, key, layout=layout) as raster:
        assert raster.shape == cube.shape
        for window in WINDOWS:
            block, valid = raster.read(window)
            want = cube[:, window.rows, window.cols]
            assert block.dtype == np.float32 and np.array_equal(block, want, equal_nan=True), window
            np.testing.assert_array_equal(valid, _reference_valid(want, []))
    assert (~open_raster(path, key, layout=layout).read_all()[1]).sum() == 2


def test_a_two_d_variable_is_one_channel(tmp_path):
    image = _cube()[0]
    write_mat(tmp_path / "x.mat", {"data": image}, "7.3")
    np.save(tmp_path / "x.npy", image)
    for path, key in ((tmp_path / "x.mat", "data"), (tmp_path / "x.npy", None)):
        raster = open_raster(path, key)
        assert raster.shape == (1, 31, 43)
        np.testing.assert_array_equal(raster.read(Window(2, 3, 4, 5))[0][0], image[2:6, 3:8])


def test_geotiff_nodata_tag_and_user_value(tmp_path):
    cube = _cube()
    cube[:, 10:12, 20:25] = -9999.0
    cube[1, 0, 0] = -9999.0  # one band of a pixel: the pixel is nodata (conservative rule)
    cube[3, 5, 5] = 7.0
    write_geotiff(tmp_path / "a.tif", cube, GEOREF, nodata=-9999.0)
    with open_raster(tmp_path / "a.tif") as raster:
        assert raster.nodata == (-9999.0,) and "GeoTIFF nodata tag" in raster.nodata_sources[0]
        _, valid = raster.read_all()
        np.testing.assert_array_equal(valid, _reference_valid(cube, [-9999.0]))
        assert (~valid).sum() == 11
    with open_raster(
        tmp_path / "a.tif", nodata=7.0
    ) as raster:  # a user value adds to the declared one
        np.testing.assert_array_equal(raster.read_all()[1], _reference_valid(cube, [-9999.0, 7.0]))


def test_geotiff_internal_mask_is_honoured(tmp_path):
    import rasterio

    cube = _cube()
    mask = np.full(cube.shape[1:], 255, np.uint8)
    mask[:5, :] = 0
    profile = {"driver": "GTiff", "count": 5, "height": 31, "width": 43, "dtype": "float32"}
    with (
        rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True),
        rasterio.open(tmp_path / "m.tif", "w", **profile) as dataset,
    ):
        dataset.write(cube)
        dataset.write_mask(mask)
    with open_raster(tmp_path / "m.tif") as raster:
        assert "GeoTIFF mask" in raster.nodata_sources
        block, valid = raster.read(Window(3, 0, 6, 43))
        np.testing.assert_array_equal(valid, mask[3:9] > 0)
        np.testing.assert_array_equal(block, cube[:, 3:9])


def test_envi_data_ignore_value(tmp_path):
    cube = (_cube() * 1000).astype(np.int16)
    cube[:, 7, 8] = -32768
    header = write_envi(tmp_path / "a.img", cube, interleave="bil", ignore_value=-32768)
    assert "data ignore value = -32768" in header.read_text()
    with open_raster(header) as raster:
        assert raster.nodata == (-32768.0,) and raster.nodata_sources == (
            "ENVI data ignore value -32768",
        )
        _, valid = raster.read(Window(5, 5, 5, 5))
        assert (~valid).sum() == 1 and not valid[2, 3]


def test_valid_pixels_on_integer_rasters_ignores_values_they_cannot_hold():
    block = np.array([[[0, 255], [3, 4]]], dtype=np.uint8)
    np.testing.assert_array_equal(
        valid_pixels(block, (255.0, -9999.0, 2.5)), [[True, False], [True, True]]
    )


def test_stacked_x_channels_and_grid_mismatch(tmp_path):
    a, b = _cube(1)[:1], _cube(2)[:2]
    b[1, 3, 3] = np.nan
    write_geotiff(tmp_path / "a.tif", a)
    write_geotiff(tmp_path / "b.tif", b)
    stacked = StackedRaster([open_raster(tmp_path / "a.tif"), open_raster(tmp_path / "b.tif")])
    block, valid = stacked.read(Window(0, 0, 31, 43))
    assert np.array_equal(block, np.concatenate([a, b]), equal_nan=True) and (~valid).sum() == 1
    write_geotiff(tmp_path / "c.tif", _cube()[:, :30])
    with pytest.raises(DataError, match="co-registered"):
        StackedRaster([open_raster(tmp_path / "a.tif"), open_raster(tmp_path / "c.tif")])


def test_window_outside_the_raster_and_corrupt_files_are_clear_errors(tmp_path):
    write_geotiff(tmp_path / "a.tif", _cube())
    with (
        open_raster(tmp_path / "a.tif") as raster,
        pytest.raises(DataError, match="not inside the 31 x 43"),
    ):
        raster.read(Window(30, 0, 2, 5))
    data = (tmp_path / "a.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="truncated or corrupt"):
        open_raster(tmp_path / "cut.tif").read_all()


def test_block_writers_equal_whole_writes(tmp_path):
    rng = np.random.default_rng(3)
    classes = rng.integers(0, 12, (70, 90)).astype(np.uint8)
    probs = rng.random((3, 70, 90)).astype(np.float32)
    probs[:, :4, :4] = np.nan
    npy = NpyBlockWriter(tmp_path / "c.npy", classes.shape, classes.dtype)
    tif = GeoTiffBlockWriter(tmp_path / "c.tif", 1, 70, 90, np.uint8, GEOREF, nodata=0, block=32)
    ptif = GeoTiffBlockWriter(
        tmp_path / "p.tif", 3, 70, 90, np.float32, None, nodata=float("nan"), block=32
    )
    for row in (0, 17, 50):
        end = {0: 17, 17: 50, 50: 70}[row]
        npy.write(row, classes[row:end])
        tif.write(row, classes[row:end])
        ptif.write(row, probs[:, row:end])
    for writer in (npy, tif, ptif):
        writer.close()
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), classes)
    got, georef, _ = read_geotiff(tmp_path / "c.tif")
    np.testing.assert_array_equal(got[0], classes)
    assert georef.crs == "EPSG:32633"
    assert np.array_equal(read_geotiff(tmp_path / "p.tif")[0], probs, equal_nan=True)
    import rasterio

    with rasterio.open(tmp_path / "c.tif") as dataset:
        assert (
            dataset.nodata == 0
            and dataset.block_shapes[0] == (32, 32)
            and dataset.compression.value == "DEFLATE"
        )
    with pytest.raises(
        DataError, match=r"got block of shape \(3, 4\) at row 2, column 0, expected \(h, w\) inside"
    ):
        NpyBlockWriter(tmp_path / "d.npy", (4, 4), np.uint8).write(2, classes[:3, :4])


def test_block_writers_take_rectangles_in_any_order(tmp_path):
    """Strip-planned scenes write column blocks, strip by strip: every writer puts each where it belongs."""
    rng = np.random.default_rng(4)
    classes = rng.integers(1, 12, (70, 90)).astype(np.uint8)
    probs = rng.random((3, 70, 90)).astype(np.float32)
    blocks = [
        (row, col, rows, cols)
        for col, cols in ((32, 58), (0, 32))
        for row, rows in ((0, 17), (17, 53))
    ]
    npy = NpyBlockWriter(tmp_path / "c.npy", classes.shape, classes.dtype)
    pnpy = NpyBlockWriter(tmp_path / "p.npy", probs.shape, probs.dtype)
    tif = GeoTiffBlockWriter(tmp_path / "c.tif", 1, 70, 90, np.uint8, GEOREF, nodata=0, block=32)
    ptif = GeoTiffBlockWriter(
        tmp_path / "p.tif", 3, 70, 90, np.float32, None, nodata=float("nan"), block=32
    )
    for row, col, rows, cols in blocks:
        piece = (slice(row, row + rows), slice(col, col + cols))
        npy.write(row, classes[piece], col)
        tif.write(row, classes[piece], col)
        pnpy.write(row, probs[(slice(None), *piece)], col)
        ptif.write(row, probs[(slice(None), *piece)], col)
    for writer in (npy, pnpy, tif, ptif):
        writer.close()
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), classes)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), probs)
    np.testing.assert_array_equal(read_geotiff(tmp_path / "c.tif")[0][0], classes)
    np.testing.assert_array_equal(read_geotiff(tmp_path / "p.tif")[0], probs)
    with pytest.raises(
        DataError, match=r"got block of shape \(2, 5, 4\) at row 0, column 88, expected \(3, h, w\)"
    ):
        NpyBlockWriter(tmp_path / "e.npy", probs.shape, np.float32).write(0, probs[:2, :5, :4], 88)
