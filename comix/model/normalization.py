"""Input normalisation inside the model, so a runtime (and the exported graph) feeds raw values."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from comix.errors import BadInputError


class InputNormalization(nn.Module):
    """Per-channel (x - mean) / std with ``mean`` and ``std`` as buffers (saved in the checkpoint).

    Input and output (B, C, H, W). Defaults: mean 0, std 1 (identity) until :meth:`set_statistics`.
    """

    def __init__(self, channels: int, name: str) -> None:
        super().__init__()
        self.name = name
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def set_statistics(self, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> None:
        """Set per-channel statistics; errors name the tensor, the shape got and the one expected."""
        channels = self.mean.numel()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        for label, value in (("mean", mean_t), ("std", std_t)):
            if value.numel() != channels:
                raise BadInputError(
                    f"{self.name} {label}: got {value.numel()} values, expected {channels}"
                )
            if not torch.isfinite(value).all():
                raise BadInputError(
                    f"{self.name} {label}: got non-finite values, expected finite numbers"
                )
        if (std_t <= 0).any():
            bad = int(torch.nonzero(std_t <= 0)[0])
            raise BadInputError(f"{self.name} std[{bad}]: got {float(std_t[bad])}, expected > 0")
        self.mean.copy_(mean_t)
        self.std.copy_(std_t)

    def forward(self, values: Tensor) -> Tensor:
        return (values - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.name}, channels={self.mean.numel()}"
