"""Fusion data made from the synthetic HSI scenes (:mod:`comix.data.synthetic`).

Pan-sharpening (:func:`pansharpen_scene`, :func:`wald_reduced`): the scene's hyperspectral cube is seen by a
multispectral sensor (MS bands and a PAN band, :mod:`comix.ship.data.sensors`). The *ideal* MS at the PAN's
resolution is known here (it never is for a real sensor); the sensor delivers PAN at full resolution and MS
blurred by its MTF and decimated by the ratio. Wald's protocol then degrades that delivered pair once more
by the same operators: the delivered MS becomes the reference, the degraded pair the inputs (reduced
resolution), exactly as it is done with real data; the delivered pair itself is scored without reference.

Infrared-visible (:func:`irvis_pair`): the visible image is an RGB camera's view of the cube (with haze and
noise), the infrared one the scene's thermal image (:mod:`comix.ship.data.thermal`); the mask marks thermal
targets (hotter by more than ``target_contrast_k`` than their 31 x 31 surroundings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from comix.data.errors import DataError
from comix.data.synthetic.generator import GeneratedScene
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.data.resample import mtf_decimate
from comix.ship.data.sensors import (
    RGB_CENTERS_NM,
    RGB_FWHM_NM,
    flat_top_response,
    gaussian_responses,
    integrate,
    sensor,
)
from comix.ship.data.thermal import ThermalCamera, render_thermal

MS_NOISE = 0.002  # reflectance units: a clean multispectral sensor (SNR ~ 100 on a 0.2 reflectance)


@dataclass
class PansharpenScene:
    """One scene as a multispectral sensor delivers it (full resolution) and the truth behind it.

    ``ms`` (B, H/r, W/r) and ``pan`` (1, H, W) are what the sensor delivers; ``ideal`` (B, H, W) is
    the MS image at the PAN's resolution (synthetic only).
    """

    ms: np.ndarray
    pan: np.ndarray
    ideal: np.ndarray
    sensor: str
    ratio: int
    band_names: tuple[str, ...]
    name: str

    def full_resolution(self) -> PansharpenSet:
        """The delivered pair as a one-sample full-resolution set (``truth`` = the ideal MS)."""
        return PansharpenSet(
            self.ms[None],
            self.pan[None],
            ratio=self.ratio,
            band_names=self.band_names,
            name=f"{self.name}_full",
            truth=self.ideal[None],
            metadata={"sensor": self.sensor},
        )


def pansharpen_scene(
    generated: GeneratedScene, sensor_name: str = "quickbird", seed: int = 0
) -> PansharpenScene:
    """Simulate ``sensor_name`` over a generated scene; H and W must be multiples of ratio^2
    (Wald needs two levels)."""
    spec = sensor(sensor_name)
    scene = generated.scene
    height, width = scene.hsi.shape[1:]
    step = spec.ratio**2
    if height % step or width % step:
        raise DataError(
            f"pansharpen_scene: got a {height}x{width} scene, expected H and W multiples of "
            f"{step} (ratio {spec.ratio}, twice, for Wald's protocol)"
        )
    if scene.wavelengths_nm is None:
        raise DataError(
            f"pansharpen_scene: scene {scene.name} has no band wavelengths, expected them to simulate "
            "the sensor's spectral responses"
        )
    rng = np.random.default_rng([seed, 0x9A5])
    ideal = integrate(
        scene.hsi, gaussian_responses(scene.wavelengths_nm, spec.centers_nm, spec.fwhm_nm)
    )
    pan = integrate(scene.hsi, flat_top_response(scene.wavelengths_nm, *spec.pan_range_nm))
    pan = pan + rng.normal(0.0, MS_NOISE / 2, pan.shape).astype(np.float32)
    ms = mtf_decimate(ideal, spec.ratio, spec.gnyq_ms)
    ms = ms + rng.normal(0.0, MS_NOISE, ms.shape).astype(np.float32)
    return PansharpenScene(ms, pan, ideal, sensor_name, spec.ratio, spec.band_names, scene.name)


def wald_reduced(delivered: PansharpenScene) -> PansharpenSet:
    """Wald's protocol on the delivered pair: one sample, reference = delivered MS (B, H/r, W/r), inputs = the
    MS and PAN degraded by the sensor's MTF and the ratio."""
    spec = sensor(delivered.sensor)
    ms = mtf_decimate(delivered.ms, spec.ratio, spec.gnyq_ms)
    pan = mtf_decimate(delivered.pan, spec.ratio, spec.gnyq_pan)
    return PansharpenSet(
        ms[None],
        pan[None],
        gt=delivered.ms[None],
        ratio=spec.ratio,
        band_names=spec.band_names,
        name=f"{delivered.name}_reduced",
        metadata={"sensor": delivered.sensor, "protocol": "wald"},
    )


