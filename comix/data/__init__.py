"""CoMiX data: readers for the public HSI-X benchmark formats; the synthetic scene generator is the
subpackage :mod:`comix.data.synthetic`.

Reading::

    from comix.data import describe_path, load_scene
    scene = load_scene("dataset.yaml")   # Scene: hsi (bands, H, W), x (C, H, W), labels (H, W), masks
    print(describe_path("hsi.tif").summary())   # what a file or dataset holds (comix data inspect)

Generating::

    from comix.data import houston_like, write_scene
    generated = houston_like(seed=0, height=349, width=1905)
    write_scene(generated.scene, "out/", fmt="geotiff")   # + out/dataset.yaml, readable by load_scene
"""

from comix.data.contents import describe_path
from comix.data.description import (
    DatasetDescription,
    SourceSpec,
    SplitSpec,
    load_description,
    parse_description,
)
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.loader import load_scene
from comix.data.raster_io import FORMATS, RasterData, infer_format, read_raster, to_chw, to_hw
from comix.data.scene import Scene
from comix.data.scene_writer import WRITE_FORMATS, write_scene
from comix.data.split import stratified_split

_SYNTHETIC = (
    "PRESETS",
    "GeneratedScene",
    "SceneRecipe",
    "generate",
    "houston_like",
    "houston_recipe",
    "make_preset",
    "make_scene_folder",
    "trento_like",
    "trento_recipe",
)


def __getattr__(name: str):
    """The generator (``comix.data.synthetic``) is imported on first use, so readers stay light to import
    (e.g. on a device)."""
    if name in _SYNTHETIC:
        from comix.data import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module 'comix.data' has no attribute {name!r}")


__all__ = [
    "DataError",
    "DatasetDescription",
    "FORMATS",
    "GeneratedScene",
    "GeoRef",
    "PRESETS",
    "RasterData",
    "Scene",
    "SceneRecipe",
    "SourceSpec",
    "SplitSpec",
    "WRITE_FORMATS",
    "describe_path",
    "generate",
    "houston_like",
    "houston_recipe",
    "infer_format",
    "load_description",
    "load_scene",
    "make_preset",
    "make_scene_folder",
    "parse_description",
    "read_raster",
    "stratified_split",
    "to_chw",
    "to_hw",
    "trento_like",
    "trento_recipe",
    "write_scene",
]
