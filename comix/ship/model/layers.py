"""SHIP's small layers: cross central-difference convolutions, edge blocks, the feature extractor, refresh
units, the per-pixel channel LayerNorm, channel attention and the refinement head.
All (B, C, H, W) -> (B, C', H, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comix.errors import BadInputError

# positions of the five free weights in the 3x3 kernel of each cross CDC (row-major indices 0..8)
CROSS_TAPS = {"cross": (1, 3, 4, 5, 7), "diagonal": (0, 2, 4, 6, 8)}


class CrossCdc(nn.Module):
    """Central-difference convolution on a 3x3 cross: five free taps (a ``+`` or an ``x``), minus
    ``theta`` times their sum at the centre (``conv(x, W) - theta * conv1x1(x, sum W)``, one 3x3
    convolution). No bias."""

    def __init__(self, in_channels: int, out_channels: int, shape: str, theta: float) -> None:
        super().__init__()
        if shape not in CROSS_TAPS:
            raise BadInputError(f"cross shape: got {shape!r}, expected one of {list(CROSS_TAPS)}")
        self.taps = CROSS_TAPS[shape]
        self.theta = theta
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 5))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as nn.Conv2d with a (1, 5) kernel

    def kernel(self) -> Tensor:
        """(O, I, 3, 3): the five taps in place, the central difference folded into the centre."""
        out_channels, in_channels, _ = self.weight.shape
        kernel = self.weight.new_zeros(out_channels, in_channels, 9)
        kernel = kernel.index_copy(
            2, torch.tensor(self.taps, device=self.weight.device), self.weight
        )
        centre = torch.zeros(9, dtype=self.weight.dtype, device=self.weight.device)
        centre[4] = 1.0
        kernel = kernel - self.theta * self.weight.sum(dim=2, keepdim=True) * centre
        return kernel.reshape(out_channels, in_channels, 3, 3)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel(), padding=1)


class CrossCdcPair(nn.Module):
    """``sigmoid(b) * cross(x) + (1 - sigmoid(b)) * diagonal(x) + x`` with a learned blend ``b``
    (0 at init)."""

    def __init__(self, channels: int, theta: float) -> None:
        super().__init__()
        self.cross = CrossCdc(channels, channels, "cross", theta)
        self.diagonal = CrossCdc(channels, channels, "diagonal", theta)
        self.blend = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        share = torch.sigmoid(self.blend)
        return share * self.cross(x) + (1 - share) * self.diagonal(x) + x


def refresh_unit(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv3x3 - ReLU - conv3x3: SHIP's "refresh" of a feature between two orders."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
    )


class EdgeBlock(nn.Module):
    """conv3x3, then a residual unit plus the cross CDC pair: ``R(y) + CDC(y)``, ``y = conv(x)``."""

    def __init__(self, in_channels: int, out_channels: int, theta: float) -> None:
        super().__init__()
        self.process = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.residual = refresh_unit(out_channels, out_channels)
        self.cdc = CrossCdcPair(out_channels, theta)

    def forward(self, x: Tensor) -> Tensor:
        x = self.process(x)
        return self.residual(x) + self.cdc(x)


class FeatureExtractor(nn.Module):
    """One modality's features: 1x1 conv (C_in -> width), two edge blocks.
    (B, C_in, H, W) -> (B, width, H, W)."""

    def __init__(self, in_channels: int, width: int, theta: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 1)
        self.blocks = nn.Sequential(EdgeBlock(width, width, theta), EdgeBlock(width, width, theta))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.conv(x))


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel (Restormer's "WithBias" form, eps 1e-5), on (B, C, H, W)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=1, keepdim=True)
        variance = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) / torch.sqrt(variance + self.eps) * self.weight[
            :, None, None
        ] + self.bias[:, None, None]


class GlobalChannelBias(nn.Module):
    """SHIP's refinement "CA layer": ``y = GAP(R(x))``, ``x + sigmoid-MLP(y) * y`` — a learned per-channel
    global offset of the tile (as the public code computes it; the pooled response is added, not
    multiplied)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.process = refresh_unit(channels, channels)
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.process(x).mean(dim=(2, 3), keepdim=True)
        return self.gate(pooled) * pooled + x


class Refine(nn.Module):
    """Reconstruction head: conv3x3, two channel-attention layers, conv3x3 to the output channels."""

    def __init__(self, width: int, out_channels: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(width, width, 3, padding=1)
        self.process = nn.Sequential(GlobalChannelBias(width), GlobalChannelBias(width))
        self.conv_last = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_last(self.process(self.conv_in(x)))
