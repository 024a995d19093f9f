"""``TrainRecipe``: everything that decides a training run, saved with the checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from comix.errors import BadInputError
from comix.model.config import STRIDE_MULTIPLE, reject_unknown_fields
from comix.runtime import defaults

MODALITIES = ("hsi+x", "hsi")
WARMUP_FRACTION = 0.1  # the default warm-up: 10 % of the steps


def default_warmup(steps: int) -> int:
    """Warm-up steps when none are given: ``WARMUP_FRACTION`` of ``steps``, rounded down."""
    return int(steps * WARMUP_FRACTION)


@dataclass
class TrainRecipe:
    """Training hyper-parameters (AdamW, linear warm-up + poly decay, cross-entropy ignoring label 0).

    ``modalities="hsi"`` trains an HSI-only ablation: the X input is replaced by zeros in training and
    evaluation, so the X branch carries no information.
    """

    variant: str = "comix_t"
    tile: int = 64
    batch_size: int = 8
    steps: int = 400
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int | None = None  # None: default_warmup(steps)
    poly_power: float = 0.9
    eval_every: int = 100
    eval_tile: int = defaults.TILE
    eval_overlap: int | None = None  # None: the runtime's default overlap for eval_tile
    seed: int = 0
    class_balanced: bool = True
    augment: bool = True
    modalities: str = "hsi+x"
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.warmup_steps is None and isinstance(self.steps, int):
            self.warmup_steps = default_warmup(self.steps)
        if self.eval_overlap is None and isinstance(self.eval_tile, int):
            self.eval_overlap = defaults.default_overlap(self.eval_tile)
        for name in ("tile", "batch_size", "steps", "eval_every", "eval_tile"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise BadInputError(f"{name}: got {value!r}, expected a positive integer")
        if not 0 <= self.warmup_steps < self.steps:
            raise BadInputError(
                f"warmup_steps: got {self.warmup_steps}, expected 0 <= warmup_steps < steps={self.steps}"
            )
        if not 0 <= self.eval_overlap < self.eval_tile:
            raise BadInputError(
                f"eval_overlap: got {self.eval_overlap}, expected 0 <= overlap < eval_tile={self.eval_tile}"
            )
        if self.lr <= 0 or self.weight_decay < 0:
            raise BadInputError(
                f"lr / weight_decay: got {self.lr} / {self.weight_decay}, expected lr > 0, wd >= 0"
            )
        deepest = -(
            -self.tile // STRIDE_MULTIPLE
        )  # the encoder's last stage: H/32 x W/32 of the padded tile
        if self.batch_size * deepest * deepest < 2:
            raise BadInputError(
                f"tile / batch_size: got {self.tile} / {self.batch_size}, expected tile > "
                f"{STRIDE_MULTIPLE} or batch_size >= 2: the encoder's deepest stage is 1 x 1 pixel per "
                f"tile up to {STRIDE_MULTIPLE} pixels, and batch normalisation in training needs more "
                "than one value per channel"
            )
        if self.modalities not in MODALITIES:
            raise BadInputError(
                f"modalities: got {self.modalities!r}, expected one of {list(MODALITIES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainRecipe:
        reject_unknown_fields(values, cls, ValueError, "training recipe")
        return cls(**values)
