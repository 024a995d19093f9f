"""The real benchmark pieces in ../shared/data (skipped when absent): shapes, ranges and class counts
as documented in that folder's README, read through our readers and a dataset description."""

from __future__ import annotations

import numpy as np
import yaml

from comix.data.loader import load_scene
from comix.data.mat_io import read_mat
from comix.data.raster_io import read_raster, to_chw
from comix.data.synthetic.spectral_library import HOUSTON2013_CLASSES, load_houston_pixels

TRENTO_CLASSES = ["Apple trees", "Buildings", "Ground", "Woods", "Vineyard", "Roads"]
TRENTO_COUNTS = [69386, 4034, 2903, 479, 9123, 10501, 3174]


def test_trento_lidar(shared_data):
    raster = read_raster(shared_data / "trento" / "Italy_lidar.mat", key="data")
    assert raster.array.shape == (166, 600, 2) and raster.array.dtype == np.float32
    chw = to_chw(raster)
    assert chw.shape == (2, 166, 600)
    assert float(chw.min()) == 0.0 and float(chw.max()) == 2901.0


def test_trento_label_map(shared_data):
    labels = read_mat(shared_data / "trento" / "allgrd.mat", "mask_test")
    assert labels.shape == (166, 600) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels.ravel()), TRENTO_COUNTS)


def test_trento_through_a_description(shared_data, tmp_path):
    """Real LiDAR + real labels with a stand-in HSI (the real cube is not available here)."""
    np.save(tmp_path / "hsi_standin.npy", np.zeros((166, 600, 63), np.float32))
    trento = shared_data / "trento"
    (tmp_path / "trento.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "trento",
                "hsi": {"path": "hsi_standin.npy", "layout": "HWC"},
                "x": {"path": str(trento / "Italy_lidar.mat"), "key": "data"},
                "x_modality": "lidar",
                "labels": {"path": str(trento / "allgrd.mat"), "key": "mask_test"},
                "wavelengths_nm": {"start": 402.89, "stop": 989.09, "count": 63},
                "classes": TRENTO_CLASSES,
                "split": {"method": "stratified", "train_fraction": 0.1, "seed": 0},
            }
        )
    )
    scene = load_scene(tmp_path / "trento.yaml")
    assert scene.x.shape == (2, 166, 600) and scene.labels.dtype == np.int64
    np.testing.assert_array_equal(scene.class_counts(), TRENTO_COUNTS)
    assert int(scene.train_mask.sum()) + int(scene.test_mask.sum()) == 30214
    expected_train = [max(1, round(0.1 * n)) for n in TRENTO_COUNTS[1:]]
    np.testing.assert_array_equal(scene.class_counts(scene.train_mask)[1:], expected_train)


def test_houston_pixels(shared_data):
    folder = shared_data / "houston2013_pixels"
    spectra = read_mat(folder / "HSI_TrSet.mat", "HSI_TrSet")
    assert spectra.shape == (2832, 144) and spectra.dtype == np.float64
    assert spectra.min() >= 0.0 and spectra.max() <= 1.0
    assert read_mat(folder / "TeLabel.mat", "TeLabel").shape == (12197, 1)
    assert read_mat(folder / "LiDAR_TrSet.mat", "LiDAR_TrSet").shape == (2832, 21)
    per_class = load_houston_pixels(folder)
    assert list(per_class) == list(HOUSTON2013_CLASSES)
    assert sum(v.shape[0] for v in per_class.values()) == 2832
    assert all(v.shape[0] > 0 and v.shape[1] == 144 for v in per_class.values())


def test_synthetic_scene_from_real_houston_spectra(shared_data):
    from comix.data.synthetic import houston_like

    generated = houston_like(
        seed=2,
        height=64,
        width=96,
        spectral_source="houston2013",
        houston_folder=str(shared_data / "houston2013_pixels"),
    )
    scene = generated.scene
    assert scene.hsi.shape == (144, 64, 96)
    # band-wise normalised pixels (0-1) times shading/brightness, plus noise
    assert float(scene.hsi.min()) > -0.2 and float(scene.hsi.max()) < 2.0
    assert np.isfinite(scene.hsi).all()
