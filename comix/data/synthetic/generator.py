"""Realistic synthetic HSI-X scenes: the generator that ties the pieces together (presets: :mod:`presets`).

Pipeline (each step its own module): layout (:mod:`urban_layout`, :mod:`rural_layout`) paints classes,
materials, object heights and object ids on a :class:`~comix.data.synthetic.canvas.Canvas`; :mod:`surface`
builds terrain, the DSM, cast shadows and shading; :mod:`materials` draws per-material spectral pools from
real libraries resampled to the sensor; :mod:`render` renders the cube (mixing, shadows, PSF, noise);
:mod:`annotate` draws sparse labelled patches and a patch-wise train/test split; :mod:`presets` holds the
Houston-/Trento-like recipes.

Same seed and arguments -> identical arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.scene import Scene
from comix.data.synthetic.annotate import AnnotationPlan, annotate
from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.materials import build_palette
from comix.data.synthetic.render import SensorModel, render_cube
from comix.data.synthetic.surface import cast_shadow, dsm, lidar_channels, shading, terrain


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
        canvas: the painted :class:`Canvas` (materials, object heights and ids) the scene was rendered from.
        shade: float32 ``(H, W)`` surface shading factor (1 = flat ground in sun).
    """

    scene: Scene
    dense_labels: np.ndarray
    shadow: np.ndarray
    terrain: np.ndarray
    canvas: Canvas | None = None
    shade: np.ndarray | None = None


def generate(recipe: SceneRecipe, seed: int, height: int, width: int) -> GeneratedScene:
    """Generate a scene of ``height x width`` pixels from ``recipe``; deterministic in ``seed``."""
    if height < 16 or width < 16:
        raise DataError(
            f"generate({recipe.name}): got {height}x{width} pixels, expected at least 16x16"
        )
    rng = np.random.default_rng(seed)
    palette = build_palette(
        recipe.wavelengths_nm,
        seed=int(rng.integers(1 << 31)),
        source=recipe.spectral_source,
        houston_folder=recipe.houston_folder,
    )
    canvas = recipe.layout(height, width, rng)
    ground = terrain(
        canvas, rng, recipe.ground_base_m, recipe.ground_relief_m, recipe.ground_slope, recipe.gsd_m
    )
    clean_surface = ground + canvas.height
    shadow = cast_shadow(
        clean_surface,
        recipe.gsd_m,
        recipe.sun_azimuth_deg,
        recipe.sun_elevation_deg,
        max_height_m=float(canvas.height.max()) + 1.0,
    )
    shade = np.where(
        canvas.height > 0.3,
        shading(clean_surface, recipe.gsd_m, recipe.sun_azimuth_deg, recipe.sun_elevation_deg),
        1.0,
    ).astype(np.float32)
    cube = render_cube(canvas, palette, shade, shadow, rng, recipe.sensor)
    surface = dsm(canvas, ground, rng)
    x = lidar_channels(canvas, ground, surface, recipe.x_channels, rng)
    labels, train, test = annotate(canvas.classes, len(recipe.class_names), rng, recipe.annotation)
    scene = Scene(
        hsi=cube,
        x=x,
        labels=labels,
        class_names=recipe.class_names,
        train_mask=train,
        test_mask=test,
        wavelengths_nm=recipe.wavelengths_nm,
        x_modality="lidar",
        x_channel_names=recipe.x_channels,
        georef=GeoRef.from_origin(
            recipe.origin[0], recipe.origin[1], recipe.gsd_m, recipe.gsd_m, recipe.crs
        ),
        name=f"{recipe.name}_seed{seed}",
        metadata={"generator": "comix.data.synthetic", "preset": recipe.name, "seed": seed},
    )
    return GeneratedScene(scene, canvas.classes.copy(), shadow, ground, canvas=canvas, shade=shade)
