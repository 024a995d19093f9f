"""Elevation and illumination of a synthetic scene: terrain, DSM and LiDAR channels, cast shadows and
surface shading."""

from __future__ import annotations

import numpy as np

from comix.data.errors import DataError
from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.fields import smooth_field
from comix.data.synthetic.materials import MATERIAL_ID


def terrain(
    canvas: Canvas,
    rng: np.random.Generator,
    base_m: float,
    relief_m: float,
    slope: float,
    gsd_m: float,
) -> np.ndarray:
    """float32 ``(H, W)`` bare-earth elevation: gentle plane + smooth relief; water held level."""
    height, width = canvas.shape
    ground = base_m + relief_m * smooth_field(rng, height, width, 120.0)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ground += slope * gsd_m * (np.cos(angle) * xx + np.sin(angle) * yy)
    if canvas.flat.any():
        from scipy import ndimage

        labelled, count = ndimage.label(canvas.flat)
        lowest = ndimage.minimum(ground, labelled, index=np.arange(1, count + 1))
        water_level = np.concatenate([[0.0], np.asarray(lowest) - 0.4]).astype(np.float32)
        ground = np.where(canvas.flat, water_level[labelled], ground)
    return ground.astype(np.float32)


def dsm(
    canvas: Canvas, ground: np.ndarray, rng: np.random.Generator, noise_m: float = 0.08
) -> np.ndarray:
    """float32 ``(H, W)`` digital surface model: terrain + object heights + LiDAR noise (metres)."""
    surface = ground + canvas.height
    return (surface + rng.normal(0.0, noise_m, surface.shape)).astype(np.float32)


def lidar_channels(
    canvas: Canvas,
    ground: np.ndarray,
    surface: np.ndarray,
    channels: tuple[str, ...],
    rng: np.random.Generator,
) -> np.ndarray:
    """float32 ``(C, H, W)``, one layer per name in ``channels``: ``"dsm"`` is ``surface`` (first return,
    ``(H, W)``); ``"last_return"`` is the elevation where laser pulses stop part-way into vegetation
    (materials canopy/vine) but not through roofs. ``ground`` is the ``(H, W)`` terrain."""
    layers = []
    for channel in channels:
        if channel == "dsm":
            layers.append(surface)
        elif channel == "last_return":
            porous = np.isin(canvas.material, (MATERIAL_ID["canopy"], MATERIAL_ID["vine"]))
            depth = rng.uniform(0.0, 1.0, size=surface.shape).astype(np.float32) ** 0.5
            layers.append(
                np.where(porous, ground + canvas.height * (1.0 - depth), surface).astype(np.float32)
            )
        else:
            raise DataError(f"x channel {channel!r} unknown, expected 'dsm' or 'last_return'")
    return np.stack(layers, axis=0)


def sun_vector(azimuth_deg: float, elevation_deg: float) -> tuple[float, float, float]:
    """Unit vector towards the sun as ``(dy_row, dx_col, dz)`` (rows grow southwards, azimuth from north)."""
    azimuth, elevation = np.radians(azimuth_deg), np.radians(elevation_deg)
    return (
        -np.cos(azimuth) * np.cos(elevation),
        np.sin(azimuth) * np.cos(elevation),
        np.sin(elevation),
    )


def cast_shadow(
    surface: np.ndarray,
    gsd_m: float,
    azimuth_deg: float,
    elevation_deg: float,
    max_height_m: float = 40.0,
) -> np.ndarray:
    """bool ``(H, W)``: pixels whose line of sight to the sun is blocked by a higher surface.

    Marches towards the sun one pixel step at a time (up to the length the tallest object can shade)
    and compares the surface there with the sun ray's height above the pixel.
    """
    dy, dx, dz = sun_vector(azimuth_deg, elevation_deg)
    horizontal = np.hypot(dy, dx)
    rise_per_px = gsd_m * dz / horizontal  # metres the ray climbs per pixel travelled
    steps = int(np.ceil(max_height_m / rise_per_px))
    height, width = surface.shape
    shadow = np.zeros(surface.shape, dtype=bool)
    padded = np.pad(surface, steps + 1, mode="edge")
    for step in range(1, steps + 1):
        oy = int(round(step * dy / horizontal))
        ox = int(round(step * dx / horizontal))
        ahead = padded[
            steps + 1 + oy : steps + 1 + oy + height, steps + 1 + ox : steps + 1 + ox + width
        ]
        shadow |= ahead - surface > step * rise_per_px
    return shadow


def shading(
    surface: np.ndarray, gsd_m: float, azimuth_deg: float, elevation_deg: float
) -> np.ndarray:
    """float32 ``(H, W)`` direct-light factor of tilted surfaces (gable sides, crowns); 1 on flat ground."""
    grad_y, grad_x = np.gradient(surface.astype(np.float64), gsd_m)
    dy, dx, dz = sun_vector(azimuth_deg, elevation_deg)
    normal_len = np.sqrt(grad_x**2 + grad_y**2 + 1.0)
    cos_incidence = (-grad_y * dy - grad_x * dx + dz) / normal_len
    return np.clip(cos_incidence / dz, 0.3, 1.5).astype(np.float32)
