"""The synthetic scene generator: reproducible, realistic structure, and hard in the intended ways."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.errors import DataError
from comix.data.synthetic import houston_like, make_preset, trento_like
from comix.data.synthetic.urban_layout import (
    COMMERCIAL,
    GRASS,
    HIGHWAY,
    PARKING,
    RESIDENTIAL,
    ROAD,
    TREES,
    WATER,
)


def test_same_seed_same_arrays_other_seed_differs(small_houston):
    again = houston_like(seed=7, height=96, width=160)
    for name in ("hsi", "x", "labels", "train_mask", "test_mask"):
        np.testing.assert_array_equal(
            getattr(again.scene, name), getattr(small_houston.scene, name), err_msg=name
        )
    other = houston_like(seed=8, height=96, width=160)
    assert not np.array_equal(other.scene.hsi, small_houston.scene.hsi)


def test_shapes_dtypes_and_sparse_labels(small_houston):
    scene = small_houston.scene
    assert scene.hsi.shape == (144, 96, 160) and scene.hsi.dtype == np.float32
    assert scene.x.shape == (1, 96, 160) and scene.labels.dtype == np.int64
    assert scene.wavelengths_nm[0] == 364.0 and scene.wavelengths_nm[-1] == 1046.0
    labelled = scene.labels > 0
    assert 0.02 < labelled.mean() < 0.3, "labels should be sparse patches, not a dense map"
    assert not (scene.train_mask & scene.test_mask).any()
    assert ((scene.train_mask | scene.test_mask) == labelled).all()
    # labels agree with the dense truth wherever given
    np.testing.assert_array_equal(scene.labels[labelled], small_houston.dense_labels[labelled])


@pytest.fixture(scope="module")
def medium_houston():
    return houston_like(seed=0, height=200, width=400)


def test_houston_like_has_every_class_with_train_and_test(medium_houston):
    generated = medium_houston
    scene = generated.scene
    assert scene.num_classes >= 8
    assert (np.bincount(generated.dense_labels.ravel(), minlength=12)[1:] > 0).all()
    assert (scene.class_counts(scene.train_mask)[1:] > 0).all()
    assert (scene.class_counts(scene.test_mask)[1:] > 0).all()


def test_dsm_consistent_with_land_cover(medium_houston):
    dense, dsm = medium_houston.dense_labels, medium_houston.scene.x[0]
    above_ground = dsm - medium_houston.terrain
    flat_classes = np.isin(dense, (ROAD, HIGHWAY, GRASS))
    assert abs(float(np.median(above_ground[flat_classes]))) < 0.3
    assert np.median(above_ground[dense == TREES]) > 4.0
    assert np.median(above_ground[dense == RESIDENTIAL]) > 3.0
    assert np.median(above_ground[dense == COMMERCIAL]) > 5.0
    water = dense == WATER
    if water.any():
        assert float(np.std(dsm[water])) < 0.5, "water surface should be level"


def _mean_spectrum(scene, mask):
    return scene.hsi[:, mask].mean(axis=1)


def test_confusable_classes_share_spectra_but_not_height(medium_houston):
    """Commercial roofs and parking lots are the same paved material; grass and trees the same canopy."""
    scene, dense = medium_houston.scene, medium_houston.dense_labels
    sunlit = ~medium_houston.shadow

    def angle(a, b):
        return float(np.degrees(np.arccos(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))))

    roof = _mean_spectrum(scene, (dense == COMMERCIAL) & sunlit)
    lot = _mean_spectrum(scene, (dense == PARKING) & sunlit)
    grass = _mean_spectrum(scene, (dense == GRASS) & sunlit)
    trees = _mean_spectrum(scene, (dense == TREES) & sunlit)
    assert angle(roof, lot) < 6.0 < angle(roof, grass)
    assert angle(grass, trees) < 6.0 < angle(grass, lot)


def test_cast_shadows_darken(medium_houston):
    scene, dense, shadow = medium_houston.scene, medium_houston.dense_labels, medium_houston.shadow
    assert 0.005 < shadow.mean() < 0.4
    ground = np.isin(dense, (GRASS, ROAD, PARKING))
    nir = int(np.argmin(np.abs(scene.wavelengths_nm - 800)))
    assert scene.hsi[nir][ground & shadow].mean() < 0.6 * scene.hsi[nir][ground & ~shadow].mean()


def test_custom_band_list_and_trento_preset():
    generated = trento_like(
        seed=1, height=80, width=160, wavelengths_nm=np.array([450.0, 550.0, 650.0, 850.0])
    )
    scene = generated.scene
    assert scene.hsi.shape == (4, 80, 160) and scene.x.shape == (2, 80, 160)
    assert scene.class_names[0] == "Apple trees" and scene.georef.crs == "EPSG:32632"
    vegetation = np.isin(generated.dense_labels, (1, 4)) & (
        generated.scene.x[0] - generated.terrain > 2.0
    )
    assert vegetation.sum() > 100, "expected orchard or wood crowns in the scene"
    red, nir = scene.hsi[2], scene.hsi[3]
    assert np.median(nir[vegetation] / np.maximum(red[vegetation], 1e-3)) > 3.0
    # last return reaches below the canopy top
    assert (scene.x[1][vegetation] <= scene.x[0][vegetation] + 0.5).all()


def test_bad_requests():
    with pytest.raises(DataError, match=r"unknown preset 'paris'"):
        make_preset("paris")
    with pytest.raises(DataError, match=r"got 8x100 pixels, expected at least 16x16"):
        houston_like(height=8, width=100)
    with pytest.raises(
        DataError, match=r"x channel 'radar' unknown, expected 'dsm' or 'last_return'"
    ):
        houston_like(height=16, width=16, x_channels=("dsm", "radar"))
