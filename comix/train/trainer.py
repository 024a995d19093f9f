"""Train CoMiX on one scene: tile sampling, AdamW + warm-up/poly, cross-entropy ignoring label 0.

A run writes into its output folder:
    model.safetensors + config.json   the checkpoint (model, normalisation, classes, wavelengths, recipe)
    train_state.safetensors           optimizer, schedule, sampler and RNG state, for ``resume`` (no pickle:
                                      see :mod:`comix.train.state`)
    history.json                      loss and validation metrics per evaluation

Resuming restores every piece of state, so an interrupted run that is resumed ends with the same
weights (and metrics) as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from comix.atomic import write_text_atomic
from comix.data.scene import Scene
from comix.errors import BadInputError
from comix.model.checkpoint import load_checkpoint, save_checkpoint
from comix.model.registry import build_model
from comix.runtime.torch_backend import TorchBackend
from comix.train.evaluate import evaluate_scene
from comix.train.recipe import TrainRecipe
from comix.train.sampler import TileSampler
from comix.train.schedule import warmup_poly_factor
from comix.train.state import STATE_FILE, load_train_state, save_train_state

TRAIN_STATE = STATE_FILE
HISTORY = "history.json"


@dataclass
class TrainResult:
    """What a finished (or paused) run leaves: its folder, the last step done and the evaluation history."""

    folder: Path
    step: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def last_metrics(self) -> dict | None:
        evaluated = [h for h in self.history if "overall_accuracy" in h]
        return evaluated[-1] if evaluated else None


def normalization_statistics(scene: Scene) -> dict[str, list[float]]:
    """Per-band HSI and per-channel X mean/std over the whole scene (labels are not needed). Training reads
    every pixel, so a raster with NaN/Inf anywhere is refused here, in one sentence, before NumPy would
    average it into NaN statistics."""
    for what, values in (("HSI cube", scene.hsi), ("X raster", scene.x)):
        bad = ~np.isfinite(values).all(axis=0)
        if bad.any():
            raise BadInputError(
                f"scene {scene.name}: got NaN/Inf in {int(bad.sum())} of the {bad.size} pixels of its "
                f"{what}, expected finite values everywhere to train on (fill or crop the nodata first)"
            )

    def stats(values: np.ndarray) -> tuple[list[float], list[float]]:
        flat = values.reshape(values.shape[0], -1).astype(np.float64)
        std = flat.std(axis=1)
        return flat.mean(axis=1).tolist(), np.where(std > 1e-12, std, 1.0).tolist()

    hsi_mean, hsi_std = stats(scene.hsi)
    x_mean, x_std = stats(scene.x)
    return {"hsi_mean": hsi_mean, "hsi_std": hsi_std, "x_mean": x_mean, "x_std": x_std}


def _training_record(scene: Scene, recipe: TrainRecipe) -> dict:
    """What the checkpoint's ``training_recipe`` holds: the recipe and the scene it was trained on."""
    return {
        **recipe.to_dict(),
        "scene": scene.name,
        "x_modality": scene.x_modality,
        "x_channel_names": list(scene.x_channel_names),
    }


def recipe_from_checkpoint(record: dict) -> TrainRecipe:
    """The :class:`TrainRecipe` inside a checkpoint's ``training_recipe`` record."""
    known = set(TrainRecipe.__dataclass_fields__)
    return TrainRecipe.from_dict({key: value for key, value in record.items() if key in known})


