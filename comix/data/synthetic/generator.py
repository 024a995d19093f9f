"""Realistic synthetic HSI-X scenes: presets and the generator that ties the pieces together.

Pipeline (each step its own module): layout (:mod:`urban_layout`, :mod:`rural_layout`) paints classes,
materials, object heights and object ids on a :class:`~comix.data.synthetic.canvas.Canvas`; :mod:`surface`
builds terrain, the DSM, cast shadows and shading; :mod:`materials` draws per-material spectral pools from
real libraries resampled to the sensor; :mod:`render` renders the cube (mixing, shadows, PSF, noise);
:mod:`annotate` draws sparse labelled patches and a patch-wise train/test split.

Same seed and arguments -> identical arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.scene import Scene
from comix.data.synthetic.annotate import AnnotationPlan, annotate
from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.materials import build_palette
from comix.data.synthetic.render import SensorModel, render_cube
from comix.data.synthetic.rural_layout import RURAL_CLASSES, rural_layout
from comix.data.synthetic.spectral_library import houston_wavelengths, trento_wavelengths
from comix.data.synthetic.surface import cast_shadow, dsm, shading, terrain
from comix.data.synthetic.urban_layout import URBAN_CLASSES, urban_layout


@dataclass(frozen=True)
class SceneRecipe:
    """Everything a preset fixes about a synthetic scene.

    Attributes:
        name: preset name.
        class_names: class names, label order.
        layout: ``(height, width, rng) -> Canvas``.
        wavelengths_nm: sensor band centres ``(bands,)``.
        gsd_m: ground sample distance (m/pixel).
        x_channels: X-modality channels: ``"dsm"`` (first return) and/or ``"last_return"``.
        ground_base_m, ground_relief_m, ground_slope: terrain elevation, smooth relief std, plane slope.
        sun_azimuth_deg, sun_elevation_deg: sun position (shadows and shading).
        sensor: optics and noise.
        annotation: how labels are drawn.
        crs, origin: georeference (EPSG code string; map coordinates of the top-left corner).
        spectral_source: ``"earthlib"`` or ``"houston2013"``
            (see :func:`~comix.data.synthetic.materials.build_palette`).
        houston_folder: folder of the real Houston 2013 pixel files, for ``"houston2013"``.
    """

    name: str
    class_names: tuple[str, ...]
    layout: Callable[[int, int, np.random.Generator], Canvas]
    wavelengths_nm: np.ndarray
    gsd_m: float
    x_channels: tuple[str, ...] = ("dsm",)
    ground_base_m: float = 15.0
    ground_relief_m: float = 1.0
    ground_slope: float = 0.002
    sun_azimuth_deg: float = 135.0
    sun_elevation_deg: float = 40.0
    sensor: SensorModel = field(default_factory=SensorModel)
    annotation: AnnotationPlan = field(default_factory=AnnotationPlan)
    crs: str = "EPSG:32615"
    origin: tuple[float, float] = (0.0, 0.0)
    spectral_source: str = "earthlib"
    houston_folder: str | None = None


@dataclass
class GeneratedScene:
    """A synthetic scene and the truth behind it.

    Attributes:
        scene: the :class:`Scene` (sparse labels, as a reader would return it).
        dense_labels: int64 ``(H, W)`` class of every pixel ``1..K``.
        shadow: bool ``(H, W)`` cast-shadow mask.
        terrain: float32 ``(H, W)`` bare-earth elevation (m).
    """

    scene: Scene
    dense_labels: np.ndarray
    shadow: np.ndarray
    terrain: np.ndarray


def _x_modality(canvas: Canvas, ground: np.ndarray, surface: np.ndarray, channels: tuple[str, ...],
                rng: np.random.Generator) -> np.ndarray:
    """float32 ``(C, H, W)``: DSM (first return) and optionally last-return elevation, where laser
    pulses reach part-way into vegetation (materials canopy/vine) but not through roofs."""
    from comix.data.synthetic.materials import MATERIAL_ID

    layers = []
    for channel in channels:
        if channel == "dsm":
            layers.append(surface)
        elif channel == "last_return":
            porous = np.isin(canvas.material, (MATERIAL_ID["canopy"], MATERIAL_ID["vine"]))
            depth = rng.uniform(0.0, 1.0, size=surface.shape).astype(np.float32) ** 0.5
            layers.append(np.where(porous, ground + canvas.height * (1.0 - depth), surface).astype(np.float32))
        else:
            raise DataError(f"x channel {channel!r} unknown, expected 'dsm' or 'last_return'")
    return np.stack(layers, axis=0)


def generate(recipe: SceneRecipe, seed: int, height: int, width: int) -> GeneratedScene:
    """Generate a scene of ``height x width`` pixels from ``recipe``; deterministic in ``seed``."""
    if height < 16 or width < 16:
        raise DataError(f"generate({recipe.name}): got {height}x{width} pixels, expected at least 16x16")
    rng = np.random.default_rng(seed)
    palette = build_palette(recipe.wavelengths_nm, seed=int(rng.integers(1 << 31)), source=recipe.spectral_source,
                            houston_folder=recipe.houston_folder)
    canvas = recipe.layout(height, width, rng)
    ground = terrain(canvas, rng, recipe.ground_base_m, recipe.ground_relief_m, recipe.ground_slope, recipe.gsd_m)
    clean_surface = ground + canvas.height
    shadow = cast_shadow(clean_surface, recipe.gsd_m, recipe.sun_azimuth_deg, recipe.sun_elevation_deg,
                         max_height_m=float(canvas.height.max()) + 1.0)
    shade = np.where(canvas.height > 0.3, shading(clean_surface, recipe.gsd_m, recipe.sun_azimuth_deg,
                                                  recipe.sun_elevation_deg), 1.0).astype(np.float32)
    cube = render_cube(canvas, palette, shade, shadow, rng, recipe.sensor)
    surface = dsm(canvas, ground, rng)
    x = _x_modality(canvas, ground, surface, recipe.x_channels, rng)
    labels, train, test = annotate(canvas.classes, len(recipe.class_names), rng, recipe.annotation)
    scene = Scene(hsi=cube, x=x, labels=labels, class_names=recipe.class_names, train_mask=train, test_mask=test,
                  wavelengths_nm=recipe.wavelengths_nm, x_modality="lidar", x_channel_names=recipe.x_channels,
                  georef=GeoRef.from_origin(recipe.origin[0], recipe.origin[1], recipe.gsd_m, recipe.gsd_m, recipe.crs),
                  name=f"{recipe.name}_seed{seed}",
                  metadata={"generator": "comix.data.synthetic", "preset": recipe.name, "seed": seed})
    return GeneratedScene(scene, canvas.classes.copy(), shadow, ground)


def houston_recipe(wavelengths_nm: np.ndarray | None = None, **overrides) -> SceneRecipe:
    """Houston 2013-like: urban, 2.5 m pixels, 144 bands 364–1046 nm, LiDAR DSM, 11 classes."""
    recipe = SceneRecipe(
        name="houston_like", class_names=URBAN_CLASSES, layout=urban_layout,
        wavelengths_nm=houston_wavelengths() if wavelengths_nm is None else np.asarray(wavelengths_nm, float),
        gsd_m=2.5, x_channels=("dsm",), ground_base_m=12.0, ground_relief_m=1.0,
        sun_azimuth_deg=150.0, sun_elevation_deg=35.0, crs="EPSG:26915", origin=(268000.0, 3290500.0),
        sensor=SensorModel(psf_sigma_px=0.7, noise=0.012, shadow_level=0.3))
    return replace(recipe, **overrides)


def trento_recipe(wavelengths_nm: np.ndarray | None = None, **overrides) -> SceneRecipe:
    """Trento-like: rural (orchards, vineyards, woods), 1 m pixels, 63 bands 402–989 nm, 2 LiDAR channels."""
    recipe = SceneRecipe(
        name="trento_like", class_names=RURAL_CLASSES, layout=rural_layout,
        wavelengths_nm=trento_wavelengths() if wavelengths_nm is None else np.asarray(wavelengths_nm, float),
        gsd_m=1.0, x_channels=("dsm", "last_return"), ground_base_m=190.0, ground_relief_m=2.0, ground_slope=0.01,
        sun_azimuth_deg=160.0, sun_elevation_deg=50.0, crs="EPSG:32632", origin=(664000.0, 5104000.0),
        sensor=SensorModel(psf_sigma_px=0.6, noise=0.01, shadow_level=0.3),
        annotation=AnnotationPlan(labelled_fraction=0.2, train_share=0.2, patch_size=(8, 30)))
    return replace(recipe, **overrides)


def houston_like(seed: int = 0, height: int = 349, width: int = 1905, wavelengths_nm=None,
                 **overrides) -> GeneratedScene:
    """A Houston 2013-like scene (default size 349 x 1905); see :func:`houston_recipe`."""
    return generate(houston_recipe(wavelengths_nm, **overrides), seed, height, width)


def trento_like(seed: int = 0, height: int = 166, width: int = 600, wavelengths_nm=None,
                **overrides) -> GeneratedScene:
    """A Trento-like scene (default size 166 x 600); see :func:`trento_recipe`."""
    return generate(trento_recipe(wavelengths_nm, **overrides), seed, height, width)


PRESETS: dict[str, Callable[..., GeneratedScene]] = {"houston_like": houston_like, "trento_like": trento_like}
PRESET_SIZES = {"houston_like": (349, 1905), "trento_like": (166, 600)}


def make_preset(name: str, seed: int = 0, height: int | None = None, width: int | None = None,
                **overrides) -> GeneratedScene:
    """Generate preset ``name`` (one of :data:`PRESETS`) at its benchmark size unless given."""
    if name not in PRESETS:
        raise DataError(f"unknown preset {name!r}, expected one of {sorted(PRESETS)}")
    default_h, default_w = PRESET_SIZES[name]
    return PRESETS[name](seed=seed, height=height or default_h, width=width or default_w, **overrides)
