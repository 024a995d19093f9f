"""DCN blocks in the InternImage layout, for 2-D (X branch) and 3-D (HSI branch) features.

    x = x + DropPath(DCN(BN(x)))
    x = x + DropPath(MLP(BN(x)))        MLP = 1x1 expand x mlp_ratio, GELU, 1x1

BatchNorm (not LayerNorm) so the norms fold into neighbouring convolutions at export.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from comix.ops import DeformConv2d, DeformConv3d

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_DCN = {2: DeformConv2d, 3: DeformConv3d}


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's residual branch with probability ``p`` while training.

    Input and output (B, ...); survivors are scaled by 1/(1-p). Identity in eval mode or when p == 0.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep) / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ConvMlp(nn.Module):
    """Pointwise MLP on (B, C, *S): 1x1 conv C -> C*ratio, GELU, 1x1 conv back to C."""

    def __init__(self, ndim: int, channels: int, ratio: float) -> None:
        super().__init__()
        hidden = max(1, int(round(channels * ratio)))
        self.fc1 = _CONV[ndim](channels, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = _CONV[ndim](hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class DcnBlock(nn.Module):
    """Pre-norm residual DCN + MLP block; (B, C, *S) -> (B, C, *S), S = (H, W) or (D, H, W)."""

    def __init__(
        self,
        ndim: int,
        channels: int,
        *,
        kernel: int,
        groups: int,
        offset_groups: int,
        mask_activation: str,
        mlp_ratio: float,
        drop_path: float,
    ) -> None:
        super().__init__()
        self.norm1 = _NORM[ndim](channels)
        self.dcn = _DCN[ndim](
            channels,
            channels,
            kernel,
            padding=kernel // 2,
            groups=groups,
            offset_groups=offset_groups,
            mask_activation=mask_activation,
        )
        self.norm2 = _NORM[ndim](channels)
        self.mlp = ConvMlp(ndim, channels, mlp_ratio)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.dcn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def conv_norm(
    ndim: int,
    in_channels: int,
    out_channels: int,
    kernel: int,
    stride: int | tuple[int, ...],
    activation: bool,
) -> nn.Sequential:
    """Conv (same padding, no bias) + BatchNorm (+ GELU): the unit of stems and downsamplers."""
    layers: list[nn.Module] = [
        _CONV[ndim](
            in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False
        ),
        _NORM[ndim](out_channels),
    ]
    if activation:
        layers.append(nn.GELU())
    return nn.Sequential(*layers)
