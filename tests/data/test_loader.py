"""Dataset descriptions -> Scene: layouts, label values, splits, and every user-facing error."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import yaml

from comix.data.errors import DataError
from comix.data.loader import load_scene
from comix.data.split import stratified_split

H, W, BANDS = 6, 9, 4


def _write(tmp_path, description: dict):
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(description))
    return path


@pytest.fixture()
def trento_style(tmp_path):
    """Trento-like files: HSI (H, W, bands) and LiDAR (H, W, 2) under key 'data', a label map."""
    rng = np.random.default_rng(0)
    hsi = rng.random((H, W, BANDS)).astype(np.float32)
    lidar = rng.random((H, W, 2)).astype(np.float32)
    labels = np.zeros((H, W), np.uint8)
    labels[:3, :4], labels[3:, 5:], labels[0, 8] = 1, 2, 3
    scipy.io.savemat(tmp_path / "hsi.mat", {"data": hsi})
    scipy.io.savemat(tmp_path / "lidar.mat", {"data": lidar})
    scipy.io.savemat(tmp_path / "gt.mat", {"mask_test": labels})
    description = {
        "name": "mini",
        "hsi": {"path": "hsi.mat", "key": "data"},
        "x": {"path": "lidar.mat", "key": "data"},
        "x_channel_names": ["first", "last"],
        "labels": {"path": "gt.mat", "key": "mask_test"},
        "wavelengths_nm": {"start": 400, "stop": 1000, "count": BANDS},
        "classes": ["a", "b", "c"],
        "split": {"method": "stratified", "train_per_class": 3, "seed": 1},
    }
    return tmp_path, description, hsi, lidar, labels


def test_mat_scene_axes_and_split(trento_style):
    folder, description, hsi, lidar, labels = trento_style
    scene = load_scene(_write(folder, description))
    assert scene.hsi.shape == (BANDS, H, W) and scene.hsi.dtype == np.float32
    np.testing.assert_array_equal(scene.hsi, hsi.transpose(2, 0, 1))
    np.testing.assert_array_equal(scene.x, lidar.transpose(2, 0, 1))
    np.testing.assert_array_equal(scene.labels, labels)
    np.testing.assert_allclose(scene.wavelengths_nm, [400, 600, 800, 1000])
    # class 1 and 2 have 12 pixels -> 3 train each; class 3 has 1 pixel -> 0 train (half, rounded down)
    np.testing.assert_array_equal(scene.class_counts(scene.train_mask), [0, 3, 3, 0])
    np.testing.assert_array_equal(scene.class_counts(scene.test_mask), [0, 9, 9, 1])
    again = load_scene(folder / "dataset.yaml")
    np.testing.assert_array_equal(again.train_mask, scene.train_mask)


def test_stratified_fraction_is_seeded():
    labels = np.repeat(np.arange(0, 4), 50).reshape(10, 20)
    first, test = stratified_split(labels, train_fraction=0.2, seed=5)
    second, _ = stratified_split(labels, train_fraction=0.2, seed=5)
    other, _ = stratified_split(labels, train_fraction=0.2, seed=6)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert [int((labels[first] == k).sum()) for k in (1, 2, 3)] == [10, 10, 10]
    assert not (first & test).any() and ((first | test) == (labels > 0)).all()


def test_muufl_style_minus_one_unlabelled_and_x_list(tmp_path):
    labels = np.full((H, W), -1, np.int16)
    labels[1, 1], labels[2, 2], labels[4, 4] = 11, 7, 11
    np.save(tmp_path / "hsi.npy", np.ones((H, W, BANDS), np.float32))
    np.save(tmp_path / "dsm.npy", np.zeros((H, W), np.float32))
    np.save(tmp_path / "dtm.npy", np.ones((1, H, W), np.float32))
    np.save(tmp_path / "gt.npy", labels)
    path = _write(
        tmp_path,
        {
            "hsi": "hsi.npy",
            "x": ["dsm.npy", {"path": "dtm.npy", "layout": "CHW"}],
            "labels": "gt.npy",
            "classes": ["seven", "eleven"],
            "label_values": [7, 11],
            "unlabelled": -1,
            "split": {"train_fraction": 0.5},
        },
    )
    scene = load_scene(path)
    assert scene.x.shape == (2, H, W)
    np.testing.assert_array_equal(scene.x[1], 1.0)
    assert scene.labels[1, 1] == 2 and scene.labels[2, 2] == 1 and scene.labels[0, 0] == 0
    assert scene.x_channel_names == ("lidar_dsm_0", "lidar_dsm_1")


def test_houston_style_label_rasters_as_split(tmp_path):
    train = np.zeros((H, W), np.uint8)
    test = np.zeros((H, W), np.uint8)
    train[0, :3], test[5, :4] = 2, 1
    for name, array in (
        ("hsi", np.ones((H, W, BANDS))),
        ("x", np.ones((H, W))),
        ("tr", train),
        ("te", test),
    ):
        np.save(tmp_path / f"{name}.npy", array)
    scene = load_scene(
        _write(
            tmp_path,
            {
                "hsi": "hsi.npy",
                "x": "x.npy",
                "classes": ["p", "q"],
                "split": {"train": "tr.npy", "test": "te.npy"},
            },
        )
    )
    np.testing.assert_array_equal(scene.class_counts(), [H * W - 7, 4, 3])
    assert scene.train_mask.sum() == 3 and scene.test_mask.sum() == 4


def test_error_grid_mismatch_names_file(trento_style):
    folder, description, *_ = trento_style
    scipy.io.savemat(folder / "lidar.mat", {"data": np.zeros((H, W + 1, 2), np.float32)})
    with pytest.raises(DataError, match=rf"lidar\.mat: X raster is {H}x{W + 1}.*expected {H}x{W}"):
        load_scene(_write(folder, description))


def test_error_label_values_outside_classes(trento_style):
    folder, description, *_ = trento_style
    bad = np.zeros((H, W), np.uint8)
    bad[0, 0], bad[1, 1] = 9, 1
    scipy.io.savemat(folder / "gt.mat", {"mask_test": bad})
    with pytest.raises(
        DataError, match=r"gt\.mat: label values outside the declared classes: 9 \(1 px\)"
    ):
        load_scene(_write(folder, description))


def test_error_missing_key_and_unknown_format(trento_style):
    folder, description, *_ = trento_style
    description["labels"]["key"] = "mask_train"
    with pytest.raises(DataError, match=r"gt\.mat: no variable 'mask_train'.*\['mask_test'\]"):
        load_scene(_write(folder, description))
    description["labels"] = {"path": "gt.xyz"}
    with pytest.raises(DataError, match=r"unknown raster format"):
        load_scene(_write(folder, description))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"classes": []}, r"'classes' is \[\], expected a non-empty list"),
        (
            {"split": {"train_fraction": 1.5}},
            r"train_fraction' is 1\.5, expected a number in \(0, 1\)",
        ),
        ({"split": {"train_fraction": 0.1, "train_per_class": 3}}, r"expected exactly one of them"),
        (
            {"label_values": [1, 2]},
            r"'label_values' has 2 entries, expected one raw value per class \(3\)",
        ),
        ({"hsi": {"path": "hsi.mat", "layout": "WHC"}}, r"'hsi\.layout' is 'WHC', expected one of"),
        (
            {"wavelengths_nm": {"start": 400, "stop": 1000, "count": 5}},
            r"5 wavelengths for the 4 bands",
        ),
    ],
)
def test_description_errors(trento_style, change, message):
    folder, description, *_ = trento_style
    description.update(change)
    with pytest.raises(DataError, match=message):
        load_scene(_write(folder, description))


def test_description_not_found_or_not_yaml(tmp_path):
    with pytest.raises(DataError, match=r"description file not found"):
        load_scene(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("hsi: [unclosed\n")
    with pytest.raises(DataError, match=r"bad\.yaml: not valid YAML"):
        load_scene(tmp_path / "bad.yaml")
