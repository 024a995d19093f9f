"""``comix train`` and ``comix eval``: train CoMiX on a dataset description, score a checkpoint on a scene."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from comix.cli.errors import fail_on_user_errors

TRAIN_HELP = "Train a CoMiX variant on one scene (a dataset description file); writes a checkpoint folder."
EVAL_HELP = "Score a checkpoint on a scene's held-out pixels: OA, AA, kappa, per-class accuracy, mIoU, plots."


def train(
    dataset: Path = typer.Argument(..., help="Dataset description file (YAML/TOML) naming the HSI, X, labels, split."),
    output: Path = typer.Option(Path("runs/train"), "--output", "-o", help="Checkpoint folder to write."),
    variant: str = typer.Option("comix_t", help="Model variant: comix_t, comix_s or comix_b."),
    steps: int = typer.Option(400, min=1, help="Optimizer steps."),
    tile: int = typer.Option(64, min=8, help="Training tile size in pixels (square)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Tiles per step."),
    lr: float = typer.Option(2e-3, min=0.0, help="Peak learning rate (AdamW)."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", min=0.0, help="AdamW weight decay."),
    warmup_steps: int = typer.Option(None, "--warmup-steps", min=0,
                                     help="Linear warm-up steps, then poly 0.9 decay (default: 10 % of --steps)."),
    eval_every: int = typer.Option(100, "--eval-every", min=1, help="Evaluate on the test pixels every N steps."),
    seed: int = typer.Option(0, help="Seed of the model init, tile sampling and augmentation."),
    modalities: str = typer.Option("hsi+x", help="'hsi+x', or 'hsi' for an HSI-only ablation (X set to zero)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --output from its saved state."),
    threads: int = typer.Option(0, min=0, help="CPU threads for PyTorch (0 = PyTorch's default)."),
) -> None:
    """Train a CoMiX variant on one scene (a dataset description file); writes a checkpoint folder."""
    with fail_on_user_errors():
        import torch

        from comix.data.loader import load_scene
        from comix.train.recipe import TrainRecipe
        from comix.train.trainer import Trainer
        from comix.viz import save_training_curves

        if threads:
            torch.set_num_threads(threads)
        recipe = TrainRecipe(variant=variant, tile=tile, batch_size=batch_size, steps=steps, lr=lr,
                             weight_decay=weight_decay, warmup_steps=steps // 10 if warmup_steps is None else warmup_steps,
                             eval_every=eval_every, seed=seed, modalities=modalities)
        scene = load_scene(dataset)
        typer.echo(scene.summary())
        trainer = Trainer(scene, recipe, output)
        if resume:
            trainer.resume()
            typer.echo(f"resumed {output} at step {trainer.step}/{recipe.steps}")
        result = trainer.fit()
        save_training_curves(result.history, output / "training_curves.png")
        metrics = result.last_metrics or {}
        typer.echo(f"checkpoint: {output}  ({result.seconds:.0f} s)  held-out OA {metrics.get('overall_accuracy', float('nan')):.4f}"
                   f"  mIoU {metrics.get('mean_iou', float('nan')):.4f}")


def evaluate(
    checkpoint: Path = typer.Argument(..., help="Checkpoint folder (model.safetensors + config.json)."),
    dataset: Path = typer.Argument(..., help="Dataset description file of the scene to score."),
    output: Path = typer.Option(Path("runs/eval"), "--output", "-o", help="Folder for metrics.json and the PNGs."),
    tile: int = typer.Option(128, min=16, help="Sliding-window tile size in pixels."),
    overlap: int = typer.Option(48, min=0, help="Overlap between neighbouring tiles in pixels (blended)."),
    split: str = typer.Option("test", help="Which labelled pixels to score: 'test', 'train' or 'all'."),
) -> None:
    """Score a checkpoint on a scene's held-out pixels: OA, AA, kappa, per-class accuracy, mIoU, plots."""
    with fail_on_user_errors():
        from comix.data.loader import load_scene
        from comix.model.checkpoint import load_checkpoint
        from comix.train.evaluate import SPLITS, evaluate_scene, write_evaluation

        if split not in SPLITS:
            raise ValueError(f"--split: got {split!r}, expected one of {list(SPLITS)}")
        loaded = load_checkpoint(checkpoint)
        scene = load_scene(dataset)
        zero_x = loaded.training_recipe.get("modalities") == "hsi"
        metrics, prediction = evaluate_scene(loaded.model, scene, tile=tile, overlap=overlap, split=split,
                                             zero_x=zero_x)
        paths = write_evaluation(output, metrics, prediction, scene, split)
        typer.echo(json.dumps({k: v for k, v in metrics.as_dict().items() if not isinstance(v, list)}, indent=2))
        typer.echo("wrote " + ", ".join(str(p) for p in paths))
