"""``comix fusion ...``: SHIP image fusion (pan-sharpening, infrared-visible) through the toolchain — make
data, train, evaluate against classic methods, export (ONNX DFT or DFT-free), fuse whole scenes. Options and
printing only; the work is in comix.ship.data, comix.ship.train, comix.ship.export and
comix.ship.runtime.fuse."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from comix.atomic import check_writable
from comix.cli.errors import command, fail
from comix.cli.options import threads_option, tile_option
from comix.runtime import defaults
from comix.ship.data.pancollection import DEFAULT_DATA_RANGE
from comix.tiles import parse_tile

app = typer.Typer(
    help="SHIP / SHIP++ multi-modal image fusion: pan-sharpening and infrared-visible fusion.",
    no_args_is_help=True,
)


class FusionTask(str, Enum):
    pansharpen = "pansharpen"
    irvis = "irvis"


class Lowering(str, Enum):
    dft = "dft"
    matrix = "matrix"


def metrics_table(title: str, rows: dict[str, dict[str, float]]) -> Table:
    """One row per method, one column per metric (arrows: which way is better)."""
    from comix.ship.train.evaluate import higher_is_better

    table = Table(title=title)
    table.add_column("method")
    names = list(next(iter(rows.values())).keys()) if rows else []
    for name in names:
        table.add_column(f"{name} {'↑' if higher_is_better(name) else '↓'}", justify="right")
    for method, metrics in rows.items():
        table.add_row(method, *[f"{metrics[name]:.4f}" for name in names])
    return table


@command(app, "make-data")
def make_data(
    output: Path = typer.Argument(..., help="Folder to write the data sets into (created)."),
    task: FusionTask = typer.Option(
        FusionTask.pansharpen,
        help="pansharpen (PanCollection .h5 files) or irvis (ir/ vi/ mask/ PNG folders).",
    ),
    size: int = typer.Option(512, help="Scene size in pixels (multiple of 16)."),
    train_scenes: int = typer.Option(
        2, "--train-scenes", min=1, help="Synthetic scenes for training."
    ),
    test_scenes: int = typer.Option(
        1, "--test-scenes", min=1, help="Held-out scenes (other seeds)."
    ),
    seed: int = typer.Option(0, help="First seed (test scenes use seed + 1000 ...)."),
    sensor: str = typer.Option(
        "quickbird", help="Multispectral sensor: quickbird (4 bands) or worldview3 (8)."
    ),
    haze: float = typer.Option(0.3, help="IR-VIS: haze of the visible images, in [0, 1)."),
) -> None:
    """Make synthetic fusion data from Houston-like scenes: Wald's-protocol pan-sharpening sets or IR-VIS
    pairs with a physically based thermal band."""
    from comix.ship.data.make import FusionDataPlan, make_fusion_data

    plan = FusionDataPlan(
        task=task.value,
        size=size,
        train_scenes=train_scenes,
        test_scenes=test_scenes,
        seed=seed,
        sensor=sensor,
        haze=haze,
    )
    for name, path in make_fusion_data(output, plan).items():
        typer.echo(f"{name}: {path}")


@command(app, "train")
def train(
    data: Path = typer.Argument(
        ..., help="Training data: a PanCollection .h5 (with gt) or an IR-VIS pair folder."
    ),
    output: Path = typer.Option(
        Path("runs/fusion"), "--output", "-o", help="Checkpoint folder to write."
    ),
    validation: Path = typer.Option(
        None, "--validation", help="Held-out data of the same kind, scored during training."
    ),
    variant: str = typer.Option(
        None, help="ship_pansharpen / ship_irvis / ship_pp_* (default: the data's task)."
    ),
    steps: int = typer.Option(300, min=1, help="Optimizer steps."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Crops per step."),
    patch: int = typer.Option(32, min=8, help="Crop size (PAN / image grid)."),
    lr: float = typer.Option(
        1e-3, min=0.0, help="Adam learning rate (halved at 60 % and 85 % of the steps)."
    ),
    width: int = typer.Option(None, help="Feature width (SHIP: 16)."),
    data_range: float = typer.Option(
        DEFAULT_DATA_RANGE,
        "--data-range",
        help="Units of 1.0 in a .h5 file (2047 for 11-bit data).",
    ),
    seed: int = typer.Option(0, help="Seed of the init and the crops."),
    threads: int = threads_option("CPU threads for PyTorch", runtime="PyTorch"),
) -> None:
    """Train a SHIP model; writes a checkpoint (task fusion-*) and history.json."""
    import torch

    from comix.ship.data.loading import load_fusion_data
    from comix.ship.data.pairs import PansharpenSet
    from comix.ship.train.recipe import FusionRecipe
    from comix.ship.train.trainer import FusionTrainer

    _check_data_range(data_range)
    check_writable(output)
    if threads:
        torch.set_num_threads(threads)
    train_set = load_fusion_data(data, data_range)
    held_out = load_fusion_data(validation, data_range) if validation is not None else None
    default = "ship_pansharpen" if isinstance(train_set, PansharpenSet) else "ship_irvis"
    recipe = FusionRecipe(
        variant=variant or default,
        steps=steps,
        batch_size=batch_size,
        patch=patch,
        lr=lr,
        seed=seed,
        eval_every=max(1, steps // 3),
        model_overrides={"width": width} if width else {},
    )
    result = FusionTrainer(train_set, held_out, recipe, output).fit()
    typer.echo(f"checkpoint: {output}  ({result.seconds:.0f} s)")
    if result.last_scores is not None:
        Console().print(
            metrics_table(f"held-out ({validation})", {recipe.variant: result.last_scores.metrics})
        )


@command(app, "eval")
def evaluate(
    model: Path = typer.Argument(..., help="SHIP checkpoint folder or exported .onnx."),
    data: Path = typer.Argument(..., help="A PanCollection .h5 or an IR-VIS pair folder."),
    output: Path = typer.Option(
        Path("runs/fusion_eval"), "--output", "-o", help="Folder for metrics.json."
    ),
    baselines: bool = typer.Option(
        True, "--baselines/--no-baselines", help="Also score the classic methods."
    ),
    data_range: float = typer.Option(
        DEFAULT_DATA_RANGE, "--data-range", help="Units of 1.0 in a .h5 file."
    ),
    tile: str = tile_option(),
    overlap: int = typer.Option(
        None, help="Tile overlap (default: 1/4 of the tile, measured; docs/ship.md)."
    ),
    threads: int = threads_option("ONNX Runtime threads", runtime="ONNX Runtime"),
) -> None:
    """Score a SHIP model (and the classic methods) on a data set with the task's metrics."""
    from comix.atomic import write_text_atomic
    from comix.runtime.segment import open_backend
    from comix.ship.data.loading import load_fusion_data
    from comix.ship.train.baselines import baselines_for
    from comix.ship.train.evaluate import score_fusion
    from comix.tasks import FUSION_TASKS, require_task

    _check_data_range(data_range)
    if output.exists() and not output.is_dir():
        fail(f"--output {output}: got an existing file, expected a folder for metrics.json")
    check_writable(output)
    tile = parse_tile(tile) if tile else None
    backend = open_backend(model, threads=threads)
    require_task(backend.info.task, FUSION_TASKS, str(model), "comix fusion eval")
    dataset = load_fusion_data(data, data_range)
    methods = {backend.info.name or "model": backend}
    if baselines:
        config = backend.info.config
        methods.update(
            baselines_for(
                backend.info.task,
                int(config.get("primary_channels", 3)),
                float(config.get("data_range", 1.0)),
                int(config.get("ratio", 4)),
            )
        )
    rows = {
        name: score_fusion(runner, dataset, tile, overlap).metrics
        for name, runner in methods.items()
    }
    output.mkdir(parents=True, exist_ok=True)
    path = write_text_atomic(
        output / "metrics.json",
        json.dumps(
            {"model": str(model), "data": str(data), "task": backend.info.task, "methods": rows},
            indent=2,
        ),
    )
    Console().print(metrics_table(f"{data}", rows))
    typer.echo(f"wrote {path}")


