"""ENVI reading and writing: interleaves, byte order, header offset, wavelengths, map info, errors."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.envi_io import read_envi, write_envi
from comix.data.errors import DataError
from comix.data.georef import GeoRef


def _cube() -> np.ndarray:
    return np.arange(3 * 4 * 6, dtype=np.int16).reshape(3, 4, 6)  # (bands, lines, samples)


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_roundtrip_each_interleave(tmp_path, interleave):
    georef = GeoRef.from_origin(664000.0, 5104000.0, 1.0, 1.0, "EPSG:32632")
    header = write_envi(
        tmp_path / "cube.img",
        _cube(),
        wavelengths_nm=[450.0, 550.0, 650.0],
        georef=georef,
        interleave=interleave,
    )
    for path in (header, tmp_path / "cube.img"):  # either the header or the data file may be named
        array, read_georef, wavelengths = read_envi(path)
        np.testing.assert_array_equal(array, _cube())
        np.testing.assert_allclose(wavelengths, [450.0, 550.0, 650.0])
        assert read_georef == georef


def test_hand_written_big_endian_bil_with_offset_and_microns(tmp_path):
    """A header as other software writes it: big-endian, bil, 16-byte offset, micrometres, UTM map info."""
    cube = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # bands, lines, samples
    raw = b"\x00" * 16 + cube.transpose(1, 0, 2).astype(">f4").tobytes()
    (tmp_path / "scene.dat").write_bytes(raw)
    (tmp_path / "scene.hdr").write_text(
        "ENVI\ndescription = {test\n  file}\nsamples = 4\nlines   = 3\nbands = 2\nheader offset = 16\n"
        "data type = 4\ninterleave = bil\nbyte order = 1\nwavelength units = Micrometers\n"
        "wavelength = {0.45,\n 0.55}\n"
        "map info = {UTM, 1.5, 1.5, 500001.0, 4000001.0, 2.0, 2.0, 15, North, WGS-84}\n"
    )
    array, georef, wavelengths = read_envi(tmp_path / "scene.hdr")
    np.testing.assert_array_equal(array, cube)
    np.testing.assert_allclose(wavelengths, [450.0, 550.0])
    assert georef.crs == "EPSG:32615"
    np.testing.assert_allclose(georef.transform, (2.0, 0.0, 500000.0, 0.0, -2.0, 4000002.0))


def test_agrees_with_spectral_package(tmp_path):
    """Cross-check against an independent reader/writer (the `spectral` package) when installed."""
    envi = pytest.importorskip("spectral.io.envi")
    cube = (
        np.random.default_rng(3).random((5, 7, 4)).astype(np.float32)
    )  # spectral: (rows, cols, bands)
    envi.save_image(
        str(tmp_path / "sp.hdr"),
        cube,
        interleave="bil",
        ext=".img",
        metadata={"wavelength": [400, 500, 600, 700]},
    )
    array, _, wavelengths = read_envi(tmp_path / "sp.hdr")
    np.testing.assert_array_equal(array, cube.transpose(2, 0, 1))
    np.testing.assert_allclose(wavelengths, [400, 500, 600, 700])


def test_truncated_data_file(tmp_path):
    write_envi(tmp_path / "t.img", _cube())
    data = (tmp_path / "t.img").read_bytes()
    (tmp_path / "t.img").write_bytes(data[:-10])
    with pytest.raises(DataError, match=r"t\.img: 134 bytes, expected 144.*truncated"):
        read_envi(tmp_path / "t.img.hdr")


def test_header_errors(tmp_path):
    (tmp_path / "a.img").write_bytes(b"\x00" * 8)
    (tmp_path / "a.img.hdr").write_text("ENVI\nsamples = 2\nlines = 2\ndata type = 4\n")
    with pytest.raises(DataError, match=r"no 'bands' field"):
        read_envi(tmp_path / "a.img")
    (tmp_path / "a.img.hdr").write_text("ENVI\nsamples = 2\nlines = 2\nbands = 1\ndata type = 7\n")
    with pytest.raises(DataError, match=r"data type 7, expected one of"):
        read_envi(tmp_path / "a.img")
    (tmp_path / "a.img.hdr").write_text("NOT ENVI\n")
    with pytest.raises(DataError, match=r"expected 'ENVI'"):
        read_envi(tmp_path / "a.img")
    with pytest.raises(DataError, match=r"no ENVI header"):
        read_envi(tmp_path / "missing.img")
