"""Spectral libraries and Gaussian-SRF resampling."""

from __future__ import annotations

import numpy as np
import pytest

from comix.data.synthetic.materials import MATERIALS, build_palette
from comix.data.synthetic.spectral_library import (
    earthlib_spectra,
    gaussian_srf_matrix,
    houston_wavelengths,
    load_earthlib,
    resample_spectra,
)


def test_srf_preserves_linear_spectra_and_rows_sum_to_one():
    source = np.arange(400.0, 1001.0, 10.0)
    target = np.array([500.0, 612.5, 800.0])
    matrix = gaussian_srf_matrix(source, target, fwhm_nm=20.0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    linear = 0.1 + 0.0005 * (source - 400.0)
    resampled = resample_spectra(linear[None], source, target, fwhm_nm=20.0)[0]
    np.testing.assert_allclose(resampled, 0.1 + 0.0005 * (target - 400.0), atol=1e-5)


def test_srf_averages_a_narrow_feature():
    source = np.arange(400.0, 601.0, 1.0)
    spike = np.zeros_like(source)
    spike[100] = 1.0  # at 500 nm
    wide, narrow = (
        resample_spectra(spike[None], source, np.array([500.0]), fwhm_nm=f)[0, 0]
        for f in (40.0, 5.0)
    )
    assert 0.0 < wide < narrow < 1.0


def test_earthlib_library_and_categories():
    pytest.importorskip("earthlib")
    wavelengths, spectra, categories = load_earthlib()
    assert spectra.shape == (7261, 180) and wavelengths[0] == 400.0 and wavelengths[-1] == 2450.0
    _, asphalt = earthlib_spectra(("asphalt",))
    assert asphalt.shape[0] == categories.count("asphalt") > 0


def test_palette_pools_are_plausible_and_seeded():
    palette = build_palette(houston_wavelengths(), seed=3, members=8)
    assert palette.spectra.shape == (8 * len(MATERIALS), 144)
    np.testing.assert_array_equal(
        palette.spectra, build_palette(houston_wavelengths(), seed=3, members=8).spectra
    )
    red, nir = 65, 90  # ~674 nm and ~793 nm
    grass, water, paved = palette.pool("grass"), palette.pool("water"), palette.pool("paved")
    assert (grass[:, nir] > 3 * grass[:, red]).all()
    assert water[:, nir].mean() < 0.06 and 0.02 < paved.mean() < 0.3
