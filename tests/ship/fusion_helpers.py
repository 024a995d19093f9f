"""Small SHIP models for the fusion tests (sizes chosen for a 2-core CPU)."""

from __future__ import annotations

import torch

from comix.model import build_model

# one stage, two orders, width 8: every layer kind of SHIP, a few thousand parameters
TINY = {"width": 8, "stages": 1, "spatial_orders": 2, "channel_orders": 2}


def tiny_ship(variant: str = "ship_pansharpen", seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = build_model(variant, **{**TINY, **overrides}).eval()
    if model.config.residual_output:  # a zero head would make every parity check trivially exact
        with torch.no_grad():
            model.refine.conv_last.weight.normal_(0.0, 0.05)
    return model