@command(app, "export")
def export(
    checkpoint: Path = typer.Argument(
        ..., help="SHIP checkpoint folder (model.safetensors + config.json)."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="ONNX file to write (its folder must exist)."
    ),
    lowering: Lowering = typer.Option(
        Lowering.dft,
        help="The Fourier product as ONNX DFT (any size, ONNX Runtime) "
        "or as cos/sin matrix products for one fixed tile (no DFT node: TensorRT).",
    ),
    dynamic: bool = typer.Option(
        None,
        "--dynamic/--static",
        help="Symbolic batch/H/W (default for dft) or fixed "
        "to --tile/--batch (required for matrix).",
    ),
    tile: str = tile_option("The sample's tile, a static graph's and the matrix lowering's."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch of a static graph."),
    opset: int = typer.Option(20, "--opset", help="ONNX opset (>= 20 for DFT)."),
    validate: bool = typer.Option(
        True,
        "--validate/--no-validate",
        help="Checker, shape inference and ONNX Runtime "
        "vs PyTorch (torch.fft) parity before writing.",
    ),
    atol: float = typer.Option(
        1e-4,
        "--atol",
        help="Largest allowed max-abs difference of the fused image, in units of the data range.",
    ),
) -> None:
    """Export a SHIP checkpoint to ONNX, validated against PyTorch, written atomically."""
    from comix.atomic import check_parent
    from comix.ship.export import FusionExportOptions, export_fusion_checkpoint

    if output.suffix != ".onnx":
        fail(f"output {output}: got suffix {output.suffix!r}, expected '.onnx'")
    check_parent(output)
    if not checkpoint.exists():
        fail(
            f"checkpoint {checkpoint}: got no such file or folder, expected a SHIP checkpoint folder"
        )
    options = FusionExportOptions(
        lowering=lowering.value,
        opset=opset,
        dynamic=(lowering == Lowering.dft) if dynamic is None else dynamic,
        tile=parse_tile(tile or defaults.TILE),
        batch=batch,
        validate=validate,
        atol=atol,
    )
    with Console(stderr=True).status(
        f"exporting {checkpoint} (Fourier product: {lowering.value})..."
    ):
        result = export_fusion_checkpoint(checkpoint, output, options)
    report = result.report
    table = Table(title=str(result.path))
    table.add_column("check")
    table.add_column("result")
    table.add_row("onnx.checker", report.checker)
    table.add_row("shape inference", report.shape_inference)
    table.add_row("ORT vs PyTorch", report.parity.split(";")[0])
    if report.max_abs_error is not None:
        table.add_row("max |fused error|", f"{report.max_abs_error:.3g} (<= {report.atol:g})")
    table.add_row(
        "Fourier nodes",
        ", ".join(f"{k} x{v}" for k, v in result.node_counts.items() if k in ("DFT", "MatMul"))
        or "none",
    )
    Console().print(table)


@command(app, "infer")
def infer(
    model: Path = typer.Argument(..., help="SHIP .onnx or checkpoint folder."),
    primary: Path = typer.Option(
        ...,
        "--primary",
        help="MS image (at its own or the PAN resolution) or visible "
        "image: GeoTIFF/ENVI/.npy/.mat/PNG.",
    ),
    guide: Path = typer.Option(..., "--guide", help="PAN or infrared image on the output grid."),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Fused image to write: .tif (GeoTIFF, float32) or .npy; "
        ".png quick-look and .json summary beside it.",
    ),
    tile: str = tile_option(),
    overlap: int = typer.Option(
        None, help="Tile overlap, blended (default: 1/4 of the tile; docs/ship.md)."
    ),
    batch: int = typer.Option(None, help=f"Tiles per backend call (default {defaults.BATCH})."),
    layout: str = typer.Option(
        None, "--layout", help="Axis layout of .mat/.npy arrays: HWC (default) or CHW."
    ),
    threads: int = threads_option("ONNX Runtime threads", runtime="ONNX Runtime"),
) -> None:
    """Fuse a whole scene tile by tile (blended) and write the fused image, a quick-look PNG and a JSON
    summary."""
    from comix.atomic import refuse_overwriting_inputs
    from comix.runtime.segment import open_backend
    from comix.ship.runtime.fuse import fuse_scene
    from comix.ship.runtime.image_outputs import image_output_paths
    from comix.tasks import FUSION_TASKS, require_task

    refuse_overwriting_inputs(
        image_output_paths(output).values(), [primary, guide, model], given=output
    )
    backend = open_backend(model, threads=threads)
    require_task(backend.info.task, FUSION_TASKS, str(model), "comix fusion infer")
    first, georef_first = _read(primary, layout)
    second, georef_second = _read(guide, layout)
    run = fuse_scene(
        backend,
        first,
        second,
        output,
        georef=georef_second or georef_first,
        tile=parse_tile(tile) if tile else None,
        overlap=overlap,
        batch=batch,
        summary={"model": str(model), "primary": str(primary), "guide": str(guide)},
    )
    Console(stderr=True).print(
        f"wrote {', '.join(str(p) for p in run.paths.values())} ({run.result.tiles} tiles in "
        f"{run.result.seconds:.2f} s)",
        highlight=False,
    )


def _check_data_range(data_range: float) -> None:
    if not data_range > 0:
        fail(
            f"--data-range: got {data_range}, expected a positive number (units of 1.0 in the data)"
        )


def _read(path: Path, layout: str | None):
    """(C, H, W) float32 and the georeference of a raster or an 8-bit/16-bit picture."""
    from comix.ship.data.image_folders import IMAGE_SUFFIXES, read_image

    if path.suffix.lower() in IMAGE_SUFFIXES and path.suffix.lower() not in (".tif", ".tiff"):
        return read_image(path), None
    from comix.data.raster_io import read_raster, to_chw

    raster = read_raster(path, layout=layout)
    return to_chw(raster).astype("float32", copy=False), raster.georef
