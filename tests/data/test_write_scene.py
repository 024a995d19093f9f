"""Synthetic scenes written in every benchmark format come back identical through the readers."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from comix.data.errors import DataError
from comix.data.loader import load_scene
from comix.data.scene_writer import write_scene


@pytest.mark.parametrize(
    "fmt, mat_version",
    [("geotiff", "5"), ("mat", "5"), ("mat", "7.3"), ("envi", "5"), ("npz", "5")],
)
def test_roundtrip(small_houston, tmp_path, fmt, mat_version):
    scene = small_houston.scene
    description = write_scene(scene, tmp_path / fmt, fmt, mat_version=mat_version)
    loaded = load_scene(description)
    for name in ("hsi", "x", "labels", "train_mask", "test_mask"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(scene, name), err_msg=name)
    np.testing.assert_allclose(loaded.wavelengths_nm, scene.wavelengths_nm, atol=1e-3)
    assert (
        loaded.class_names == scene.class_names and loaded.x_channel_names == scene.x_channel_names
    )
    assert loaded.georef is not None and loaded.georef.crs == scene.georef.crs
    np.testing.assert_allclose(loaded.georef.transform, scene.georef.transform)
    leftovers = [p.name for p in (tmp_path / fmt).iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_description_is_plain_yaml_with_relative_paths(small_houston, tmp_path):
    description = write_scene(small_houston.scene, tmp_path, "mat")
    data = yaml.safe_load(description.read_text())
    assert data["hsi"] == {"path": "hsi.mat", "key": "data", "layout": "HWC"}
    assert data["split"]["method"] == "masks" and data["classes"][0] == "Healthy grass"
    assert len(data["wavelengths_nm"]) == 144


def test_unknown_write_format(small_houston, tmp_path):
    with pytest.raises(DataError, match=r"got format 'hdf', expected one of"):
        write_scene(small_houston.scene, tmp_path, "hdf")
