"""SHIP's invertible block: a Glow-style invertible 1x1 convolution (LU-decomposed) and an affine
coupling whose subnetworks are dense blocks with half-instance normalisation. (B, C, H, W) -> (B, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comix.errors import BadInputError


class InvertibleConv1x1(nn.Module):
    """``W = P L (U + diag(sign_s * exp(log_s)))`` with ``L`` unit lower-, ``U`` strictly
    upper-triangular; ``P`` and ``sign_s`` are fixed buffers, initialised from the LU decomposition
    of a random orthogonal matrix."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        orthogonal, _ = torch.linalg.qr(torch.randn(channels, channels))
        permutation, lower, upper = torch.linalg.lu(orthogonal)
        diagonal = torch.diagonal(upper)
        self.register_buffer("permutation", permutation)
        self.register_buffer("sign_s", torch.sign(diagonal))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer("eye", torch.eye(channels))
        self.lower = nn.Parameter(lower)
        self.log_s = nn.Parameter(torch.log(torch.abs(diagonal)))
        self.upper = nn.Parameter(torch.triu(upper, 1))

    def weight(self) -> Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.permutation @ lower @ upper

    def forward(self, x: Tensor) -> Tensor:
        channels = self.eye.shape[0]
        return F.conv2d(x, self.weight().reshape(channels, channels, 1, 1))


class HalfInstanceConvBlock(nn.Module):
    """conv3x3 with instance norm on the first half of its channels (HIN), LeakyReLU 0.1, conv3x3, LeakyReLU,
    plus a 1x1 identity path."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.identity = nn.Conv2d(in_channels, out_channels, 1)
        self.conv_1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv_2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.half = out_channels // 2
        self.norm = nn.InstanceNorm2d(self.half, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_1(x)
        out = torch.cat([self.norm(out[:, : self.half]), out[:, self.half :]], dim=1)
        out = F.leaky_relu(out, 0.1)
        out = F.leaky_relu(self.conv_2(out), 0.1)
        return out + self.identity(x)


class DenseBlock(nn.Module):
    """Two HIN blocks (growth ``growth``) and a 3x3 conv over [x, x1, x2], LeakyReLU 0.2; Xavier
    init x 0.1."""

    def __init__(self, in_channels: int, out_channels: int, growth: int = 16) -> None:
        super().__init__()
        self.conv1 = HalfInstanceConvBlock(in_channels, growth)
        self.conv2 = HalfInstanceConvBlock(growth, growth)
        self.conv3 = nn.Conv2d(in_channels + 2 * growth, out_channels, 3, padding=1)
        for module in (self.conv1, self.conv2, self.conv3):
            for layer in module.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.xavier_normal_(layer.weight)
                    layer.weight.data.mul_(0.1)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        x1 = F.leaky_relu(self.conv1(x), 0.2)
        x2 = F.leaky_relu(self.conv2(x1), 0.2)
        return F.leaky_relu(self.conv3(torch.cat([x, x1, x2], dim=1)), 0.2)


class InvBlock(nn.Module):
    """Invertible 1x1 conv, then affine coupling on the split (first ``split`` channels | the rest):
    ``y1 = x1 + F(x2)``, ``s = clamp * (2 sigmoid(H(y1)) - 1)``, ``y2 = x2 * exp(s) + G(y1)``."""

    def __init__(self, channels: int, split: int, clamp: float = 0.8) -> None:
        super().__init__()
        if not 0 < split < channels:
            raise BadInputError(
                f"InvBlock split: got {split}, expected 0 < split < channels={channels}"
            )
        self.split = split
        self.clamp = clamp
        rest = channels - split
        self.invconv = InvertibleConv1x1(channels)
        self.F = DenseBlock(rest, split)
        self.G = DenseBlock(split, rest)
        self.H = DenseBlock(split, rest)

    def forward(self, x: Tensor) -> Tensor:
        x = self.invconv(x)
        x1, x2 = x[:, : self.split], x[:, self.split :]
        y1 = x1 + self.F(x2)
        scale = self.clamp * (torch.sigmoid(self.H(y1)) * 2 - 1)
        y2 = x2 * torch.exp(scale) + self.G(y1)
        return torch.cat([y1, y2], dim=1)
