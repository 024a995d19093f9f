"""Generate a preset scene and write it as a dataset folder (files + ``dataset.yaml``), all or nothing.

What ``comix data make-scene`` does: the options are checked before the (seconds-long) generation, the
folder is written under a temporary name and renamed when complete (:mod:`comix.data.staging`).
"""

from __future__ import annotations

from pathlib import Path

from comix.data.errors import DataError
from comix.data.scene_writer import check_write_options, write_scene
from comix.data.staging import staged_folder
from comix.data.synthetic.generator import GeneratedScene
from comix.data.synthetic.presets import PRESETS, make_preset


def make_scene_folder(
    output: str | Path,
    preset: str = "houston_like",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    fmt: str = "geotiff",
    mat_version: str = "5",
    spectral_source: str = "earthlib",
    houston_folder: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[GeneratedScene, Path]:
    """Generate ``preset`` (benchmark size unless ``height``/``width``) and write it into ``output``.

    Args:
        output: the folder to create; an existing non-empty one only with ``overwrite``.
        fmt, mat_version: file format, see :func:`~comix.data.scene_writer.write_scene`.
        spectral_source, houston_folder: where spectra come from, see
            :func:`~comix.data.synthetic.materials.build_palette`.

    Returns:
        ``(generated scene, path of the written dataset description)``.

    Raises:
        DataError: an unknown preset, format or MAT version, or an output that may not be written
            (checked before anything is generated or written); any error of the generator or writers.
    """
    check_write_options(fmt, mat_version)
    if preset not in PRESETS:
        raise DataError(
            f"make_scene_folder: got preset {preset!r}, expected one of {sorted(PRESETS)}"
        )
    with staged_folder(output, overwrite) as staging:  # checks output before generating
        generated = make_preset(
            preset,
            seed=seed,
            height=height,
            width=width,
            spectral_source=spectral_source,
            houston_folder=None if houston_folder is None else str(houston_folder),
        )
        description = write_scene(generated.scene, staging, fmt, mat_version=mat_version)
    return generated, Path(output) / description.name
