"""SHIP's high-order interaction: a spatial interaction (through the Fourier product) then a channel
interaction, per stage. Shapes: primary features ``v`` and guide features ``i`` (B, C, H, W) ->
(B, C, H, W) each.

Spatial (SHIP):  ``A = LN(irfft2(rfft2(v) * rfft2(i)))``, ``f1 = A * i``; the guide evolves
``i_{k+1} = R(i_k)`` and ``f_{k+1} = LN(R(f_k)) * i_{k+1}``; output ``(f_K + v, i_{K-1})``.
Channel (SHIP):  on ``c = [v; i]``: ``a0 = softmax_C(MLP(GAP(c)))``, ``g1 = c * a0``;
``a_{k+1} = softmax_C(MLP_k(a_k))``, ``g_{k+1} = R_k(g_k) * a_{k+1}``; output ``1x1(InvBlock(g_K)) + v``.
SHIP++ switches (our reading, docs/ship.md): ``cross_order_attention`` makes ``a_{k+1}`` a function of all of
``a_0 .. a_k``; ``cross_order_integration`` fuses all orders' outputs (1x1 over their concatenation)
instead of taking the last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comix.ops.spectral import SpectralProduct
from comix.ship.model.config import ShipConfig
from comix.ship.model.invertible import InvBlock
from comix.ship.model.layers import ChannelLayerNorm, refresh_unit


class SpatialInteraction(nn.Module):
    """Spatial high-order interaction (module doc); ``fourier_padding`` reflect-pads both operands
    of the product."""

    def __init__(self, width: int, config: ShipConfig) -> None:
        super().__init__()
        orders = config.spatial_orders
        self.padding = config.fourier_padding
        self.product = SpectralProduct(config.fourier_lowering, config.fourier_tile)
        self.norms = nn.ModuleList(ChannelLayerNorm(width) for _ in range(orders))
        self.refresh_fused = nn.ModuleList(refresh_unit(width, width) for _ in range(orders - 1))
        self.refresh_guide = nn.ModuleList(refresh_unit(width, width) for _ in range(orders - 1))
        self.integrate = (
            nn.Conv2d(orders * width, width, 1) if config.cross_order_integration else None
        )

    def attention(self, v: Tensor, i: Tensor) -> Tensor:
        """The first-order map ``irfft2(rfft2(v) * rfft2(i))`` (before its LayerNorm), (B, C, H, W)."""
        if not self.padding:
            return self.product(v, i)
        pad = (self.padding,) * 4
        height, width = v.shape[-2:]
        full = self.product(F.pad(v, pad, mode="reflect"), F.pad(i, pad, mode="reflect"))
        return full[..., self.padding : self.padding + height, self.padding : self.padding + width]

    def forward(self, v: Tensor, i: Tensor) -> tuple[Tensor, Tensor]:
        fused = self.norms[0](self.attention(v.float(), i.float()).to(v.dtype)) * i
        orders = [fused]
        guide = i
        for refresh_fused, refresh_guide, norm in zip(
            self.refresh_fused, self.refresh_guide, self.norms[1:]
        ):
            guide = refresh_guide(guide)
            fused = norm(refresh_fused(fused)) * guide
            orders.append(fused)
        out = self.integrate(torch.cat(orders, dim=1)) if self.integrate is not None else fused
        return out + v, guide


class ChannelInteraction(nn.Module):
    """Channel high-order interaction (module doc) on the 2C channels of ``[v; i]``."""

    def __init__(self, width: int, config: ShipConfig) -> None:
        super().__init__()
        orders = config.channel_orders
        both = 2 * width
        self.cross_order = config.cross_order_attention

        def mlp(inputs: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(inputs, width, 1), nn.ReLU(), nn.Conv2d(width, both, 1))

        self.attention = mlp(both)
        # order k+1's attention reads a_k (SHIP) or [a_0 .. a_k] (cross-order attention evolving)
        self.evolve = nn.ModuleList(
            mlp(both * (k + 1 if self.cross_order else 1)) for k in range(orders - 1)
        )
        self.refresh = nn.ModuleList(refresh_unit(both, both) for _ in range(orders - 1))
        self.integrate = (
            nn.Conv2d(orders * both, both, 1) if config.cross_order_integration else None
        )
        self.post = nn.Sequential(
            InvBlock(both, width, config.inv_clamp), nn.Conv2d(both, width, 1)
        )

    def forward(self, v: Tensor, i: Tensor) -> tuple[Tensor, Tensor]:
        both = torch.cat([v, i], dim=1)
        attention = self.attention(both.mean(dim=(2, 3), keepdim=True)).softmax(
            dim=1
        )  # (B, 2C, 1, 1)
        history = [attention]
        fused = both * attention
        orders = [fused]
        for evolve, refresh in zip(self.evolve, self.refresh):
            source = torch.cat(history, dim=1) if self.cross_order else attention
            attention = evolve(source).softmax(dim=1)
            history.append(attention)
            fused = refresh(fused) * attention
            orders.append(fused)
        if self.integrate is not None:
            fused = self.integrate(torch.cat(orders, dim=1))
        return self.post(fused) + v, i


class InteractionStage(nn.Module):
    """One stage: spatial, then channel interaction. (v, i) -> (v', i')."""

    def __init__(self, width: int, config: ShipConfig) -> None:
        super().__init__()
        self.spatial = SpatialInteraction(width, config)
        self.channel = ChannelInteraction(width, config)

    def forward(self, v: Tensor, i: Tensor) -> tuple[Tensor, Tensor]:
        v, i = self.spatial(v, i)
        return self.channel(v, i)
