"""``nn.Module`` wrappers: a deformable convolution that predicts its own offsets and mask.

The offset/mask branch is a plain convolution with the DCN's kernel, stride, padding and dilation,
zero-initialised, so a fresh module is a plain convolution (times the initial mask, 0.5 for sigmoid).

Every module calls the one op of its dimensionality (:mod:`comix.ops.library`): the same call trains,
runs eagerly on any device (with the CUDA extension's kernel where it is loaded) and exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from comix.errors import BadInputError
from comix.ops.geometry import DeformConvGeometry
from comix.ops.library import deform_conv

MASK_ACTIVATIONS = ("sigmoid", "none")


class DeformConvNd(nn.Module):
    """Modulated deformable convolution with a learned offset/mask branch (2-D or 3-D).

    Input (N, C_in, *S) -> output (N, C_out, *oS). Offsets (N, OG*K*nd, *oS) and mask
    (N, OG*K, *oS) are predicted from the input.
    """

    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        offset_groups: int = 1,
        bias: bool = True,
        mask_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise BadInputError(
                f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
            )
        if in_channels % offset_groups:
            raise BadInputError(
                f"offset_groups={offset_groups} must divide in_channels={in_channels}"
            )
        if mask_activation not in MASK_ACTIVATIONS:
            raise BadInputError(
                f"mask_activation: got {mask_activation!r}, expected one of {MASK_ACTIVATIONS}"
            )
        self.geometry = DeformConvGeometry.build(
            ndim, kernel_size, stride, padding, dilation, groups, offset_groups
        )
        self.mask_activation = mask_activation
        k = self.geometry.kernel_points
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.geometry.kernel)
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        predicted = offset_groups * k * (ndim + (1 if mask_activation != "none" else 0))
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        # The offset branch sees the same window as the DCN, so it pads like the DCN (begins; ends below).
        self.offset_conv = conv(
            in_channels,
            predicted,
            self.geometry.kernel,
            self.geometry.stride,
            padding=0,
            dilation=self.geometry.dilation,
        )
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)

    @property
    def offset_channels(self) -> int:
        return self.geometry.offset_group * self.geometry.kernel_points * self.geometry.ndim

    def _pad_for_offset_conv(self, x: Tensor) -> Tensor:
        if not any(self.geometry.pad_begin) and not any(self.geometry.pad_end):
            return x
        pads: list[int] = []
        for begin, end in zip(reversed(self.geometry.pad_begin), reversed(self.geometry.pad_end)):
            pads += [begin, end]  # F.pad wants the last axis first
        return nn.functional.pad(x, pads)

    def forward(self, x: Tensor) -> Tensor:
        predicted = self.offset_conv(self._pad_for_offset_conv(x))
        offset = predicted[:, : self.offset_channels]
        mask = None
        if self.mask_activation == "sigmoid":
            mask = torch.sigmoid(predicted[:, self.offset_channels :])
        return deform_conv(x, offset, self.weight, self.bias, mask, self.geometry)

    def extra_repr(self) -> str:
        g = self.geometry
        return (
            f"{self.weight.shape[1] * g.group}, {self.weight.shape[0]}, kernel={g.kernel}, "
            f"stride={g.stride}, pads={g.onnx_pads}, dilation={g.dilation}, group={g.group}, "
            f"offset_group={g.offset_group}, mask={self.mask_activation}"
        )


class DeformConv2d(DeformConvNd):
    """2-D modulated deformable convolution: (N, C_in, H, W) -> (N, C_out, oH, oW)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int], **kwargs
    ) -> None:
        super().__init__(2, in_channels, out_channels, kernel_size, **kwargs)


class DeformConv3d(DeformConvNd):
    """3-D modulated deformable convolution: (N, C_in, D, H, W) -> (N, C_out, oD, oH, oW); D = spectral."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int], **kwargs
    ) -> None:
        super().__init__(3, in_channels, out_channels, kernel_size, **kwargs)
