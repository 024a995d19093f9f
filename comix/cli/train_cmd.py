"""``comix train DATASET -o RUN``: train CoMiX on a dataset description; writes a checkpoint folder."""

from __future__ import annotations

from pathlib import Path

import typer

from comix.cli.options import threads_option
from comix.train.recipe import TrainRecipe

DEFAULTS = TrainRecipe()


def train(
    dataset: Path = typer.Argument(
        ..., help="Dataset description file (YAML/TOML) naming the HSI, X, labels, split."
    ),
    output: Path = typer.Option(
        Path("runs/train"), "--output", "-o", help="Checkpoint folder to write."
    ),
    variant: str = typer.Option(
        DEFAULTS.variant, help="Model variant: comix_t, comix_s or comix_b."
    ),
    steps: int = typer.Option(DEFAULTS.steps, min=1, help="Optimizer steps."),
    tile: int = typer.Option(DEFAULTS.tile, min=8, help="Training tile size in pixels (square)."),
    batch_size: int = typer.Option(
        DEFAULTS.batch_size, "--batch-size", min=1, help="Tiles per step."
    ),
    lr: float = typer.Option(DEFAULTS.lr, min=0.0, help="Peak learning rate (AdamW)."),
    weight_decay: float = typer.Option(
        DEFAULTS.weight_decay, "--weight-decay", min=0.0, help="AdamW weight decay."
    ),
    warmup_steps: int = typer.Option(
        None,
        "--warmup-steps",
        min=0,
        help="Linear warm-up steps, then poly 0.9 decay (default: 10 % of --steps).",
    ),
    eval_every: int = typer.Option(
        DEFAULTS.eval_every,
        "--eval-every",
        min=1,
        help="Evaluate on the test pixels every N steps.",
    ),
    seed: int = typer.Option(
        DEFAULTS.seed, help="Seed of the model init, tile sampling and augmentation."
    ),
    modalities: str = typer.Option(
        DEFAULTS.modalities, help="'hsi+x', or 'hsi' for an HSI-only ablation (X set to zero)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --output from its saved state."
    ),
    threads: int = threads_option("CPU threads for PyTorch", runtime="PyTorch"),
) -> None:
    """Train a CoMiX variant on one scene (a dataset description file); writes a checkpoint folder."""
    import torch

    from comix.atomic import check_writable
    from comix.data.loader import load_scene
    from comix.model.registry import variant_task
    from comix.tasks import SEGMENTATION, require_task
    from comix.train.trainer import Trainer
    from comix.viz import save_training_curves

    require_task(variant_task(variant), SEGMENTATION, f"variant {variant}", "comix train")
    check_writable(output)  # a read-only or foreign folder: refused before the scene is read
    if threads:
        torch.set_num_threads(threads)
    recipe = TrainRecipe(
        variant=variant,
        tile=tile,
        batch_size=batch_size,
        steps=steps,
        lr=lr,
        weight_decay=weight_decay,
        warmup_steps=warmup_steps,
        eval_every=eval_every,
        seed=seed,
        modalities=modalities,
    )
    scene = load_scene(dataset)
    from comix.data.contents import DatasetContents

    typer.echo(DatasetContents.of(scene).summary())
    trainer = Trainer(scene, recipe, output)
    if resume:
        trainer.resume()
        typer.echo(f"resumed {output} at step {trainer.step}/{recipe.steps}")
    result = trainer.fit()
    save_training_curves(result.history, output / "training_curves.png")
    metrics = result.last_metrics or {}
    accuracy, iou = (
        metrics.get("overall_accuracy", float("nan")),
        metrics.get("mean_iou", float("nan")),
    )
    typer.echo(
        f"checkpoint: {output}  ({result.seconds:.0f} s)  held-out OA {accuracy:.4f}  mIoU {iou:.4f}"
    )
