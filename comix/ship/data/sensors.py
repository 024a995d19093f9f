"""Sensors simulated from a hyperspectral cube: multispectral + panchromatic (pan-sharpening) and an
RGB camera.

A band is the cube weighted by the band's spectral response (Gaussian for MS and RGB bands, a flat top with
Gaussian edges for PAN) and normalised by the response's sum, so a flat spectrum gives the same value in every
band. ``gnyq`` is the modulation transfer function's gain at the Nyquist frequency of the band's *own* grid
(published values used by pan-sharpening toolboxes), used by Wald's protocol to blur before decimation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comix.data.errors import DataError

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class MultispectralSensor:
    """Band centres and widths (nm), PAN range (nm), MTF gains at Nyquist, and the PAN/MS resolution ratio."""

    name: str
    band_names: tuple[str, ...]
    centers_nm: tuple[float, ...]
    fwhm_nm: tuple[float, ...]
    pan_range_nm: tuple[float, float]
    gnyq_ms: tuple[float, ...]
    gnyq_pan: float
    ratio: int = 4


# Band layouts of two sensors that pan-sharpening benchmarks are made of (QuickBird: 4 bands; WorldView-3: 8).
SENSORS = {
    "quickbird": MultispectralSensor(
        "quickbird",
        ("blue", "green", "red", "nir"),
        (485.0, 560.0, 660.0, 830.0),
        (70.0, 80.0, 60.0, 140.0),
        (450.0, 900.0),
        (0.34, 0.32, 0.30, 0.22),
        0.15,
    ),
    "worldview3": MultispectralSensor(
        "worldview3",
        ("coastal", "blue", "green", "yellow", "red", "red_edge", "nir1", "nir2"),
        (425.0, 480.0, 545.0, 605.0, 660.0, 725.0, 832.0, 950.0),
        (50.0, 60.0, 70.0, 40.0, 60.0, 40.0, 125.0, 180.0),
        (450.0, 800.0),
        (0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315),
        0.5,
    ),
}
# An RGB camera (visible image of the IR-VIS pairs): centres and widths of the three colour filters (nm).
RGB_CENTERS_NM = (620.0, 545.0, 460.0)
RGB_FWHM_NM = (90.0, 90.0, 80.0)


def sensor(name: str) -> MultispectralSensor:
    if name not in SENSORS:
        raise DataError(f"multispectral sensor: got {name!r}, expected one of {sorted(SENSORS)}")
    return SENSORS[name]


def gaussian_responses(wavelengths_nm: np.ndarray, centers_nm, fwhm_nm) -> np.ndarray:
    """float64 (bands_out, bands_in): Gaussian responses sampled at the cube's band centres, rows sum to 1."""
    wl = np.asarray(wavelengths_nm, dtype=np.float64)[None, :]
    centers = np.asarray(centers_nm, dtype=np.float64)[:, None]
    sigma = np.asarray(fwhm_nm, dtype=np.float64)[:, None] * FWHM_TO_SIGMA
    response = np.exp(-0.5 * ((wl - centers) / sigma) ** 2)
    return _normalised(response, wavelengths_nm, centers_nm)


def flat_top_response(
    wavelengths_nm: np.ndarray, low_nm: float, high_nm: float, edge_nm: float = 15.0
) -> np.ndarray:
    """float64 (1, bands_in): 1 inside [low, high], Gaussian roll-off of std ``edge_nm`` outside;
    sums to 1."""
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    below = np.exp(-0.5 * ((wl - low_nm) / edge_nm) ** 2)
    above = np.exp(-0.5 * ((wl - high_nm) / edge_nm) ** 2)
    response = np.where(wl < low_nm, below, np.where(wl > high_nm, above, 1.0))[None, :]
    return _normalised(response, wavelengths_nm, (low_nm, high_nm))


def _normalised(response: np.ndarray, wavelengths_nm, wanted) -> np.ndarray:
    sums = response.sum(axis=1, keepdims=True)
    if np.any(sums < 1e-6):
        raise DataError(
            f"spectral response: bands centred at {list(wanted)} nm fall outside the cube's "
            f"{float(np.min(wavelengths_nm)):.0f}-{float(np.max(wavelengths_nm)):.0f} nm"
        )
    return response / sums


def integrate(cube: np.ndarray, response: np.ndarray) -> np.ndarray:
    """(bands_in, H, W) cube x (bands_out, bands_in) responses -> float32 (bands_out, H, W)."""
    bands, height, width = cube.shape
    if response.shape[1] != bands:
        raise DataError(
            f"spectral response: got {response.shape[1]} input bands, expected the cube's {bands}"
        )
    return (
        (response @ cube.reshape(bands, -1).astype(np.float64))
        .reshape(-1, height, width)
        .astype(np.float32)
    )
