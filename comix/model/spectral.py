"""Moving HSI features between 3-D (B, C, D, H, W) and the 2-D space of CMFeX/FFM (B, C, H, W)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SpectralPooling(nn.Module):
    """Collapse the spectral axis: (B, C, D, H, W) -> (B, C, H, W).

    ``"attention"``: weights softmax_D(conv1x1x1(f)) (one logit per position), output sum_D w * f.
    ``"mean"``: plain mean over D.
    """

    def __init__(self, channels: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.score = nn.Conv3d(channels, 1, 1) if mode == "attention" else None

    def forward(self, features: Tensor) -> Tensor:
        if self.score is None:
            return features.mean(dim=2)
        weights = torch.softmax(self.score(features), dim=2)  # (B, 1, D, H, W)
        return (features * weights).sum(dim=2)


class SpectralLift(nn.Module):
    """Broadcast a 2-D update back over D: (B, C2, H, W) -> (B, C3, 1, H, W), 1x1 conv if C2 != C3."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.project = channel_projection(in_channels, out_channels)

    def forward(self, update: Tensor) -> Tensor:
        return self.project(update).unsqueeze(2)


def channel_projection(in_channels: int, out_channels: int) -> nn.Module:
    """1x1 conv from the HSI width to the shared width (identity when equal)."""
    return nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
