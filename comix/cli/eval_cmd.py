"""``comix eval MODEL DATASET -o OUT``: score a model on a scene's labelled pixels (OA, AA, kappa, mIoU,
plots)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from comix.cli.errors import fail
from comix.cli.options import backend_option, threads_option, tile_option, verify_option
from comix.runtime import defaults
from comix.tasks import SEGMENTATION, require_task
from comix.tiles import parse_tile
from comix.train.evaluate import SPLITS


def evaluate(
    model: Path = typer.Argument(
        ...,
        help="Checkpoint folder (model.safetensors + config.json), an .onnx graph "
        "(FP32, FP16 or INT8) or a TensorRT engine.",
    ),
    dataset: Path = typer.Argument(..., help="Dataset description file of the scene to score."),
    output: Path = typer.Option(
        Path("runs/eval"), "--output", "-o", help="Folder for metrics.json and the PNGs."
    ),
    tile: str = tile_option("Sliding-window tile."),
    overlap: int = typer.Option(
        None,
        min=0,
        help="Overlap between neighbouring tiles in pixels, blended (default: "
        f"3/8 of the tile, {defaults.default_overlap(defaults.TILE)} at {defaults.TILE}).",
    ),
    split: str = typer.Option("test", help=f"Which labelled pixels to score: {', '.join(SPLITS)}."),
    backend: str = backend_option(),
    threads: int = threads_option(),
    verify: bool = verify_option(),
) -> None:
    """Score a checkpoint or an ONNX graph (any precision) on a scene's held-out pixels: OA, AA, kappa,
    per-class accuracy, mIoU, plots. Every precision is scored by the same code."""
    from comix.atomic import check_writable
    from comix.data.loader import load_scene
    from comix.runtime.registry import open_backend
    from comix.train.evaluate import evaluate_scene, write_evaluation

    if split not in SPLITS:
        fail(f"--split: got {split!r}, expected one of {list(SPLITS)}")
    check_writable(output)
    runner = open_backend(model, backend, threads=threads, verify=verify)
    require_task(runner.info.task, SEGMENTATION, str(model), "comix eval")
    # a checkpoint trained on the HSI alone (train --modalities hsi) is scored with the X raster zeroed
    zero_x = getattr(runner, "training_recipe", {}).get("modalities") == "hsi"
    scene = load_scene(dataset)
    runner.check_scene(scene.hsi, scene.x)
    metrics, prediction = evaluate_scene(
        runner,
        scene,
        tile=parse_tile(tile) if tile else None,
        overlap=overlap,
        split=split,
        zero_x=zero_x,
    )
    paths = write_evaluation(output, metrics, prediction, scene, split)
    typer.echo(
        json.dumps(
            {k: v for k, v in metrics.as_dict().items() if not isinstance(v, list)}, indent=2
        )
    )
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
