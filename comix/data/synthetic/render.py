"""Render the hyperspectral cube of a painted scene.

Per pixel: a linear mix of two members of its material's pool (the pair fixed per object, the mix
weight a smooth random field, so spectra drift within an object and differ between objects), times a
per-object brightness and a small texture, times the surface shading; cast shadows keep only the
bluish diffuse skylight. The sensor's point-spread function (a Gaussian blur) then mixes spectra at
every class edge, and band-dependent noise is added (noisier at the blue and NIR ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.fields import smooth_field, unit_field
from comix.data.synthetic.materials import MATERIALS, MaterialPalette

# per-material pixel texture amplitude (relative brightness std): crowns and grass are rough, asphalt smooth
_TEXTURE = {
    "grass": 0.06,
    "grass_stressed": 0.08,
    "canopy": 0.15,
    "soil": 0.08,
    "water": 0.03,
    "shingle": 0.05,
    "paved": 0.05,
    "concrete": 0.05,
    "metal": 0.08,
    "paint": 0.05,
    "gravel": 0.1,
    "wood": 0.1,
    "vine": 0.12,
}


@dataclass(frozen=True)
class SensorModel:
    """Optics and noise.

    Attributes:
        psf_sigma_px: std of the Gaussian point-spread function in pixels (edge mixing).
        noise: base noise std in reflectance units.
        shadow_level: diffuse-light share left in cast shadows at 450 nm (falls off towards the NIR).
        object_brightness: (low, high) range of the per-object brightness factor.
    """

    psf_sigma_px: float = 0.7
    noise: float = 0.01
    shadow_level: float = 0.3
    object_brightness: tuple[float, float] = (0.8, 1.2)


def band_noise_std(wavelengths_nm: np.ndarray, base: float) -> np.ndarray:
    """float32 ``(bands,)``: noise std per band, higher at the blue end and beyond 900 nm."""
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    profile = (
        1.0 + 2.0 * np.exp(-(wl - wl.min()) / 30.0) + 1.5 * np.clip((wl - 900.0) / 150.0, 0.0, None)
    )
    return (base * profile).astype(np.float32)


def shadow_spectrum(wavelengths_nm: np.ndarray, level: float) -> np.ndarray:
    """float32 ``(bands,)``: illumination left in shadow (skylight, bluish): ``level * (450/λ)^2``."""
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    return np.clip(level * (450.0 / wl) ** 2, 0.02, 1.0).astype(np.float32)


def render_cube(
    canvas: Canvas,
    palette: MaterialPalette,
    shade: np.ndarray,
    shadow: np.ndarray,
    rng: np.random.Generator,
    sensor: SensorModel = SensorModel(),
    band_chunk: int = 16,
) -> np.ndarray:
    """float32 ``(bands, H, W)`` reflectance-like cube (see the module docstring)."""
    height, width = canvas.shape
    bands = palette.spectra.shape[1]
    material = canvas.material.reshape(-1)
    instance = canvas.instance.reshape(-1)
    count = canvas.instance_count + 1
    pick_a = rng.integers(0, 1 << 30, size=count)
    pick_b = rng.integers(0, 1 << 30, size=count)
    brightness = rng.uniform(*sensor.object_brightness, size=count).astype(np.float32)
    sizes, offsets = palette.sizes[material], palette.offsets[material]
    member_a = offsets + pick_a[instance] % sizes
    member_b = offsets + pick_b[instance] % sizes
    weight = unit_field(rng, height, width, 5.0).reshape(-1)
    texture_amp = np.asarray([_TEXTURE[m] for m in MATERIALS], dtype=np.float32)[material]
    texture = 0.5 * smooth_field(rng, height, width, 2.0).reshape(-1)
    texture += rng.standard_normal(material.size).astype(np.float32)
    gain = brightness[instance] * (1.0 + texture_amp * texture / np.sqrt(1.25)) * shade.reshape(-1)
    in_shadow = shadow.reshape(-1).astype(np.float32)
    per_band = palette.spectra.T.copy()  # (bands, members)
    skylight = shadow_spectrum(palette.wavelengths_nm, sensor.shadow_level)
    noise_std = band_noise_std(palette.wavelengths_nm, sensor.noise)
    cube = np.empty((bands, height, width), dtype=np.float32)
    for start in range(0, bands, band_chunk):
        stop = min(start + band_chunk, bands)
        first = np.take(per_band[start:stop], member_a, axis=1)
        second = np.take(per_band[start:stop], member_b, axis=1)
        chunk = first + weight * (second - first)
        chunk *= gain
        chunk *= 1.0 - in_shadow * (1.0 - skylight[start:stop, None])
        chunk = chunk.reshape(stop - start, height, width)
        if sensor.psf_sigma_px > 0:
            chunk = ndimage.gaussian_filter(
                chunk, sigma=(0.0, sensor.psf_sigma_px, sensor.psf_sigma_px), truncate=3.0
            )
        noise = rng.standard_normal(chunk.shape, dtype=np.float32)
        noise *= noise_std[start:stop, None, None] * (0.7 + 1.5 * chunk)
        chunk += noise
        cube[start:stop] = chunk
    return cube
