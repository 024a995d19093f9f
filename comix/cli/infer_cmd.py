"""``comix infer MODEL --hsi PATH --x PATH -o seg.tif``: whole-scene sliding-window segmentation.

Register with ``app.command("infer")(infer_cmd.infer_command)``. MODEL is an exported ``.onnx`` (ONNX
Runtime backend) or a checkpoint folder (PyTorch backend).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from comix.cli.errors import fail

BACKENDS = ("auto", "onnxruntime", "torch")
DEFAULT_TILE, DEFAULT_BATCH = 128, 4


def _read(path: Path, key: str | None, layout: str | None):
    from comix.data.raster_io import read_raster, to_chw

    raster = read_raster(path, key=key, layout=layout)
    return to_chw(raster).astype("float32", copy=False), raster.georef


def open_backend(model: Path, backend: str, threads: int = 0):
    """The :class:`~comix.runtime.Backend` for ``model`` (``auto``: .onnx -> onnxruntime, else torch)."""
    from comix.runtime import OnnxRuntimeBackend, RuntimeInputError, TorchBackend

    if backend not in BACKENDS:
        raise RuntimeInputError(f"--backend: got {backend!r}, expected one of {list(BACKENDS)}")
    if backend == "auto":
        backend = "onnxruntime" if model.suffix == ".onnx" else "torch"
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(model, threads=threads)
    return TorchBackend.from_checkpoint(model)


def infer_command(
    model: Path = typer.Argument(..., help="Exported .onnx model, or a checkpoint folder for the PyTorch backend."),
    hsi: Path = typer.Option(..., "--hsi", help="HSI cube: GeoTIFF/ENVI (bands first), .npy/.mat/.npz (see --layout)."),
    x: Path = typer.Option(..., "--x", help="X-modality raster (LiDAR DSM, SAR, ...) on the same H x W grid."),
    output: Path = typer.Option(..., "-o", "--output", help="Class raster to write: .tif (GeoTIFF, keeps the HSI's "
                                "georeference; a .npy is written beside it) or .npy; .png and .json go beside."),
    tile: int = typer.Option(None, "--tile", help="Tile height and width in pixels (default: a static model's own "
                             "tile, else 128)."),
    overlap: int = typer.Option(None, "--overlap", help="Pixels shared by neighbouring tiles, blended so there are "
                                "no seams (default: 3/8 of the tile, 48 at 128)."),
    batch: int = typer.Option(None, "--batch", help="Tiles per backend call; memory grows with this, not the scene "
                              "(default: a static model's batch, else 4)."),
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
    console = Console(stderr=True)
    from comix.data.errors import DataError
    from comix.runtime import RuntimeInputError, SlidingWindow
    from comix.runtime.outputs import output_paths, write_products
    from comix.runtime.tiling import default_overlap

    try:
        output_paths(output, probabilities)  # fail on a bad output path before any work
        started = time.perf_counter()
        hsi_cube, georef = _read(hsi, hsi_key, layout)
        x_raster, x_georef = _read(x, x_key, layout)
        read_seconds = time.perf_counter() - started
        runner = open_backend(model, backend, threads)
        info = runner.info
        tile_hw = (tile, tile) if tile is not None else info.tile or (DEFAULT_TILE, DEFAULT_TILE)
        overlap = default_overlap(min(tile_hw)) if overlap is None else overlap
        batch = batch if batch is not None else info.max_batch or DEFAULT_BATCH
        window = SlidingWindow(runner, tile=tile_hw, overlap=overlap, batch=batch)
        runner.check_scene(hsi_cube, x_raster)
        with Progress(TextColumn("[bold]tiles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=quiet) as progress:
            task = progress.add_task("infer", total=None)
            window.progress = lambda done, total: progress.update(task, completed=done, total=total)
            result = window(hsi_cube, x_raster)
        summary = {"model": str(model), "model_name": info.name, "backend": runner.name,
                   "tile": list(window.tile_for(*hsi_cube.shape[1:])), "overlap": overlap, "batch": window.batch,
                   "hsi": str(hsi), "x": str(x), "read_seconds": read_seconds}
        names = info.class_names or [f"class_{k}" for k in range(1, result.logits.shape[0] + 1)]
        paths = write_products(result, output, names, georef or x_georef, probabilities, summary)
    except (RuntimeInputError, DataError) as error:
        fail(str(error).splitlines()[0])
    console.print(f"wrote {', '.join(str(p) for p in paths.values())} "
                  f"({result.tiles} tiles in {result.seconds:.2f} s)", highlight=False)
