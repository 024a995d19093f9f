"""CMFeX: cross-modal feature recalibration and exchange (our reading, after CMX's CM-FRM, extended).

From the concatenated pair [h; x] (both (B, C, H, W)):

* channel weights wc_h, wc_x (B, C, 1, 1): an MLP on the global mean and max of [h; x], sigmoid;
* spatial weights ws_h, ws_x (B, 1, H, W): 1x1 convs on [h; x], sigmoid;
* a modality-shared feature s (B, C, H, W): 1x1 conv + BN on the recalibrated pair (option);
* exchange with learnable gates a, b (initialised 0.5, one pair per direction):

    h' = h + a_h * wc_x * x + b_h * ws_x * x + s
    x' = x + a_x * wc_h * h + b_x * ws_h * h + s
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelWeights(nn.Module):
    """[h; x] (B, 2C, H, W) -> (wc_h, wc_x), each (B, C, 1, 1), from global mean and max statistics."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, 4 * channels // reduction)
        self.mlp = nn.Sequential(
            nn.Linear(4 * channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * channels),
            nn.Sigmoid(),
        )

    def forward(self, pair: Tensor) -> tuple[Tensor, Tensor]:
        stats = torch.cat([pair.mean(dim=(2, 3)), pair.amax(dim=(2, 3))], dim=1)  # (B, 4C)
        weights = self.mlp(stats)[:, :, None, None]  # (B, 2C, 1, 1)
        return weights.chunk(2, dim=1)


class SpatialWeights(nn.Module):
    """[h; x] (B, 2C, H, W) -> (ws_h, ws_x), each (B, 1, H, W)."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, 2 * channels // reduction)
        self.net = nn.Sequential(
            nn.Conv2d(2 * channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 2, 1),
            nn.Sigmoid(),
        )

    def forward(self, pair: Tensor) -> tuple[Tensor, Tensor]:
        return self.net(pair).chunk(2, dim=1)


class Cmfex(nn.Module):
    """Cross-modal recalibration and exchange: (h, x) both (B, C, H, W) -> (h', x') same shapes."""

    def __init__(
        self,
        channels: int,
        reduction: int = 1,
        shared_feature: bool = True,
        learnable_gates: bool = True,
        gate_init: float = 0.5,
    ) -> None:
        super().__init__()
        self.channel_weights = ChannelWeights(channels, reduction)
        self.spatial_weights = SpatialWeights(channels, reduction)
        gates = torch.full(
            (2, 2), float(gate_init)
        )  # rows: (channel, spatial); cols: (into h, into x)
        if learnable_gates:
            self.gates = nn.Parameter(gates)
        else:
            self.register_buffer("gates", gates)
        self.shared = (
            nn.Sequential(
                nn.Conv2d(2 * channels, channels, 1, bias=False), nn.BatchNorm2d(channels)
            )
            if shared_feature
            else None
        )

    def residuals(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """The updates (h' - h, x' - x), each (B, C, H, W); the network broadcasts h's over D."""
        pair = torch.cat([h, x], dim=1)
        wc_h, wc_x = self.channel_weights(pair)
        ws_h, ws_x = self.spatial_weights(pair)
        into_h = self.gates[0, 0] * wc_x * x + self.gates[1, 0] * ws_x * x
        into_x = self.gates[0, 1] * wc_h * h + self.gates[1, 1] * ws_h * h
        if self.shared is not None:
            shared = self.shared(torch.cat([wc_h * ws_h * h, wc_x * ws_x * x], dim=1))
            into_h = into_h + shared
            into_x = into_x + shared
        return into_h, into_x

    def forward(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        delta_h, delta_x = self.residuals(h, x)
        return h + delta_h, x + delta_x
