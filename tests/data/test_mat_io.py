"""MATLAB .mat reading: v5 through scipy, v7.3 through h5py (axes reversed), structs, cells, errors."""

from __future__ import annotations

import sys

import h5py
import numpy as np
import pytest
import scipy.io

from comix.data.errors import DataError
from comix.data.mat_io import list_mat_keys, mat_version, read_mat, write_mat


def _cube() -> np.ndarray:
    """(H, W, C) = (5, 7, 3), every value distinct, so any axis mix-up shows."""
    return np.arange(5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3)


def test_v5_roundtrip_keeps_matlab_axis_order(tmp_path):
    path = tmp_path / "cube.mat"
    scipy.io.savemat(path, {"data": _cube(), "gt": np.eye(3, dtype=np.uint8)})
    assert mat_version(path) == "5"
    np.testing.assert_array_equal(read_mat(path, "data"), _cube())
    assert sorted(list_mat_keys(path)) == ["data", "gt"]


def test_v73_file_written_with_plain_h5py_reads_back_in_matlab_order(tmp_path):
    """A v7.3 file stores MATLAB's (H, W, C) as an HDF5 (C, W, H) dataset; write that by hand."""
    path = tmp_path / "cube73.mat"
    with h5py.File(path, "w", userblock_size=512) as handle:
        handle.create_dataset("data", data=_cube().transpose(2, 1, 0))
    with open(path, "r+b") as raw:
        raw.write(b"MATLAB 7.3 MAT-file".ljust(128, b" "))
    assert mat_version(path) == "7.3"
    out = read_mat(path, "data")
    assert out.shape == (5, 7, 3)
    np.testing.assert_array_equal(out, _cube())


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_write_mat_roundtrip(tmp_path, version):
    path = write_mat(
        tmp_path / f"w{version}.mat",
        {"data": _cube(), "mask": np.array([[1, 0, 2]], np.uint8)},
        version,
    )
    assert mat_version(path) == version
    np.testing.assert_array_equal(read_mat(path, "data"), _cube())
    np.testing.assert_array_equal(read_mat(path, "mask"), [[1, 0, 2]])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], (
        "temporary file left behind"
    )


def test_v5_struct_and_cell_paths(tmp_path):
    """MUUFL-style: one struct ``hsi`` with a ``Data`` cube and a cell of LiDAR structs."""
    path = tmp_path / "muufl.mat"
    lidar = np.empty((2,), dtype=object)
    lidar[0] = {"z": np.full((5, 7), 1.5)}
    lidar[1] = {"z": np.full((5, 7), 2.5)}
    scipy.io.savemat(path, {"hsi": {"Data": _cube(), "Lidar": lidar}})
    np.testing.assert_array_equal(read_mat(path, "hsi.Data"), _cube())
    np.testing.assert_array_equal(read_mat(path, "hsi.Lidar[1].z"), np.full((5, 7), 2.5))
    with pytest.raises(DataError, match=r"no field 'Nope'.*expected one of.*Data"):
        read_mat(path, "hsi.Nope")
    with pytest.raises(DataError, match=r"out of range"):
        read_mat(path, "hsi.Lidar[5].z")


def test_v73_struct_path(tmp_path):
    path = tmp_path / "s73.mat"
    with h5py.File(path, "w", userblock_size=512) as handle:
        handle.create_group("hsi").create_dataset("Data", data=_cube().T)
    np.testing.assert_array_equal(read_mat(path, "hsi.Data"), _cube())
    with pytest.raises(DataError, match=r"no key 'Other'.*present: \['Data'\]"):
        read_mat(path, "hsi.Other")


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_missing_key_lists_keys_present(tmp_path, version):
    path = write_mat(
        tmp_path / "k.mat", {"data": _cube(), "labels": np.zeros((5, 7), np.uint8)}, version
    )
    with pytest.raises(DataError) as info:
        read_mat(path, "mask_test")
    message = str(info.value)
    assert (
        "k.mat" in message
        and "'mask_test'" in message
        and "data" in message
        and "labels" in message
    )


def test_v73_without_h5py_says_so(tmp_path, monkeypatch):
    path = write_mat(tmp_path / "n.mat", {"data": _cube()}, "7.3")
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(DataError, match=r"n\.mat.*v7\.3.*h5py"):
        read_mat(path, "data")


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_truncated_file(tmp_path, version):
    path = write_mat(
        tmp_path / "t.mat", {"data": np.random.default_rng(0).random((40, 40, 8))}, version
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.mat.*(truncated|corrupt)"):
        read_mat(path, "data")


def test_tiny_and_garbage_files(tmp_path):
    tiny = tmp_path / "tiny.mat"
    tiny.write_bytes(b"MATLAB")
    with pytest.raises(DataError, match=r"tiny\.mat.*128-byte"):
        read_mat(tiny, "data")
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"garbage\.mat"):
        read_mat(garbage, "data")
    with pytest.raises(DataError, match=r"not found"):
        read_mat(tmp_path / "absent.mat", "data")


def test_v73_cell_of_arrays(tmp_path):
    """MATLAB v7.3 cells are datasets of object references into '#refs#'."""
    path = tmp_path / "cell73.mat"
    first, second = np.full((5, 7), 1.0), np.arange(35.0).reshape(5, 7)
    with h5py.File(path, "w", userblock_size=512) as handle:
        refs = handle.create_group("#refs#")
        a = refs.create_dataset("a", data=first.T)
        b = refs.create_dataset("b", data=second.T)
        cell = handle.create_dataset(
            "lidar", shape=(2, 1), dtype=h5py.ref_dtype
        )  # MATLAB 1x2 cell, reversed
        cell[0, 0], cell[1, 0] = a.ref, b.ref
    np.testing.assert_array_equal(read_mat(path, "lidar[1]"), second)
    np.testing.assert_array_equal(read_mat(path, "lidar[0]"), first)
    assert list_mat_keys(path) == ["lidar"]
    with pytest.raises(DataError, match=r"lidar\[2\] out of range.*cell size 2"):
        read_mat(path, "lidar[2]")
