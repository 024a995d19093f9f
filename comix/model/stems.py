"""Stems and between-stage downsamplers of the two branches.

HSI: raw cube (B, bands, H, W) -> learned band projection to D0 spectral planes -> viewed as a volume
(B, 1, D0, H, W) -> two Conv3d, stride (1, 2, 2) each -> (B, C1, D0, H/4, W/4).
X:   (B, x_channels, H, W) -> two stride-2 3x3 Conv2d -> (B, C1, H/4, W/4).
"""

from __future__ import annotations

from torch import Tensor, nn

from comix.model.blocks import conv_norm


class BandProjection(nn.Module):
    """Learned linear map of any band count to a fixed spectral depth D0, per pixel.

    (B, bands, H, W) -> (B, 1, D0, H, W): a 1x1 Conv2d over the band axis, then a unit channel axis so
    the spectral axis becomes the D axis of the 3-D convolutions.
    """

    def __init__(self, bands: int, spectral_depth: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(bands, spectral_depth, 1)

    def forward(self, hsi: Tensor) -> Tensor:
        return self.project(hsi).unsqueeze(1)


class HsiStem(nn.Module):
    """(B, bands, H, W) -> (B, C1, D0, H/4, W/4): band projection, then two Conv3d (stride 1, 2, 2)."""

    def __init__(self, bands: int, spectral_depth: int, out_channels: int) -> None:
        super().__init__()
        hidden = max(1, out_channels // 2)
        self.band_projection = BandProjection(bands, spectral_depth)
        self.conv1 = conv_norm(3, 1, hidden, 3, stride=(1, 2, 2), activation=True)
        self.conv2 = conv_norm(3, hidden, out_channels, 3, stride=(1, 2, 2), activation=False)

    def forward(self, hsi: Tensor) -> Tensor:
        return self.conv2(self.conv1(self.band_projection(hsi)))


class XStem(nn.Module):
    """(B, x_channels, H, W) -> (B, C1, H/4, W/4): two stride-2 3x3 Conv2d."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = conv_norm(
            2, in_channels, max(1, out_channels // 2), 3, stride=2, activation=True
        )
        self.conv2 = conv_norm(
            2, max(1, out_channels // 2), out_channels, 3, stride=2, activation=False
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.conv1(x))


def hsi_downsample(in_channels: int, out_channels: int, spectral: bool) -> nn.Sequential:
    """(B, C, D, H, W) -> (B, C', ceil(D/2) or D, ceil(H/2), ceil(W/2)): 3x3x3 Conv3d + BN."""
    return conv_norm(
        3, in_channels, out_channels, 3, stride=(2 if spectral else 1, 2, 2), activation=False
    )


def x_downsample(in_channels: int, out_channels: int) -> nn.Sequential:
    """(B, C, H, W) -> (B, C', ceil(H/2), ceil(W/2)): 3x3 stride-2 Conv2d + BN."""
    return conv_norm(2, in_channels, out_channels, 3, stride=2, activation=False)
