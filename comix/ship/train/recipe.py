"""``FusionRecipe``: everything that decides a SHIP training run, saved with the checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from comix.errors import BadInputError
from comix.model.config import reject_unknown_fields

# IR-VIS: the public SHIP code trains with mask_l1 3, max_l1 10, gradient 10
# (IRVIS_PUBLIC_LOSS_WEIGHTS). Our default adds an SSIM term against both sources
# (as U2Fusion / SDNet / SwinFusion do) and lowers the pull towards max(Y, IR) and the gradient
# term: on held-out synthetic data after a few CPU minutes that keeps the contrast / edge wins and
# lifts SSIM and VIF (docs/ship.md, "IR-VIS losses", has the runs).
IRVIS_PUBLIC_LOSS_WEIGHTS = {"mask_l1": 3.0, "max_l1": 10.0, "gradient": 10.0, "ssim": 0.0}
IRVIS_LOSS_WEIGHTS = {"mask_l1": 3.0, "max_l1": 2.0, "gradient": 5.0, "ssim": 10.0}
PANSHARPEN_LOSS_WEIGHTS = {"l1": 1.0, "sam": 0.1}  # ours: L1 plus a spectral-angle term (radians)


@dataclass
class FusionRecipe:
    """Training hyper-parameters: Adam, step decay at ``milestones`` (fractions of the steps), random crops.

    The public SHIP code trains 100k iterations at lr 1e-4 (batch 4, 128 crops, MultiStepLR x0.75 at 15k and
    25k); a CPU run of a few hundred steps needs a larger rate, hence the default 1e-3.
    """

    variant: str = "ship_pansharpen"
    steps: int = 300
    batch_size: int = 4
    patch: int = 32  # crop size on the PAN / image grid
    lr: float = 1e-3
    milestones: tuple[float, ...] = (0.6, 0.85)
    gamma: float = 0.5
    seed: int = 0
    augment: bool = True  # flips and 90-degree rotations
    eval_every: int = 100
    loss_weights: dict[str, float] = field(default_factory=dict)  # empty: the task's defaults
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "patch", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise BadInputError(f"{name}: got {value!r}, expected a positive integer")
        if self.lr <= 0 or not 0 < self.gamma <= 1:
            raise BadInputError(
                f"lr / gamma: got {self.lr} / {self.gamma}, expected lr > 0 and 0 < gamma <= 1"
            )
        self.milestones = tuple(float(m) for m in self.milestones)
        if any(not 0 < m < 1 for m in self.milestones):
            raise BadInputError(
                f"milestones: got {list(self.milestones)}, expected fractions of the run in (0, 1)"
            )

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["milestones"] = list(self.milestones)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FusionRecipe:
        reject_unknown_fields(values, cls, ValueError, "fusion recipe")
        return cls(**values)
