"""timm-style registry of model variants: each variant is a short function returning a config.

CoMiX (segmentation, :class:`ComixConfig`) and SHIP / SHIP++ (image fusion, :class:`ShipConfig`) live side by
side; a variant's task is its config's ``task``.

    build_model("comix_t", bands=63, x_channels=2, classes=6)
    create_config("comix_s", dcn_offset_groups=2)
    build_model("ship_pansharpen", primary_channels=8)
    variant_task("ship_irvis")   # "fusion-irvis"
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from comix.model.config import ComixConfig
from comix.model.ship.config import ShipConfig
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, SEGMENTATION

ModelConfig = ComixConfig | ShipConfig
VariantFunction = Callable[..., ModelConfig]
_VARIANTS: dict[str, VariantFunction] = {}


class UnknownVariantError(KeyError):
    """A variant name that is not registered; the message lists the valid names and the closest one."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def register_variant(function: VariantFunction) -> VariantFunction:
    """Decorator: register ``function(**overrides) -> ComixConfig | ShipConfig`` under its own name."""
    if function.__name__ in _VARIANTS:
        raise ValueError(f"variant {function.__name__!r} is already registered")
    _VARIANTS[function.__name__] = function
    return function


def list_variants(task: str | None = None) -> list[str]:
    """Registered variant names (of one ``task`` when given)."""
    return sorted(name for name in _VARIANTS if task is None or variant_task(name) == task)


def config_task(config: ModelConfig) -> str:
    """The task of a config: CoMiX configs segment, SHIP configs carry theirs."""
    return config.task if isinstance(config, ShipConfig) else SEGMENTATION


def variant_task(name: str) -> str:
    """The task of variant ``name`` (``segmentation``, ``fusion-irvis`` or ``fusion-pansharpen``)."""
    return config_task(create_config(name))


def create_config(name: str, **overrides: Any) -> ModelConfig:
    """The validated config of variant ``name`` with ``overrides`` applied (unknown fields raise)."""
    if name not in _VARIANTS:
        close = difflib.get_close_matches(name, list(_VARIANTS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        family = "SHIP" if name.startswith("ship") else "CoMiX"
        raise UnknownVariantError(
            f"unknown {family} variant {name!r}.{hint} Valid variants: {', '.join(list_variants())}"
        )
    return _VARIANTS[name](**overrides)


def model_from_config(config: ModelConfig, *, check_finite: bool = False):
    """The network of a config: ``ComixNet`` for a ``ComixConfig``, ``ShipNet`` for a ``ShipConfig``."""
    if isinstance(config, ShipConfig):
        from comix.model.ship.network import ShipNet

        return ShipNet(config, check_finite=check_finite)
    from comix.model.network import ComixNet

    return ComixNet(config, check_finite=check_finite)


def build_model(name: str, *, check_finite: bool = False, **overrides: Any):
    """Build variant ``name`` (with config ``overrides``): a ``ComixNet`` or a ``ShipNet``."""
    return model_from_config(create_config(name, **overrides), check_finite=check_finite)


def _config(defaults: dict[str, Any], overrides: dict[str, Any]) -> ComixConfig:
    return ComixConfig().replace(**{**defaults, **overrides})


@register_variant
def comix_t(**overrides: Any) -> ComixConfig:
    """Tiny: CI, CPU demo, Jetson Orin Nano. Narrow, shallow-spectrum HSI branch to keep 3-D DCN cheap."""
    return _config(
        dict(
            widths=(32, 64, 128, 256),
            depths=(1, 1, 2, 1),
            decoder_dim=128,
            hsi_width_ratio=0.25,
            spectral_depth=8,
            drop_path_rate=0.0,
        ),
        overrides,
    )


@register_variant
def comix_s(**overrides: Any) -> ComixConfig:
    """Small: Jetson Orin AGX."""
    return _config(
        dict(
            widths=(64, 128, 256, 512),
            depths=(2, 2, 4, 2),
            decoder_dim=256,
            hsi_width_ratio=0.25,
            spectral_depth=16,
            drop_path_rate=0.1,
        ),
        overrides,
    )


@register_variant
def comix_b(**overrides: Any) -> ComixConfig:
    """Base: data-center GPUs."""
    return _config(
        dict(
            widths=(64, 128, 320, 512),
            depths=(3, 4, 6, 3),
            decoder_dim=512,
            hsi_width_ratio=0.5,
            spectral_depth=32,
            drop_path_rate=0.2,
        ),
        overrides,
    )


# ---------------------------------------------------------------------------------------------- SHIP / SHIP++
def _ship(defaults: dict[str, Any], overrides: dict[str, Any]) -> ShipConfig:
    config = ShipConfig().replace(**{**defaults, **overrides})
    config.validate()
    return config


_SHIP_PLUS_PLUS = dict(
    cross_order_attention=True, cross_order_integration=True, residual_memory=True
)


@register_variant
def ship_irvis(**overrides: Any) -> ShipConfig:
    """SHIP as released (CVPR 2024 code): visible RGB + infrared -> fused RGB (fusion on the luminance)."""
    return _ship(dict(task=FUSION_IRVIS, primary_channels=3, guide_channels=1), overrides)


@register_variant
def ship_pansharpen(**overrides: Any) -> ShipConfig:
    """SHIP for pan-sharpening (our adaptation): MS upsampled x4 (4 bands) + PAN -> MS + predicted detail."""
    return _ship(
        dict(task=FUSION_PANSHARPEN, primary_channels=4, guide_channels=1, residual_output=True),
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
