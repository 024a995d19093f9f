"""timm-style registry of model variants: each variant is a short function returning a config.

Every family registers here: CoMiX's variants below (segmentation, :class:`ComixConfig`), SHIP / SHIP++'s in
:mod:`comix.ship.model.variants` (image fusion), loaded the first time the registry is read
(:func:`comix.tasks.load_family_parts`). A config knows its task (``config.task``) and builds its own network
(:func:`model_from_config`); :func:`register_config` maps each task to the config class a checkpoint of that
task is read with, and each config class to its network.

    build_model("comix_t", bands=63, x_channels=2, classes=6)
    create_config("comix_s", dcn_offset_groups=2)
    build_model("ship_pansharpen", primary_channels=8)
    variant_task("ship_irvis")   # "fusion-irvis"
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from comix.errors import BadInputError
from comix.model.config import ComixConfig
from comix.model.network import ComixNet
from comix.tasks import SEGMENTATION, load_family_parts

# a family's config: a dataclass with ``task``, ``input_channels``, ``output_channels``, ``class_count``,
# ``to_dict``/``from_dict`` and ``validate``
ModelConfig = Any
VariantFunction = Callable[..., ModelConfig]
_VARIANTS: dict[str, VariantFunction] = {}
_CONFIG_CLASSES: dict[str, type] = {SEGMENTATION: ComixConfig}
_NETWORKS: dict[type, type] = {ComixConfig: ComixNet}


class UnknownVariantError(BadInputError, KeyError):
    """A variant name that is not registered; the message lists the valid names and the closest one."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def register_variant(function: VariantFunction) -> VariantFunction:
    """Decorator: register ``function(**overrides) -> config`` under its own name."""
    if function.__name__ in _VARIANTS:
        raise BadInputError(f"variant {function.__name__!r} is already registered")
    _VARIANTS[function.__name__] = function
    return function


def register_config(config_class: type, tasks: tuple[str, ...], network: type) -> type:
    """Read checkpoints of ``tasks`` with ``config_class`` (a family's config dataclass), whose models are
    ``network(config, check_finite=...)``."""
    for task in tasks:
        _CONFIG_CLASSES[task] = config_class
    _NETWORKS[config_class] = network
    return config_class


def _families() -> None:
    load_family_parts("model")


def config_class(task: str) -> type:
    """The config class of a ``task``'s models (``ComixConfig`` for segmentation)."""
    _families()
    if task not in _CONFIG_CLASSES:
        raise BadInputError(f"task: got {task!r}, expected one of {sorted(_CONFIG_CLASSES)}")
    return _CONFIG_CLASSES[task]


def list_variants(task: str | None = None) -> list[str]:
    """Registered variant names (of one ``task`` when given)."""
    _families()
    return sorted(name for name in _VARIANTS if task is None or variant_task(name) == task)


def config_task(config: ModelConfig) -> str:
    """The task of a config (every family's config carries it)."""
    return config.task


def variant_task(name: str) -> str:
    """The task of variant ``name`` (``segmentation``, ``fusion-irvis`` or ``fusion-pansharpen``)."""
    return config_task(create_config(name))


def create_config(name: str, **overrides: Any) -> ModelConfig:
    """The validated config of variant ``name`` with ``overrides`` applied (unknown fields raise)."""
    _families()
    if name not in _VARIANTS:
        close = difflib.get_close_matches(name, list(_VARIANTS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownVariantError(
            f"unknown model variant {name!r}.{hint} Valid variants: {', '.join(list_variants())}"
        )
    return _VARIANTS[name](**overrides)


def model_from_config(config: ModelConfig, *, check_finite: bool = False):
    """The network a config builds (``ComixNet`` for a ``ComixConfig``, ``ShipNet`` for a ``ShipConfig``)."""
    _families()
    return _NETWORKS[type(config)](config, check_finite=check_finite)


def build_model(name: str, *, check_finite: bool = False, **overrides: Any):
    """Build variant ``name`` (with config ``overrides``): a ``ComixNet`` or a ``ShipNet``."""
    return model_from_config(create_config(name, **overrides), check_finite=check_finite)


def _config(defaults: dict[str, Any], overrides: dict[str, Any]) -> ComixConfig:
    return ComixConfig().replace(**{**defaults, **overrides})


@register_variant
def comix_t(**overrides: Any) -> ComixConfig:
    """Tiny: CI, CPU demo, Jetson Orin Nano. Narrow, shallow-spectrum HSI branch to keep 3-D DCN cheap."""
    return _config(
        {
            "widths": (32, 64, 128, 256),
            "depths": (1, 1, 2, 1),
            "decoder_dim": 128,
            "hsi_width_ratio": 0.25,
            "spectral_depth": 8,
            "drop_path_rate": 0.0,
        },
        overrides,
    )


@register_variant
def comix_s(**overrides: Any) -> ComixConfig:
    """Small: Jetson Orin AGX."""
    return _config(
        {
            "widths": (64, 128, 256, 512),
            "depths": (2, 2, 4, 2),
            "decoder_dim": 256,
            "hsi_width_ratio": 0.25,
            "spectral_depth": 16,
            "drop_path_rate": 0.1,
        },
        overrides,
    )


@register_variant
def comix_b(**overrides: Any) -> ComixConfig:
    """Base: data-center GPUs."""
    return _config(
        {
            "widths": (64, 128, 320, 512),
            "depths": (3, 4, 6, 3),
            "decoder_dim": 512,
            "hsi_width_ratio": 0.5,
            "spectral_depth": 32,
            "drop_path_rate": 0.2,
        },
        overrides,
    )
