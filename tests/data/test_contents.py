"""What `comix data inspect` reports: array, raster, keyed-file and dataset contents as dataclasses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from comix.data.contents import (
    ArrayContents,
    DatasetContents,
    KeyedFileContents,
    RasterContents,
    describe_path,
    describe_raster,
)
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.geotiff_io import write_geotiff


def test_array_contents_counts_only_label_like_arrays():
    labels = np.array([[0, 0, 3], [3, 3, 7]], dtype=np.uint8)
    got = ArrayContents.of(labels, count_values=True)
    assert got == ArrayContents((2, 3), "uint8", (0.0, 7.0), ((0, 2), (3, 3), (7, 1)))
    assert got.describe() == "shape (2, 3) uint8, values 0..7"
    whole_floats = ArrayContents.of(np.array([1.0, 2.0, 2.0], dtype=np.float32), count_values=True)
    assert whole_floats.value_counts == ((1, 1), (2, 2))
    assert ArrayContents.of(np.array([0.5, 1.0]), count_values=True).value_counts is None
    assert ArrayContents.of(np.arange(65), count_values=True).value_counts is None, (
        "65 distinct values: not labels"
    )
    assert ArrayContents.of(np.arange(64), count_values=True).value_counts is not None
    assert ArrayContents.of(np.array([1, 2])).value_counts is None, "counted only on request"


def test_array_contents_of_empty_nan_and_text_arrays():
    assert ArrayContents.of(np.zeros((0, 3), np.float32)).describe() == "shape (0, 3) float32"
    assert ArrayContents.of(np.array([np.nan, 2.0, -1.0])).value_range == (-1.0, 2.0)
    assert ArrayContents.of(np.array(["ab", "c"])).describe() == "shape (2,) <U2"


def test_raster_contents_of_a_geotiff(tmp_path):
    cube = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    georef = GeoRef.from_origin(100.0, 200.0, 2.5, 2.5, "EPSG:26915")
    write_geotiff(tmp_path / "hsi.tif", cube, georef, np.array([400.0, 500.0, 612.5]))
    got = describe_path(tmp_path / "hsi.tif")
    assert isinstance(got, RasterContents)
    assert (got.fmt, got.layout, got.array.shape, got.array.value_range) == (
        "geotiff",
        "CHW",
        (3, 4, 5),
        (0.0, 59.0),
    )
    assert got.wavelengths_nm == (400.0, 500.0, 612.5) and got.georef.crs == "EPSG:26915"
    lines = got.summary().splitlines()
    assert (
        lines[0]
        == f"{tmp_path / 'hsi.tif'}: geotiff, layout CHW, shape (3, 4, 5) float32, values 0..59"
    )
    assert lines[1] == "  wavelengths 400.00..612.50 nm (3 bands)" and lines[2].startswith(
        "  georef: GeoRef("
    )
    assert lines[3] == "  value counts: " + " ".join(f"{v}:1" for v in range(60)), (
        "whole-number floats count"
    )


def test_keyed_file_lists_every_variable_and_says_which_are_not_arrays(tmp_path):
    path = tmp_path / "gt.mat"
    scipy.io.savemat(path, {"labels": np.eye(3, dtype=np.uint8), "info": {"sensor": "CASI"}})
    got = describe_raster(path)
    assert isinstance(got, KeyedFileContents) and got.keys == ["labels", "info"]
    labels, info = got.entries
    assert labels.array.shape == (3, 3) and labels.problem is None
    assert info.array is None and "expected a numeric array" in info.problem
    text = got.summary()
    assert f"{path}: mat file with keys ['labels', 'info']" in text
    assert (
        "  labels: shape (3, 3) uint8, values 0..1" in text
        and "  info: not a numeric array (" in text
    )
    np.savez(tmp_path / "x.npz", a=np.ones(2))
    with pytest.raises(
        DataError, match=r"no key 'nope', expected one of the keys present: \['a'\]"
    ):
        describe_raster(tmp_path / "x.npz", key="nope")


def test_dataset_contents_of_a_scene(small_houston):
    scene = small_houston.scene
    got = DatasetContents.of(scene)
    assert (got.height, got.width, got.bands, got.x_channel_names) == (96, 160, 144, ("dsm",))
    assert got.wavelength_range == (364.0, 1046.0) and got.crs == "EPSG:26915"
    assert len(got.labelled) == len(got.class_names) + 1 == 12 and sum(got.labelled) == 96 * 160
    assert all(t + s == n for t, s, n in zip(got.train[1:], got.test[1:], got.labelled[1:]))
    assert got.train[0] == got.test[0] == 0, "masks cover only labelled pixels"
    assert DatasetContents.of(scene).summary() == got.summary()
    lines = got.summary().splitlines()
    assert lines[1].startswith("  hsi 144 bands, 364.0-1046.0 nm, values ")
    assert lines[-1] == f"  unlabelled pixels: {got.labelled[0]}"
    assert lines[5].split() == [
        "1",
        "Healthy",
        "grass",
        str(got.labelled[1]),
        str(got.train[1]),
        str(got.test[1]),
    ]


def test_dataset_description_refuses_a_key_or_layout(tmp_path):
    (tmp_path / "d.yaml").write_text("name: x\n")
    with pytest.raises(
        DataError, match=r"got a key or layout with a dataset description, expected them only"
    ):
        describe_path(tmp_path / "d.yaml", key="data")
