"""``comix infer MODEL --hsi H --x X -o seg.tif``: segment a whole scene with any backend.

MODEL is an exported ``.onnx`` (ONNX Runtime backend) or a checkpoint folder (PyTorch backend). The work
is :func:`comix.runtime.segment.segment_scene`; this module parses options and shows progress.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from comix.runtime import defaults
from comix.tasks import SEGMENTATION, require_task


def infer_command(
    model: Path = typer.Argument(..., help="Exported .onnx model, or a checkpoint folder for the PyTorch backend."),
    hsi: Path = typer.Option(..., "--hsi", help="HSI cube: GeoTIFF/ENVI (bands first), .npy/.mat/.npz (see --layout)."),
    x: Path = typer.Option(..., "--x", help="X-modality raster (LiDAR DSM, SAR, ...) on the same H x W grid."),
    output: Path = typer.Option(..., "-o", "--output", help="Class raster to write: .tif (GeoTIFF, keeps the HSI's "
                                "georeference; a .npy is written beside it) or .npy; .png and .json go beside."),
    tile: int = typer.Option(None, "--tile", help="Tile height and width in pixels (default: a static model's own "
                             f"tile, else {defaults.TILE})."),
    overlap: int = typer.Option(None, "--overlap", help="Pixels shared by neighbouring tiles, blended so there are "
                                f"no seams (default: 3/8 of the tile, {defaults.default_overlap(defaults.TILE)} at "
                                f"{defaults.TILE})."),
    batch: int = typer.Option(None, "--batch", help="Tiles per backend call; memory grows with this, not the scene "
                              f"(default: a static model's batch, else {defaults.BATCH})."),
    backend: str = typer.Option("auto", "--backend", help="auto (.onnx -> onnxruntime, else torch), onnxruntime "
                                "or torch."),
    probabilities: bool = typer.Option(False, "--probabilities", help="Also write per-class softmax probabilities "
                                       "(float32, K bands) as <output>.probabilities.tif/.npy."),
    hsi_key: str = typer.Option(None, "--hsi-key", help="Variable name inside a .mat/.npz HSI file."),
    x_key: str = typer.Option(None, "--x-key", help="Variable name inside a .mat/.npz X file."),
    layout: str = typer.Option(None, "--layout", help="Axis layout of .mat/.npy/.npz arrays: HWC (default) or CHW."),
    threads: int = typer.Option(0, "--threads", help="ONNX Runtime intra-op threads (0 = its default)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Segment a whole scene tile by tile and write the class raster, a colour PNG and a JSON summary."""
    from comix.runtime.outputs import output_paths
    from comix.runtime.segment import open_backend, read_scene_inputs, segment_scene

    console = Console(stderr=True)
    output_paths(output, probabilities)  # a bad output path fails before reading the scene
    runner = open_backend(model, backend, threads)
    require_task(runner.info.task, SEGMENTATION, str(model), "comix infer")  # a SHIP model: before any reading
    started = time.perf_counter()
    hsi_cube, x_raster, georef = read_scene_inputs(hsi, x, hsi_key, x_key, layout)
    read_seconds = time.perf_counter() - started
    with Progress(TextColumn("[bold]tiles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet) as progress:
        task = progress.add_task("infer", total=None)
        run = segment_scene(runner, hsi_cube, x_raster, output, georef=georef, tile=tile, overlap=overlap,
                            batch=batch, probabilities=probabilities,
                            progress=lambda done, total: progress.update(task, completed=done, total=total),
                            summary={"model": str(model), "hsi": str(hsi), "x": str(x), "read_seconds": read_seconds})
    console.print(f"wrote {', '.join(str(p) for p in run.paths.values())} "
                  f"({run.result.tiles} tiles in {run.result.seconds:.2f} s)", highlight=False)
