"""Learning-rate schedule: linear warm-up, then polynomial decay to zero (SegFormer / CMX recipe)."""

from __future__ import annotations

from comix.errors import BadInputError


def warmup_poly_factor(step: int, total_steps: int, warmup_steps: int, power: float = 0.9) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based)."""
    if total_steps < 1:
        raise BadInputError(f"total_steps: got {total_steps}, expected >= 1")
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return (1.0 - progress) ** power
