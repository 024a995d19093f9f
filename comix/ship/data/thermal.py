"""A physically plausible long-wave infrared (8-14 um) image of a synthetic scene.

Per pixel: a surface temperature from the material's afternoon range (one draw per object), cooler in cast
shadows and warmer on sun-facing slopes, a little smooth variation, and hot engines on some parked vehicles;
at-sensor band radiance ``L = eps * B(T) + (1 - eps) * B(T_sky)`` integrated over 8-14 um (Planck's law; the
reflected term is the clear sky's downwelling radiance, as an effective sky temperature); then the camera: a
Gaussian point-spread function wider than the visible camera's and temporal noise given as NETD (K). The
image a thermal camera delivers is the radiance stretched to [0, 1] between low and high percentiles (its
automatic gain control); brightness temperature is kept beside it.

Everything random comes from a generator of its own (seeded from the scene's seed), so the scene generator's
draws — and every CoMiX scene — are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.fields import smooth_field
from comix.data.synthetic.materials import MATERIALS, THERMAL

PLANCK_H = 6.62607015e-34  # J s
LIGHT_C = 2.99792458e8  # m / s
BOLTZMANN_K = 1.380649e-23  # J / K
LWIR_BAND_UM = (8.0, 14.0)
VEHICLE_MATERIALS = ("metal", "paint")


@dataclass(frozen=True)
class ThermalCamera:
    """Camera and scene settings of the thermal image.

    Attributes:
        psf_sigma_px: std of the Gaussian point-spread function (pixels of the visible grid).
        netd_k: noise-equivalent temperature difference (K), added as radiance noise.
        sky_k: effective temperature of the sky's downwelling LWIR radiance (K).
        running_vehicle_share: share of parked vehicles with a warm engine.
        engine_k: (low, high) extra temperature of a warm vehicle (K).
        stretch_percentiles: radiance percentiles mapped to 0 and 1 (automatic gain control).
    """

    psf_sigma_px: float = 1.2
    netd_k: float = 0.05
    sky_k: float = 250.0
    running_vehicle_share: float = 0.4
    engine_k: tuple[float, float] = (10.0, 25.0)
    stretch_percentiles: tuple[float, float] = (0.5, 99.8)


def planck_band_radiance(
    temperature_k: np.ndarray, band_um: tuple[float, float] = LWIR_BAND_UM, samples: int = 121
) -> np.ndarray:
    """Band radiance (W m^-2 sr^-1) of a black body at ``temperature_k``: Planck's law integrated
    over ``band_um`` (trapezoid rule on ``samples`` wavelengths). Same shape as the input, float64."""
    wavelengths = np.linspace(band_um[0], band_um[1], samples) * 1e-6  # m
    t = np.asarray(temperature_k, dtype=np.float64)[..., None]
    spectral = (
        2.0
        * PLANCK_H
        * LIGHT_C**2
        / wavelengths**5
        / np.expm1(PLANCK_H * LIGHT_C / (wavelengths * BOLTZMANN_K * t))
    )
    return np.trapezoid(spectral, wavelengths, axis=-1)


def brightness_temperature(
    radiance: np.ndarray, band_um: tuple[float, float] = LWIR_BAND_UM
) -> np.ndarray:
    """Inverse of :func:`planck_band_radiance` (K), by interpolation on a 150-400 K table (monotonic)."""
    table_t = np.linspace(150.0, 400.0, 2501)
    table_l = planck_band_radiance(table_t, band_um)
    return np.interp(radiance, table_l, table_t)


def surface_temperature(
    canvas: Canvas,
    shadow: np.ndarray,
    shade: np.ndarray,
    rng: np.random.Generator,
    camera: ThermalCamera,
) -> np.ndarray:
    """float64 (H, W) kinetic surface temperature (K); see the module doc."""
    height, width = canvas.shape
    count = canvas.instance_count + 1
    lows = np.asarray([THERMAL[m].sunlit_k[0] for m in MATERIALS])
    highs = np.asarray([THERMAL[m].sunlit_k[1] for m in MATERIALS])
    drops = np.asarray([THERMAL[m].shadow_drop_k for m in MATERIALS])
    draw = rng.uniform(0.0, 1.0, size=count)  # where in its material's range each object lies
    material = canvas.material
    temperature = lows[material] + (highs[material] - lows[material]) * draw[canvas.instance]
    temperature -= drops[material] * shadow
    temperature += 4.0 * np.clip(shade - 1.0, -1.0, 1.0)  # sun-facing roof planes are warmer
    temperature += 0.6 * smooth_field(rng, height, width, 3.0)
    vehicles, found = ndimage.label(
        np.isin(material, [MATERIALS.index(m) for m in VEHICLE_MATERIALS])
        & (canvas.height > 0.5)
        & (canvas.height < 3.0)
    )
    running = rng.uniform(size=found + 1) < camera.running_vehicle_share
    engine = rng.uniform(*camera.engine_k, size=found + 1)
    running[0] = False
    temperature += np.where(running[vehicles], engine[vehicles], 0.0)
    return temperature


def render_thermal(
    canvas: Canvas,
    shadow: np.ndarray,
    shade: np.ndarray,
    seed: int,
    camera: ThermalCamera = ThermalCamera(),
) -> dict[str, np.ndarray]:
    """The thermal image of a painted scene.

    Returns float32 (H, W) arrays: ``image`` (the camera's [0, 1] picture), ``radiance`` (W m^-2 sr^-1),
    ``brightness_k`` (apparent temperature, K) and ``temperature_k`` (kinetic surface temperature, K).
    """
    rng = np.random.default_rng(
        [seed, 0x7E12]
    )  # a stream of its own: the scene's draws are untouched
    temperature = surface_temperature(
        canvas, shadow.astype(np.float64), shade.astype(np.float64), rng, camera
    )
    emissivity = np.asarray([THERMAL[m].emissivity for m in MATERIALS])[canvas.material]
    sky = planck_band_radiance(np.asarray(camera.sky_k))
    radiance = emissivity * planck_band_radiance(temperature) + (1.0 - emissivity) * sky
    if camera.psf_sigma_px > 0:
        radiance = ndimage.gaussian_filter(radiance, camera.psf_sigma_px, truncate=3.0)
    per_kelvin = float(
        planck_band_radiance(np.asarray(300.5)) - planck_band_radiance(np.asarray(299.5))
    )
    radiance = radiance + rng.standard_normal(radiance.shape) * camera.netd_k * per_kelvin
    low, high = np.percentile(radiance, camera.stretch_percentiles)
    image = np.clip((radiance - low) / max(high - low, 1e-12), 0.0, 1.0)
    return {
        "image": image.astype(np.float32),
        "radiance": radiance.astype(np.float32),
        "brightness_k": brightness_temperature(radiance).astype(np.float32),
        "temperature_k": temperature.astype(np.float32),
    }
