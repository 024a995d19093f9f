"""SegFormer-style ALL-MLP decoder over the four fused stage features."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class AllMlpDecoder(nn.Module):
    """Fused features [(B, C_i, H/2^(i+2), W/2^(i+2)) for i = 0..3] -> logits (B, classes, H/4, W/4).

    Per stage 1x1 to E, bilinear upsample to stage-1 size, concat (4E), 1x1 fuse + BN + ReLU, dropout,
    1x1 to classes. The network upsamples the result to the input size.
    """

    def __init__(
        self, in_channels: Sequence[int], embed_dim: int, classes: int, dropout: float
    ) -> None:
        super().__init__()
        self.embed = nn.ModuleList(nn.Conv2d(c, embed_dim, 1) for c in in_channels)
        self.fuse = nn.Sequential(
            nn.Conv2d(len(in_channels) * embed_dim, embed_dim, 1, bias=False),
            nn.BatchNorm2d(embed_dim),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout2d(dropout)
        self.classify = nn.Conv2d(embed_dim, classes, 1)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        size = features[0].shape[-2:]
        embedded = []
        for feature, embed in zip(features, self.embed):
            e = embed(feature)
            if e.shape[-2:] != size:
                e = F.interpolate(e, size=size, mode="bilinear", align_corners=False)
            embedded.append(e)
        return self.classify(self.dropout(self.fuse(torch.cat(embedded, dim=1))))
