"""``comix eval MODEL DATASET -o OUT``: score a model on a scene's labelled pixels (OA, AA, kappa, mIoU, plots)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from comix.runtime import defaults
from comix.tasks import SEGMENTATION, require_task
from comix.train.evaluate import SPLITS


def evaluate(
    model: Path = typer.Argument(
        ...,
        help="Checkpoint folder (model.safetensors + config.json), or an .onnx graph "
        "(FP32, FP16 or INT8; run by ONNX Runtime).",
    ),
    dataset: Path = typer.Argument(..., help="Dataset description file of the scene to score."),
    output: Path = typer.Option(
        Path("runs/eval"), "--output", "-o", help="Folder for metrics.json and the PNGs."
    ),
    tile: int = typer.Option(defaults.TILE, min=16, help="Sliding-window tile size in pixels."),
    overlap: int = typer.Option(
        None,
        min=0,
        help="Overlap between neighbouring tiles in pixels, blended (default: "
        f"3/8 of the tile, {defaults.default_overlap(defaults.TILE)} at {defaults.TILE}).",
    ),
    split: str = typer.Option("test", help=f"Which labelled pixels to score: {', '.join(SPLITS)}."),
    threads: int = typer.Option(
        0,
        "--threads",
        min=0,
        help="ONNX Runtime intra-op threads for an .onnx model (0 = its default).",
    ),
) -> None:
    """Score a checkpoint or an ONNX graph (any precision) on a scene's held-out pixels: OA, AA, kappa,
    per-class accuracy, mIoU, plots. Every precision is scored by the same code."""
    from comix.data.loader import load_scene
    from comix.model.checkpoint import load_checkpoint
    from comix.runtime.segment import open_backend
    from comix.runtime.torch_backend import TorchBackend
    from comix.train.evaluate import evaluate_scene, write_evaluation

    if split not in SPLITS:
        raise ValueError(f"--split: got {split!r}, expected one of {list(SPLITS)}")
    if model.suffix == ".onnx":
        backend, zero_x = open_backend(model, "onnxruntime", threads=threads), False
        require_task(backend.info.task, SEGMENTATION, str(model), "comix eval")
    else:
        loaded = load_checkpoint(model)
        require_task(loaded.task, SEGMENTATION, str(model), "comix eval")
        backend, zero_x = (
            TorchBackend(loaded.model),
            loaded.training_recipe.get("modalities") == "hsi",
        )
    scene = load_scene(dataset)
    backend.check_scene(scene.hsi, scene.x)
    metrics, prediction = evaluate_scene(
        backend, scene, tile=tile, overlap=overlap, split=split, zero_x=zero_x
    )
    paths = write_evaluation(output, metrics, prediction, scene, split)
    typer.echo(
        json.dumps(
            {k: v for k, v in metrics.as_dict().items() if not isinstance(v, list)}, indent=2
        )
    )
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