class Trainer:
    """Train ``recipe.variant`` on ``scene`` into ``folder`` (created); ``fit`` can stop early and resume."""

    def __init__(
        self, scene: Scene, recipe: TrainRecipe, folder: str | Path, show_progress: bool = True
    ):
        self.scene = scene
        self.recipe = recipe
        self.folder = Path(folder)
        self.show_progress = show_progress
        torch.manual_seed(recipe.seed)
        self.model = build_model(
            recipe.variant,
            bands=scene.num_bands,
            x_channels=scene.x.shape[0],
            classes=scene.num_classes,
            **recipe.model_overrides,
        )
        stats = normalization_statistics(scene)
        self.model.set_normalization(
            stats["hsi_mean"], stats["hsi_std"], stats["x_mean"], stats["x_std"]
        )
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay
        )
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda step: warmup_poly_factor(
                step, recipe.steps, recipe.warmup_steps, recipe.poly_power
            ),
        )
        self.sampler = TileSampler(
            scene,
            recipe.tile,
            seed=recipe.seed,
            class_balanced=recipe.class_balanced,
            augment=recipe.augment,
        )
        self.step = 0
        self.history: list[dict] = []
        self.recent_losses: list[
            float
        ] = []  # the last 10 step losses, for the smoothed loss in the history

    # ------------------------------------------------------------------ state
    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        wavelengths = (
            None if self.scene.wavelengths_nm is None else self.scene.wavelengths_nm.tolist()
        )
        save_checkpoint(
            self.model,
            self.folder,
            variant=self.recipe.variant,
            class_names=list(self.scene.class_names),
            band_wavelengths_nm=wavelengths,
            training_recipe=_training_record(self.scene, self.recipe),
        )
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "sampler": self.sampler.state(),
            "torch_rng": torch.get_rng_state(),
            "history": self.history,
            "recent_losses": self.recent_losses,
        }
        save_train_state(self.folder / TRAIN_STATE, state)
        write_text_atomic(self.folder / HISTORY, json.dumps(self.history, indent=2))

    def resume(self) -> None:
        """Restore model, optimizer, schedule, sampler and RNG state from ``folder``.

        Raises:
            FileNotFoundError: no train state in ``folder``.
            TrainStateError: a train state that is not one ``comix train`` wrote (never unpickled).
            ValueError: the saved recipe differs from this trainer's.
        """
        state = load_train_state(
            self.folder / TRAIN_STATE
        )  # first: refuses a foreign file before anything else
        checkpoint = load_checkpoint(self.folder)
        saved = recipe_from_checkpoint(checkpoint.training_recipe)
        if _as_json(saved.to_dict()) != _as_json(self.recipe.to_dict()):
            raise BadInputError(
                f"cannot resume: the recipe in {self.folder} differs from the one given "
                f"(saved {saved}, given {self.recipe})"
            )
        self.model.load_state_dict(checkpoint.model.state_dict())
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])
        self.history = list(state["history"])
        self.recent_losses = list(state["recent_losses"])

    # ------------------------------------------------------------------ loop
    def _x_input(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x) if self.recipe.modalities == "hsi" else x

    def train_step(self) -> float:
        batch = self.sampler.sample(self.recipe.batch_size)
        hsi = torch.from_numpy(batch.hsi)
        x = self._x_input(torch.from_numpy(batch.x))
        labels = torch.from_numpy(batch.labels) - 1  # 0 (unlabelled) -> -1 = ignored
        self.model.train()
        logits = self.model(hsi, x)
        loss = F.cross_entropy(logits, labels, ignore_index=-1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return float(loss.detach())

    def evaluate(self) -> dict:
        metrics, _ = evaluate_scene(
            TorchBackend(self.model),
            self.scene,
            tile=self.recipe.eval_tile,
            overlap=self.recipe.eval_overlap,
            zero_x=self.recipe.modalities == "hsi",
        )
        return metrics.as_dict()

    def fit(self, stop_after: int | None = None) -> TrainResult:
        """Train up to ``recipe.steps`` (or until step ``stop_after``, to pause); evaluate every
        ``eval_every``."""
        recipe = self.recipe
        last = recipe.steps if stop_after is None else min(recipe.steps, stop_after)
        start_time = time.perf_counter()
        columns = (
            TextColumn("[bold]train[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, disable=not self.show_progress, transient=False) as progress:
            task = progress.add_task("train", total=recipe.steps, completed=self.step, info="")
            while self.step < last:
                self.recent_losses = (self.recent_losses + [self.train_step()])[-10:]
                self.step += 1
                entry = {
                    "step": self.step,
                    "loss": float(np.mean(self.recent_losses)),
                    "lr": self.schedule.get_last_lr()[0],
                }
                if self.step % recipe.eval_every == 0 or self.step == recipe.steps:
                    entry.update(self.evaluate())
                    self.history.append(entry)
                    self._save()
                info = f"loss {entry['loss']:.3f}"
                if self.history and "overall_accuracy" in self.history[-1]:
                    last_eval = self.history[-1]
                    info += (
                        f"  val OA {last_eval['overall_accuracy']:.3f} "
                        f"mIoU {last_eval['mean_iou']:.3f}"
                    )
                progress.update(task, completed=self.step, info=info)
        if self.step == last and (not self.history or self.history[-1]["step"] != self.step):
            self._save()
        return TrainResult(self.folder, self.step, self.history, time.perf_counter() - start_time)


def _as_json(value):
    """``value`` as it reads back from JSON (tuples become lists), for comparisons with a saved record."""
    return json.loads(json.dumps(value))
