"""The Houston 2013- and Trento-like presets: a :class:`~comix.data.synthetic.generator.SceneRecipe` each,
and shortcuts that generate them at their benchmark sizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from comix.data.errors import DataError
from comix.data.synthetic.annotate import AnnotationPlan
from comix.data.synthetic.generator import GeneratedScene, SceneRecipe, generate
from comix.data.synthetic.render import SensorModel
from comix.data.synthetic.rural_layout import RURAL_CLASSES, rural_layout
from comix.data.synthetic.spectral_library import houston_wavelengths, trento_wavelengths
from comix.data.synthetic.urban_layout import URBAN_CLASSES, urban_layout


def houston_recipe(wavelengths_nm: np.ndarray | None = None, **overrides) -> SceneRecipe:
    """Houston 2013-like: urban, 2.5 m pixels, 144 bands 364–1046 nm, LiDAR DSM, 11 classes."""
    recipe = SceneRecipe(
        name="houston_like",
        class_names=URBAN_CLASSES,
        layout=urban_layout,
        wavelengths_nm=houston_wavelengths()
        if wavelengths_nm is None
        else np.asarray(wavelengths_nm, float),
        gsd_m=2.5,
        x_channels=("dsm",),
        ground_base_m=12.0,
        ground_relief_m=1.0,
        sun_azimuth_deg=150.0,
        sun_elevation_deg=35.0,
        crs="EPSG:26915",
        origin=(268000.0, 3290500.0),
        sensor=SensorModel(psf_sigma_px=0.7, noise=0.012, shadow_level=0.3),
    )
    return replace(recipe, **overrides)


def trento_recipe(wavelengths_nm: np.ndarray | None = None, **overrides) -> SceneRecipe:
    """Trento-like: rural (orchards, vineyards, woods), 1 m pixels, 63 bands 402–989 nm, 2 LiDAR channels."""
    recipe = SceneRecipe(
        name="trento_like",
        class_names=RURAL_CLASSES,
        layout=rural_layout,
        wavelengths_nm=trento_wavelengths()
        if wavelengths_nm is None
        else np.asarray(wavelengths_nm, float),
        gsd_m=1.0,
        x_channels=("dsm", "last_return"),
        ground_base_m=190.0,
        ground_relief_m=2.0,
        ground_slope=0.01,
        sun_azimuth_deg=160.0,
        sun_elevation_deg=50.0,
        crs="EPSG:32632",
        origin=(664000.0, 5104000.0),
        sensor=SensorModel(psf_sigma_px=0.6, noise=0.01, shadow_level=0.3),
        annotation=AnnotationPlan(labelled_fraction=0.2, train_share=0.2, patch_size=(8, 30)),
    )
    return replace(recipe, **overrides)


def houston_like(
    seed: int = 0, height: int = 349, width: int = 1905, wavelengths_nm=None, **overrides
) -> GeneratedScene:
    """A Houston 2013-like scene (default size 349 x 1905); see :func:`houston_recipe`."""
    return generate(houston_recipe(wavelengths_nm, **overrides), seed, height, width)


def trento_like(
    seed: int = 0, height: int = 166, width: int = 600, wavelengths_nm=None, **overrides
) -> GeneratedScene:
    """A Trento-like scene (default size 166 x 600); see :func:`trento_recipe`."""
    return generate(trento_recipe(wavelengths_nm, **overrides), seed, height, width)


PRESETS: dict[str, Callable[..., GeneratedScene]] = {
    "houston_like": houston_like,
    "trento_like": trento_like,
}
PRESET_SIZES = {"houston_like": (349, 1905), "trento_like": (166, 600)}


def make_preset(
    name: str, seed: int = 0, height: int | None = None, width: int | None = None, **overrides
) -> GeneratedScene:
    """Generate preset ``name`` (one of :data:`PRESETS`) at its benchmark size unless given."""
    if name not in PRESETS:
        raise DataError(f"unknown preset {name!r}, expected one of {sorted(PRESETS)}")
    default_h, default_w = PRESET_SIZES[name]
    return PRESETS[name](
        seed=seed, height=height or default_h, width=width or default_w, **overrides
    )
