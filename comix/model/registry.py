"""timm-style registry of CoMiX variants: each variant is a short function returning a config.

    build_model("comix_t", bands=63, x_channels=2, classes=6)
    create_config("comix_s", dcn_offset_groups=2)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from comix.model.config import ComixConfig

VariantFunction = Callable[..., ComixConfig]
_VARIANTS: dict[str, VariantFunction] = {}


class UnknownVariantError(KeyError):
    """A variant name that is not registered; the message lists the valid names and the closest one."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def register_variant(function: VariantFunction) -> VariantFunction:
    """Decorator: register ``function(**overrides) -> ComixConfig`` under its own name."""
    if function.__name__ in _VARIANTS:
        raise ValueError(f"variant {function.__name__!r} is already registered")
    _VARIANTS[function.__name__] = function
    return function


def list_variants() -> list[str]:
    return sorted(_VARIANTS)


def create_config(name: str, **overrides: Any) -> ComixConfig:
    """The validated config of variant ``name`` with ``overrides`` applied (unknown fields raise)."""
    if name not in _VARIANTS:
        close = difflib.get_close_matches(name, list(_VARIANTS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownVariantError(f"unknown CoMiX variant {name!r}.{hint} Valid variants: {', '.join(list_variants())}")
    return _VARIANTS[name](**overrides)


def build_model(name: str, *, check_finite: bool = False, **overrides: Any):
    """Build variant ``name`` (with config ``overrides``) as a ``ComixNet``."""
    from comix.model.network import ComixNet

    return ComixNet(create_config(name, **overrides), check_finite=check_finite)


def _config(defaults: dict[str, Any], overrides: dict[str, Any]) -> ComixConfig:
    return ComixConfig().replace(**{**defaults, **overrides})


@register_variant
def comix_t(**overrides: Any) -> ComixConfig:
    """Tiny: CI, CPU demo, Jetson Orin Nano. Narrow, shallow-spectrum HSI branch to keep 3-D DCN cheap."""
    return _config(dict(widths=(32, 64, 128, 256), depths=(1, 1, 2, 1), decoder_dim=128,
                        hsi_width_ratio=0.25, spectral_depth=8, drop_path_rate=0.0), overrides)


@register_variant
def comix_s(**overrides: Any) -> ComixConfig:
    """Small: Jetson Orin AGX."""
    return _config(dict(widths=(64, 128, 256, 512), depths=(2, 2, 4, 2), decoder_dim=256,
                        hsi_width_ratio=0.25, spectral_depth=16, drop_path_rate=0.1), overrides)


@register_variant
def comix_b(**overrides: Any) -> ComixConfig:
    """Base: data-center GPUs."""
    return _config(dict(widths=(64, 128, 320, 512), depths=(3, 4, 6, 3), decoder_dim=512,
                        hsi_width_ratio=0.5, spectral_depth=32, drop_path_rate=0.2), overrides)
