"""Train a SHIP model on a fusion data set: random crops, flips/rotations, Adam with step decay, the
task's losses.

A run writes into its folder: ``model.safetensors`` + ``config.json`` (the checkpoint, task ``fusion-*``, the
recipe inside) and ``history.json`` (loss terms and held-out metrics per evaluation). Same seed, same data and
one thread give the same weights.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from comix.atomic import write_text_atomic
from comix.errors import BadInputError
from comix.model.checkpoint import save_checkpoint
from comix.model.registry import build_model, variant_task
from comix.runtime.torch_backend import TorchBackend
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.train.evaluate import FusionScores, score_fusion
from comix.ship.train.losses import SSIM_WINDOW, irvis_losses, pansharpen_losses, weighted_total
from comix.ship.train.recipe import IRVIS_LOSS_WEIGHTS, PANSHARPEN_LOSS_WEIGHTS, FusionRecipe
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, require_task

HISTORY = "history.json"
LUMA = torch.tensor([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)


def infrared_target_mask(infrared: np.ndarray, contrast: float = 0.1, size: int = 31) -> np.ndarray:
    """Thermal targets of a [0, 1] infrared image without a given mask: brighter than their
    ``size`` x ``size`` surroundings by more than ``contrast``. (1, H, W) float32 {0, 1}."""
    from scipy import ndimage

    local = ndimage.uniform_filter(infrared.astype(np.float64), (1, size, size), mode="reflect")
    return ((infrared - local) > contrast).astype(np.float32)


@dataclass
class FusionTrainResult:
    folder: Path
    steps: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    last_scores: FusionScores | None = None


class CropSampler:
    """Random ``patch`` x ``patch`` crops (same place in every array of a sample), flips and
    90-degree turns."""

    def __init__(
        self,
        arrays: list[list[np.ndarray]],
        patch: int,
        seed: int,
        augment: bool,
        multiple: int = 1,
    ) -> None:
        self.arrays = arrays  # per sample: [primary (C, H, W), guide (1, H, W), target or mask ...]
        self.patch = patch
        self.rng = np.random.default_rng(seed)
        self.augment = augment
        self.multiple = multiple
        small = [a[0].shape[1:] for a in arrays if min(a[0].shape[1:]) < patch]
        if small:
            raise BadInputError(
                f"patch: got {patch}, expected at most every sample's size (smallest {min(small)})"
            )

    def batch(self, size: int) -> list[torch.Tensor]:
        picks = []
        for _ in range(size):
            sample = self.arrays[int(self.rng.integers(len(self.arrays)))]
            height, width = sample[0].shape[1:]
            top = (
                int(self.rng.integers(0, (height - self.patch) // self.multiple + 1))
                * self.multiple
            )
            left = (
                int(self.rng.integers(0, (width - self.patch) // self.multiple + 1)) * self.multiple
            )
            crops = [a[:, top : top + self.patch, left : left + self.patch] for a in sample]
            if self.augment:
                turns, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
                crops = [np.rot90(c, turns, axes=(1, 2)) for c in crops]
                crops = [c[:, :, ::-1] if flip else c for c in crops]
            picks.append([np.ascontiguousarray(c) for c in crops])
        return [torch.from_numpy(np.stack(column)).float() for column in zip(*picks)]


def _sampler(data: PansharpenSet | IrVisSet, recipe: FusionRecipe) -> CropSampler:
    if isinstance(data, PansharpenSet):
        if data.gt is None:
            raise BadInputError(
                f"{data.name}: got a full-resolution set (no gt), expected reduced-resolution training "
                "data with a reference (Wald's protocol)"
            )
        arrays = [[data.lms[n], data.pan[n], data.gt[n]] for n in range(len(data))]
        return CropSampler(arrays, recipe.patch, recipe.seed, recipe.augment)
    masks = data.masks or [infrared_target_mask(ir) for ir in data.infrared]
    arrays = [[v, i, m] for v, i, m in zip(data.visible, data.infrared, masks)]
    return CropSampler(arrays, recipe.patch, recipe.seed, recipe.augment)


class FusionTrainer:
    """Train ``recipe.variant`` on ``train`` (scored on ``validation``) into ``folder``."""

    def __init__(
        self,
        train: PansharpenSet | IrVisSet,
        validation: PansharpenSet | IrVisSet | None,
        recipe: FusionRecipe,
        folder: str | Path,
        show_progress: bool = True,
    ) -> None:
        self.task = FUSION_PANSHARPEN if isinstance(train, PansharpenSet) else FUSION_IRVIS
        require_task(
            variant_task(recipe.variant),
            self.task,
            f"variant {recipe.variant}",
            "fusion training on "
            f"{'pan-sharpening' if self.task == FUSION_PANSHARPEN else 'IR-VIS'} data",
        )
        self.train_data, self.validation, self.recipe = train, validation, recipe
        self.folder = Path(folder)
        self.show_progress = show_progress
        torch.manual_seed(recipe.seed)
        overrides = dict(recipe.model_overrides)
        if self.task == FUSION_PANSHARPEN:
            overrides.setdefault("primary_channels", train.bands)
            overrides.setdefault("data_range", float(train.data_range))
            overrides.setdefault("ratio", int(train.ratio))
        else:
            overrides.setdefault("primary_channels", train.visible_channels)
        if self.task == FUSION_IRVIS and recipe.patch < SSIM_WINDOW:
            raise BadInputError(
                f"patch: got {recipe.patch}, expected at least {SSIM_WINDOW} for IR-VIS training (the "
                f"ssim loss term's {SSIM_WINDOW} x {SSIM_WINDOW} window)"
            )
        self.model = build_model(recipe.variant, **overrides)
        self.weights = recipe.loss_weights or (
            PANSHARPEN_LOSS_WEIGHTS if self.task == FUSION_PANSHARPEN else IRVIS_LOSS_WEIGHTS
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe.lr)
        milestones = sorted({max(1, int(m * recipe.steps)) for m in recipe.milestones})
        self.schedule = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones, recipe.gamma
        )
        self.sampler = _sampler(train, recipe)
        self.history: list[dict] = []

    def loss(self, batch: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        primary, guide, target = batch
        fused = self.model(primary, guide)
        if self.task == FUSION_PANSHARPEN:
            scale = 1.0 / self.model.config.data_range
            terms = pansharpen_losses(target * scale, fused * scale)
        else:
            luma = LUMA.to(primary)
            to_y = (
                (lambda t: (t * luma).sum(dim=1, keepdim=True))
                if primary.shape[1] == 3
                else (lambda t: t)
            )
            terms = irvis_losses(to_y(primary), guide, to_y(fused), target)
        return weighted_total(terms, self.weights), {k: float(v.detach()) for k, v in terms.items()}

    def evaluate(self) -> FusionScores | None:
        if self.validation is None:
            return None
        self.model.eval()
        try:
            return score_fusion(TorchBackend(self.model), self.validation)
        finally:
            self.model.train()

    def fit(self) -> FusionTrainResult:
        recipe = self.recipe
        start = time.perf_counter()
        self.model.train()
        columns = (
            TextColumn("[bold]train {task.fields[variant]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        recent: list[float] = []
        scores = None
        with Progress(*columns, disable=not self.show_progress) as progress:
            bar = progress.add_task(
                "train", total=recipe.steps, variant=recipe.variant, loss=float("nan")
            )
            for step in range(1, recipe.steps + 1):
                total, terms = self.loss(self.sampler.batch(recipe.batch_size))
                self.optimizer.zero_grad(set_to_none=True)
                total.backward()
                self.optimizer.step()
                self.schedule.step()
                recent = (recent + [float(total.detach())])[-10:]
                progress.update(bar, advance=1, loss=float(np.mean(recent)))
                if step % recipe.eval_every == 0 or step == recipe.steps:
                    scores = self.evaluate()
                    self.history.append(
                        {
                            "step": step,
                            "loss": float(np.mean(recent)),
                            **terms,
                            "seconds": time.perf_counter() - start,
                            **({} if scores is None else scores.metrics),
                        }
                    )
        self.model.eval()
        self.save()
        return FusionTrainResult(
            self.folder, recipe.steps, self.history, time.perf_counter() - start, scores
        )

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            **self.recipe.to_dict(),
            "task": self.task,
            "train_data": self.train_data.name,
            "validation_data": getattr(self.validation, "name", None),
        }
        save_checkpoint(
            self.model, self.folder, variant=self.recipe.variant, training_recipe=record
        )
        write_text_atomic(self.folder / HISTORY, json.dumps(self.history, indent=2))
