"""SHIP / SHIP++ variants in the one model registry (:mod:`comix.model.registry`), and the config class SHIP
checkpoints are read with. Imported by :mod:`comix.ship.model`, which the registry loads on first use."""

from __future__ import annotations

from typing import Any

from comix.model.registry import register_config, register_variant
from comix.ship.model.config import ShipConfig
from comix.ship.model.network import ShipNet
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, FUSION_TASKS

register_config(ShipConfig, FUSION_TASKS, ShipNet)


def _ship(defaults: dict[str, Any], overrides: dict[str, Any]) -> ShipConfig:
    config = ShipConfig().replace(**{**defaults, **overrides})
    config.validate()
    return config


_SHIP_PLUS_PLUS = {
    "cross_order_attention": True,
    "cross_order_integration": True,
    "residual_memory": True,
}


@register_variant
def ship_irvis(**overrides: Any) -> ShipConfig:
    """SHIP as released (CVPR 2024 code): visible RGB + infrared -> fused RGB (fusion on the luminance)."""
    return _ship({"task": FUSION_IRVIS, "primary_channels": 3, "guide_channels": 1}, overrides)


@register_variant
def ship_pansharpen(**overrides: Any) -> ShipConfig:
    """SHIP for pan-sharpening (our adaptation): MS upsampled x4 (4 bands) + PAN -> MS + predicted detail."""
    return _ship(
        {
            "task": FUSION_PANSHARPEN,
            "primary_channels": 4,
            "guide_channels": 1,
            "residual_output": True,
        },
        overrides,
    )


@register_variant
def ship_pp_irvis(**overrides: Any) -> ShipConfig:
    """SHIP++ for IR-VIS: SHIP plus cross-order attention, cross-order integration and residual memory."""
    return _ship(
        dict(task=FUSION_IRVIS, primary_channels=3, guide_channels=1, **_SHIP_PLUS_PLUS), overrides
    )


@register_variant
def ship_pp_pansharpen(**overrides: Any) -> ShipConfig:
    """SHIP++ for pan-sharpening: the three SHIP++ mechanisms on the pan-sharpening adaptation."""
    return _ship(
        dict(
            task=FUSION_PANSHARPEN,
            primary_channels=4,
            guide_channels=1,
            residual_output=True,
            **_SHIP_PLUS_PLUS,
        ),
        overrides,
    )