def patches(full: PansharpenSet, patch: int, stride: int | None = None) -> PansharpenSet:
    """Cut a set into (patch x patch)-pixel PAN-grid samples (PanCollection-style training data);
    ``patch`` must be a multiple of the ratio. ``stride`` defaults to ``patch`` (no overlap)."""
    ratio = full.ratio
    stride = stride or patch
    if patch % ratio or stride % ratio:
        raise DataError(
            f"patches: got patch {patch} / stride {stride}, expected multiples of the ratio {ratio}"
        )
    height, width = full.pan.shape[2:]
    if patch > min(height, width):
        raise DataError(
            f"patches: got patch {patch}, expected at most the image's {height}x{width}"
        )
    pieces = {key: [] for key in ("ms", "pan", "gt", "lms", "truth")}
    for n in range(len(full)):
        for top in range(0, height - patch + 1, stride):
            for left in range(0, width - patch + 1, stride):
                hi = np.s_[top : top + patch, left : left + patch]
                lo = np.s_[
                    top // ratio : (top + patch) // ratio, left // ratio : (left + patch) // ratio
                ]
                pieces["ms"].append(full.ms[n][(slice(None), *lo)])
                pieces["pan"].append(full.pan[n][(slice(None), *hi)])
                for key in ("gt", "lms", "truth"):
                    value = getattr(full, key)
                    if value is not None:
                        pieces[key].append(value[n][(slice(None), *hi)])
    stacked = {key: np.stack(value) if value else None for key, value in pieces.items()}
    return PansharpenSet(
        stacked["ms"],
        stacked["pan"],
        stacked["gt"],
        stacked["lms"],
        ratio,
        full.data_range,
        full.band_names,
        f"{full.name}_patches{patch}",
        stacked["truth"],
        dict(full.metadata),
    )


def concatenate(sets: list[PansharpenSet], name: str) -> PansharpenSet:
    """Stack equal-shape sets along N."""
    if not sets:
        raise DataError("concatenate: got no sets, expected at least one")

    def cat(key):
        values = [getattr(s, key) for s in sets]
        return None if any(v is None for v in values) else np.concatenate(values)

    first = sets[0]
    return PansharpenSet(
        cat("ms"),
        cat("pan"),
        cat("gt"),
        cat("lms"),
        first.ratio,
        first.data_range,
        first.band_names,
        name,
        cat("truth"),
        dict(first.metadata),
    )


def irvis_pair(
    generated: GeneratedScene,
    seed: int = 0,
    haze: float = 0.3,
    camera: ThermalCamera = ThermalCamera(),
    target_contrast_k: float = 4.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(visible (3, H, W), infrared (1, H, W), mask (1, H, W), extras) of a generated scene, in [0, 1].

    ``haze`` in [0, 1) lowers the visible image's contrast (airlight; what makes the infrared image worth
    fusing). ``extras`` holds the thermal image's ``brightness_k`` and ``temperature_k``.
    """
    if generated.canvas is None or generated.shade is None:
        raise DataError(
            "irvis_pair: the generated scene carries no canvas/shade; make it with comix.data.synthetic"
        )
    if not 0.0 <= haze < 1.0:
        raise DataError(f"irvis_pair: haze: got {haze}, expected a value in [0, 1)")
    scene = generated.scene
    rng = np.random.default_rng([seed, 0x515])
    rgb = integrate(
        scene.hsi, gaussian_responses(scene.wavelengths_nm, RGB_CENTERS_NM, RGB_FWHM_NM)
    )
    rgb = rgb / max(float(np.percentile(rgb, 99.5)), 1e-6) * 0.9  # auto exposure
    rgb = rgb * (1.0 - haze) + 0.8 * haze  # airlight
    rgb = np.clip(rgb, 0.0, 1.0) ** (1.0 / 2.2)  # display gamma
    visible = np.clip(rgb + rng.normal(0.0, 0.01, rgb.shape), 0.0, 1.0).astype(np.float32)
    thermal = render_thermal(generated.canvas, generated.shadow, generated.shade, seed, camera)
    brightness = thermal["brightness_k"].astype(np.float64)
    mask = (brightness - ndimage.uniform_filter(brightness, 31, mode="reflect")) > target_contrast_k
    return visible, thermal["image"][None], mask[None].astype(np.float32), thermal


def irvis_set(
    scenes: list[GeneratedScene], seed: int = 0, haze: float = 0.3, name: str = "synthetic_irvis"
) -> IrVisSet:
    """One pair per generated scene (see :func:`irvis_pair`)."""
    visible, infrared, masks, names = [], [], [], []
    for index, generated in enumerate(scenes):
        vis, ir, mask, _ = irvis_pair(generated, seed + index, haze)
        visible.append(vis)
        infrared.append(ir)
        masks.append(mask)
        names.append(generated.scene.name)
    return IrVisSet(visible, infrared, masks, names, name)
