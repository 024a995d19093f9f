"""Small stand-in networks with real DCN layers, for export/runtime tests, docs and benchmarks.

They exercise the export machinery at op level without the full CoMiX model:

* :class:`AsymmetricDcnPair`: one 3-D DCN and one 2-D DCN with asymmetric kernel, stride, padding and
  dilation (a swapped axis changes the output shape or values), each followed by BatchNorm.
* :class:`TinyHsiXNet`: ``forward(hsi (B, bands, H, W), x (B, C, H, W)) -> logits (B, classes, H, W)``
  like CoMiX: normalisation inside, HSI cube as (B, 1, bands, H, W) through a 3-D DCN, X through a 2-D
  DCN, fusion and a 1x1 classifier; "same" padding so the output covers every input pixel.

Offset branches get random (not zero) weights so the DCNs really deform.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from comix.ops import DeformConv2d, DeformConv3d, DeformConvNd


def _deform(module: nn.Module, scale: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, (DeformConv2d, DeformConv3d)):
            with torch.no_grad():
                layer.offset_conv.weight.copy_(
                    torch.randn(layer.offset_conv.weight.shape, generator=generator) * scale
                )
                layer.offset_conv.bias.copy_(
                    torch.randn(layer.offset_conv.bias.shape, generator=generator) * scale
                )
        if isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm3d)):
            with torch.no_grad():
                layer.running_mean.copy_(
                    torch.randn(layer.running_mean.shape, generator=generator) * 0.1
                )
                layer.running_var.copy_(
                    torch.rand(layer.running_var.shape, generator=generator) + 0.5
                )
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) + 0.5)
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.1)


def deform_for_parity(model: nn.Module, seed: int, offset_scale: float = 0.05) -> None:
    """Make a freshly built model a meaningful parity subject, in place.

    Offset-conv weights N(0, offset_scale^2), so every DCN really deforms (a fresh one is a plain conv),
    then BatchNorm running mean N(0, 0.1^2) and variance U(0.5, 1.5), drawn in that order from one
    generator seeded with ``seed`` (the same model and seed give the same values).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, DeformConvNd):
                layer.offset_conv.weight.copy_(
                    torch.randn(layer.offset_conv.weight.shape, generator=generator) * offset_scale
                )
        for layer in model.modules():
            if isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm3d)):
                layer.running_mean.copy_(
                    torch.randn(layer.running_mean.shape, generator=generator) * 0.1
                )
                layer.running_var.copy_(
                    torch.rand(layer.running_var.shape, generator=generator) + 0.5
                )


class AsymmetricDcnPair(nn.Module):
    """(hsi5d (N, 2, D, H, W), x (N, 3, H2, W2)) -> (y3 (N, 4, oD, oH, oW), y2 (N, 5, oH2, oW2)).

    3-D: kernel (3, 2, 3) [D, H, W], stride (2, 1, 1), pads begins (1, 0, 1) ends (0, 1, 2),
    dilation (1, 2, 1), group 2, offset_group 2. 2-D: kernel (3, 2), stride (2, 1), pads (1, 0, 0, 1),
    dilation (1, 2). Each DCN is followed by BatchNorm (folded at export).
    """

    KERNEL_3D, STRIDE_3D, PADS_3D, DILATION_3D = (3, 2, 3), (2, 1, 1), (1, 0, 1, 0, 1, 2), (1, 2, 1)
    KERNEL_2D, STRIDE_2D, PADS_2D, DILATION_2D = (3, 2), (2, 1), (1, 0, 0, 1), (1, 2)

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.dcn3d = DeformConv3d(
            2,
            4,
            self.KERNEL_3D,
            stride=self.STRIDE_3D,
            padding=self.PADS_3D,
            dilation=self.DILATION_3D,
            groups=2,
            offset_groups=2,
        )
        self.bn3d = nn.BatchNorm3d(4)
        self.dcn2d = DeformConv2d(
            3,
            5,
            self.KERNEL_2D,
            stride=self.STRIDE_2D,
            padding=self.PADS_2D,
            dilation=self.DILATION_2D,
        )
        self.bn2d = nn.BatchNorm2d(5)
        _deform(self, 0.3, seed)

    def forward(self, hsi5d: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.bn3d(self.dcn3d(hsi5d)), self.bn2d(self.dcn2d(x))


class TinyHsiXNet(nn.Module):
    """(hsi (B, bands, H, W), x (B, x_channels, H, W)) -> logits (B, classes, H, W); any H, W >= 1."""

    def __init__(
        self, bands: int = 6, x_channels: int = 1, classes: int = 4, width: int = 4, seed: int = 0
    ) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.bands, self.x_channels, self.classes = bands, x_channels, classes
        self.register_buffer("hsi_mean", torch.linspace(0.1, 0.3, bands).reshape(1, -1, 1, 1))
        self.register_buffer("hsi_std", torch.linspace(0.5, 1.5, bands).reshape(1, -1, 1, 1))
        self.register_buffer("x_mean", torch.full((1, x_channels, 1, 1), 10.0))
        self.register_buffer("x_std", torch.full((1, x_channels, 1, 1), 5.0))
        self.dcn3d = DeformConv3d(1, width, (3, 3, 3), padding=(1, 1, 1))
        self.bn3d = nn.BatchNorm3d(width)
        self.x_stem = nn.Conv2d(x_channels, width, 3, padding=1)
        self.dcn2d = DeformConv2d(width, width, (3, 3), padding=(1, 1))
        self.bn2d = nn.BatchNorm2d(width)
        self.head = nn.Conv2d(2 * width, classes, 1)
        _deform(self, 0.2, seed)

    def forward(self, hsi: Tensor, x: Tensor) -> Tensor:
        hsi = (hsi - self.hsi_mean) / self.hsi_std
        x = (x - self.x_mean) / self.x_std
        h = torch.relu(self.bn3d(self.dcn3d(hsi.unsqueeze(1)))).mean(dim=2)  # (B, width, H, W)
        x = torch.relu(self.bn2d(self.dcn2d(self.x_stem(x))))
        return self.head(torch.cat([h, x], dim=1))
