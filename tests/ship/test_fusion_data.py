"""Fusion data: resampling operators, the thermal band, synthesis, PanCollection .h5 and
image-folder readers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from comix.data.errors import DataError
from comix.data.synthetic.materials import THERMAL
from comix.ship.data import (
    IrVisSet,
    PansharpenSet,
    bicubic_upsample,
    irvis_pair,
    mtf_decimate,
    pansharpen_scene,
    patches,
    read_image_pairs,
    read_pancollection,
    wald_reduced,
    write_image_pairs,
    write_pancollection,
)
from comix.ship.data.resample import decimation_matrix
from comix.ship.data.thermal import brightness_temperature, planck_band_radiance

HOUSTON = Path(__file__).resolve().parents[3] / "shared" / "data" / "houston2013_pixels"


def test_bicubic_upsampling_equals_pytorchs():
    cube = np.random.default_rng(0).random((3, 9, 13)).astype(np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(cube)[None].double(), scale_factor=4, mode="bicubic", align_corners=False
    )[0].numpy()
    np.testing.assert_allclose(bicubic_upsample(cube, 4), want, atol=1e-6)


@pytest.mark.parametrize("gnyq", [0.15, 0.3, 0.5])
def test_decimation_filter_has_the_sensors_mtf_gain_at_nyquist(gnyq):
    """The Gaussian's frequency response at the low-resolution Nyquist frequency is the sensor's MTF gain."""
    row = decimation_matrix(256, 4, gnyq)[32]  # an interior low-resolution pixel
    taps = np.arange(256) - (4 * 32 + 1.5)
    response = abs(
        np.sum(row * np.exp(-2j * np.pi * taps / 8.0))
    )  # 1 / (2 r) cycles per high-res pixel
    assert response == pytest.approx(gnyq, abs=2e-3)
    assert np.allclose(decimation_matrix(64, 4, gnyq).sum(axis=1), 1.0)
    np.testing.assert_allclose(mtf_decimate(np.full((1, 32, 48), 7.0), 4, gnyq), 7.0, rtol=1e-6)


def test_planck_band_radiance_integrates_to_stefan_boltzmann_over_all_wavelengths():
    """Worked check: over (nearly) all wavelengths the band radiance is sigma T^4 / pi."""
    total = planck_band_radiance(np.asarray(300.0), (0.5, 1000.0), samples=200_001)
    assert float(total) == pytest.approx(5.670374419e-8 * 300.0**4 / np.pi, rel=2e-4)
    radiance = planck_band_radiance(np.asarray([280.0, 300.0, 330.0]))
    np.testing.assert_allclose(brightness_temperature(radiance), [280.0, 300.0, 330.0], atol=0.01)


def test_low_emissivity_metal_looks_colder_than_asphalt_at_the_same_temperature():
    sky = planck_band_radiance(np.asarray(250.0))
    hot = planck_band_radiance(np.asarray(325.0))
    metal = THERMAL["metal"].emissivity * hot + (1 - THERMAL["metal"].emissivity) * sky
    asphalt = THERMAL["paved"].emissivity * hot + (1 - THERMAL["paved"].emissivity) * sky
    assert brightness_temperature(metal) < 290.0 < 320.0 < brightness_temperature(asphalt)


def test_the_existing_synthetic_scenes_are_bit_identical():
    """Adding thermal properties and the canvas/shade fields changed no draw: the digests of main's
    generator."""
    from comix.data.synthetic import houston_like, trento_like

    expected = {
        "houston_like": "831c49c23d83d7aeaa1df88635f8212e190fa92b3d670bf6a07932e68f50db11",
        "trento_like": "5390a5854e8662ce6008d0d6fce53c4f80336955c5cc0a6f65e636f762b39aa0",
    }
    for make, seed, height, width in ((houston_like, 0, 128, 256), (trento_like, 3, 96, 160)):
        generated = make(seed=seed, height=height, width=width)
        scene = generated.scene
        digest = hashlib.sha256()
        for array in (
            scene.hsi,
            scene.x,
            scene.labels,
            scene.train_mask,
            scene.test_mask,
            generated.dense_labels,
            generated.shadow,
            generated.terrain,
        ):
            digest.update(np.ascontiguousarray(array).tobytes())
        assert digest.hexdigest() == expected[make.__name__]


def test_wald_protocol_shapes_and_reference(small_scene):
    delivered = pansharpen_scene(small_scene, "quickbird")
    assert delivered.ms.shape == (4, 32, 32) and delivered.pan.shape == (1, 128, 128)
    reduced = wald_reduced(delivered)
    assert reduced.ms.shape == (1, 4, 8, 8) and reduced.pan.shape == (1, 1, 32, 32)
    np.testing.assert_array_equal(reduced.gt[0], delivered.ms)  # the delivered MS is the reference
    assert reduced.lms.shape == (1, 4, 32, 32)
    cut = patches(reduced, 16, 8)
    assert len(cut) == 9 and cut.ms.shape == (9, 4, 4, 4)
    with pytest.raises(DataError, match="expected multiples of the ratio 4"):
        patches(reduced, 10)


def test_irvis_pair_is_physically_ordered(small_scene):
    visible, infrared, mask, thermal = irvis_pair(small_scene, seed=0)
    assert visible.shape == (3, 128, 128) and infrared.shape == mask.shape == (1, 128, 128)
    assert (
        visible.min() >= 0.0
        and visible.max() <= 1.0
        and infrared.min() >= 0.0
        and infrared.max() <= 1.0
    )
    material = small_scene.canvas.material
    from comix.data.synthetic.materials import MATERIAL_ID

    water, paved = material == MATERIAL_ID["water"], material == MATERIAL_ID["paved"]
    if water.any() and paved.any():
        assert thermal["brightness_k"][water].mean() < thermal["brightness_k"][paved].mean()
    assert 0.0 < mask.mean() < 0.5


def test_pancollection_round_trip_and_errors(tmp_path, small_scene):
    reduced = wald_reduced(pansharpen_scene(small_scene))
    path = write_pancollection(tmp_path / "test.h5", reduced, scale=2047.0)
    with h5py.File(path) as handle:
        assert sorted(handle) == ["gt", "lms", "ms", "pan"] and handle["ms"].dtype == np.float64
    back = read_pancollection(path)
    assert back.ratio == 4 and back.data_range == 2047.0
    np.testing.assert_allclose(back.gt, reduced.gt * 2047.0, rtol=1e-6)
    with h5py.File(tmp_path / "no_pan.h5", "w") as handle:
        handle["ms"] = np.zeros((1, 4, 8, 8))
    with pytest.raises(DataError, match=r"missing dataset\(s\) \['pan'\], found \['ms'\]"):
        read_pancollection(tmp_path / "no_pan.h5")
    with h5py.File(tmp_path / "ratio.h5", "w") as handle:
        handle["ms"], handle["pan"] = np.zeros((1, 4, 8, 8)), np.zeros((1, 1, 32, 24))
    with pytest.raises(
        DataError, match="got H/h = 4 and W/w = 3, expected one integer resolution ratio"
    ):
        read_pancollection(tmp_path / "ratio.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        read_pancollection(tmp_path / "text.h5")
    with h5py.File(tmp_path / "gt.h5", "w") as handle:
        handle["ms"], handle["pan"], handle["gt"] = (
            np.zeros((1, 4, 8, 8)),
            np.zeros((1, 1, 32, 32)),
            np.zeros((1, 3, 32, 32)),
        )
    with pytest.raises(
        DataError, match=r"gt: got shape \(1, 3, 32, 32\), expected \(1, 4, 32, 32\)"
    ):
        read_pancollection(tmp_path / "gt.h5")


def test_image_folder_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    pairs = IrVisSet(
        [rng.random((3, 20, 24)).astype(np.float32)],
        [rng.random((1, 20, 24)).astype(np.float32)],
        [np.ones((1, 20, 24), np.float32)],
        ["00001"],
    )
    write_image_pairs(tmp_path / "set", pairs)
    back = read_image_pairs(tmp_path / "set")
    assert back.names == ["00001"] and back.visible[0].shape == (3, 20, 24)
    np.testing.assert_allclose(back.visible[0], pairs.visible[0], atol=0.5 / 255 + 1e-6)
    (tmp_path / "set" / "vi" / "00001.png").rename(tmp_path / "set" / "vi" / "00002.png")
    with pytest.raises(DataError, match=r"2 image\(s\) without a partner"):
        read_image_pairs(tmp_path / "set")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no infrared folder, expected one of"):
        read_image_pairs(tmp_path / "empty")
    with pytest.raises(DataError, match="expected registered images of one size"):
        IrVisSet([np.zeros((3, 8, 8), np.float32)], [np.zeros((1, 8, 9), np.float32)])


def test_pansharpen_set_checks_its_shapes():
    with pytest.raises(DataError, match=r"expected pan \(N=1, 1, 32, 32\) for the ratio 4"):
        PansharpenSet(np.zeros((1, 4, 8, 8), np.float32), np.zeros((1, 1, 32, 30), np.float32))


@pytest.mark.skipif(not HOUSTON.is_dir(), reason=f"real Houston 2013 pixels not found at {HOUSTON}")
def test_pan_sharpening_data_from_real_houston_spectra():
    from comix.data.synthetic import houston_like

    generated = houston_like(
        seed=1, height=64, width=64, spectral_source="houston2013", houston_folder=str(HOUSTON)
    )
    reduced = wald_reduced(pansharpen_scene(generated))
    assert (
        reduced.gt.shape == (1, 4, 16, 16)
        and np.isfinite(reduced.gt).all()
        and reduced.gt.std() > 0
    )
