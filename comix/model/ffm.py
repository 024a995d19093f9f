"""FFM: feature fusion of the two rectified branches (our reading, after CMX's FFM).

1. Cross-attention with an efficient global context: per branch and head, ctx = softmax(K^T V) (d x d,
   softmax over the key-channel axis), and each branch is queried by the *other* branch's context:
   h_a = LN(h + P_h(Q_h ctx_x)), x_a = LN(x + P_x(Q_x ctx_h)). Cost linear in H*W.
2. Channel embedding: t = 1x1([h_a; x_a]) to C, out = BN(t + 1x1(GELU(dw3x3(1x1(t))))).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class EfficientCrossAttention(nn.Module):
    """(h, x) tokens (B, N, C) each -> (h_a, x_a) (B, N, C), each branch queried by the other's context."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.qkv_h = nn.Linear(channels, 3 * channels, bias=False)
        self.qkv_x = nn.Linear(channels, 3 * channels, bias=False)
        self.proj_h = nn.Linear(channels, channels)
        self.proj_x = nn.Linear(channels, channels)
        self.norm_h = nn.LayerNorm(channels)
        self.norm_x = nn.LayerNorm(channels)

    def _split(self, tokens: Tensor, qkv: nn.Linear) -> tuple[Tensor, Tensor]:
        """tokens (B, N, C) -> query (B, heads, N, d) and context (B, heads, d, d)."""
        batch, count, channels = tokens.shape
        q, k, v = (
            qkv(tokens)
            .reshape(batch, count, 3, self.heads, channels // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        context = torch.softmax((k.transpose(-2, -1) @ v) * self.scale, dim=-2)
        return q, context

    @staticmethod
    def _merge(heads: Tensor) -> Tensor:
        """(B, heads, N, d) -> (B, N, heads*d)."""
        batch, count = heads.shape[0], heads.shape[2]
        return heads.transpose(1, 2).reshape(batch, count, -1)

    def forward(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        q_h, ctx_h = self._split(h, self.qkv_h)
        q_x, ctx_x = self._split(x, self.qkv_x)
        h_a = self.norm_h(h + self.proj_h(self._merge(q_h @ ctx_x)))
        x_a = self.norm_x(x + self.proj_x(self._merge(q_x @ ctx_h)))
        return h_a, x_a


class ChannelEmbedding(nn.Module):
    """[h; x] (B, 2C, H, W) -> (B, C, H, W): 1x1 projection plus a depthwise-3x3 residual, BN."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.local = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 1),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, groups=out_channels),
            nn.GELU(),
            nn.Conv2d(out_channels, out_channels, 1),
        )
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, pair: Tensor) -> Tensor:
        reduced = self.reduce(pair)
        return self.norm(reduced + self.local(reduced))


class Ffm(nn.Module):
    """Fuse the rectified pair: (h, x) both (B, C, H, W) -> fused (B, C, H, W)."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.attention = EfficientCrossAttention(channels, heads)
        self.embedding = ChannelEmbedding(2 * channels, channels)

    def forward(self, h: Tensor, x: Tensor) -> Tensor:
        batch, channels, height, width = h.shape
        h_tokens, x_tokens = (t.flatten(2).transpose(1, 2) for t in (h, x))  # (B, N, C)
        h_a, x_a = self.attention(h_tokens, x_tokens)
        pair = (
            torch.cat([h_a, x_a], dim=2).transpose(1, 2).reshape(batch, 2 * channels, height, width)
        )
        return self.embedding(pair)
