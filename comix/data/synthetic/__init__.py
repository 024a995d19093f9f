"""Synthetic Houston-/Trento-like HSI-X scenes, generated from real reflectance libraries.

    from comix.data.synthetic import houston_like
    generated = houston_like(seed=0, height=349, width=1905)   # GeneratedScene: .scene, .dense_labels, ...
    generated, description = make_scene_folder("out/houston", "houston_like", fmt="geotiff")  # files + yaml

Same seed and arguments -> identical arrays. The pipeline and which module does what: see
:mod:`comix.data.synthetic.generator`; the presets: :mod:`comix.data.synthetic.presets`.
"""

from comix.data.synthetic.generator import GeneratedScene, SceneRecipe, generate
from comix.data.synthetic.presets import (
    PRESET_SIZES,
    PRESETS,
    houston_like,
    houston_recipe,
    make_preset,
    trento_like,
    trento_recipe,
)
from comix.data.synthetic.scene_folder import make_scene_folder

__all__ = [
    "PRESETS",
    "PRESET_SIZES",
    "GeneratedScene",
    "SceneRecipe",
    "generate",
    "houston_like",
    "houston_recipe",
    "make_preset",
    "make_scene_folder",
    "trento_like",
    "trento_recipe",
]
