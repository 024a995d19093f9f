"""GeoTIFF reading/writing with both backends, georeference and wavelengths kept, errors."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.geotiff_io import rasterio_available, read_geotiff, write_geotiff

GEOREF = GeoRef.from_origin(271460.0, 3290891.0, 2.5, 2.5, "EPSG:26915")
WAVELENGTHS = np.array([400.5, 500.25, 600.0])


def _cube() -> np.ndarray:
    return (np.arange(3 * 5 * 7, dtype=np.float32).reshape(3, 5, 7) / 7.0).astype(np.float32)


needs_rasterio = pytest.mark.skipif(not rasterio_available(), reason="rasterio not installed")


@pytest.mark.parametrize("writer", [pytest.param("rasterio", marks=needs_rasterio), "tifffile"])
@pytest.mark.parametrize("reader", [pytest.param("rasterio", marks=needs_rasterio), "tifffile"])
def test_roundtrip_across_backends(tmp_path, writer, reader):
    """Every writer/reader pair: data band-first, transform, CRS and wavelengths survive."""
    path = write_geotiff(tmp_path / "hsi.tif", _cube(), GEOREF, WAVELENGTHS, backend=writer)
    array, georef, wavelengths = read_geotiff(path, backend=reader)
    np.testing.assert_array_equal(array, _cube())
    assert georef is not None and georef.crs == "EPSG:26915"
    np.testing.assert_allclose(georef.transform, GEOREF.transform)
    np.testing.assert_allclose(wavelengths, WAVELENGTHS, atol=1e-3)


def test_single_band_without_georef(tmp_path):
    labels = np.array([[0, 1, 2], [3, 0, 1]], dtype=np.uint8)
    array, georef, wavelengths = read_geotiff(
        write_geotiff(tmp_path / "gt.tif", labels, backend="tifffile"), backend="tifffile"
    )
    assert array.shape == (1, 2, 3) and array.dtype == np.uint8
    np.testing.assert_array_equal(array[0], labels)
    assert georef is None and wavelengths is None


def test_truncated_and_missing(tmp_path):
    path = write_geotiff(
        tmp_path / "big.tif",
        np.random.default_rng(0).random((4, 64, 64)).astype(np.float32),
        backend="tifffile",
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match=r"big\.tif"):
        read_geotiff(path)
    with pytest.raises(DataError, match=r"not found"):
        read_geotiff(tmp_path / "absent.tif")


def test_rejects_bad_shape(tmp_path):
    with pytest.raises(DataError, match=r"got array shape \(2, 3, 4, 5\), expected"):
        write_geotiff(tmp_path / "x.tif", np.zeros((2, 3, 4, 5), np.float32))
