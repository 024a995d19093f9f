"""NumPy .npy/.npz rasters and the format dispatch of read_raster."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.errors import DataError
from comix.data.raster_io import infer_format, read_raster, to_chw, to_hw


def test_npy_and_npz_with_layouts(tmp_path):
    cube_hwc = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    np.save(tmp_path / "c.npy", cube_hwc)
    np.savez(tmp_path / "c.npz", hsi=cube_hwc.transpose(2, 0, 1), gt=np.ones((4, 5), np.int32))
    from_npy = to_chw(read_raster(tmp_path / "c.npy"))  # default layout HWC
    from_npz = to_chw(read_raster(tmp_path / "c.npz", key="hsi", layout="CHW"))
    np.testing.assert_array_equal(from_npy, cube_hwc.transpose(2, 0, 1))
    np.testing.assert_array_equal(from_npz, from_npy)
    assert to_hw(read_raster(tmp_path / "c.npz", key="gt")).shape == (4, 5)


def test_npz_missing_key_and_corrupt(tmp_path):
    np.savez(tmp_path / "c.npz", hsi=np.zeros((2, 2)))
    with pytest.raises(
        DataError, match=r"c\.npz: no key 'x', expected one of the keys present: \['hsi'\]"
    ):
        read_raster(tmp_path / "c.npz", key="x")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match=r"bad\.npy.*(truncated|corrupt)"):
        read_raster(tmp_path / "bad.npy")


def test_unknown_format_and_bad_layout(tmp_path):
    with pytest.raises(DataError, match=r"unknown raster format \(suffix '\.xyz'\)"):
        infer_format(tmp_path / "scene.xyz")
    np.save(tmp_path / "c.npy", np.zeros((2, 3, 4)))
    with pytest.raises(DataError, match=r"label raster has 2 channels"):
        to_hw(read_raster(tmp_path / "c.npy", layout="CHW"))
    with pytest.raises(DataError, match=r"needs a 'key'"):
        read_raster(tmp_path / "c.npz")
