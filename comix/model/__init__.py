"""The models: CoMiX (segmentation) — config, the one variant registry every family registers in (SHIP's
network is in :mod:`comix.ship.model`), networks, checkpoints and measured info."""

from comix.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from comix.model.config import ComixConfig, ConfigError
from comix.model.info import MacCount, ModelInfo, count_macs, model_info, variant_info
from comix.model.network import ComixNet, InputError, StageFeatures
from comix.model.registry import (
    UnknownVariantError,
    build_model,
    config_task,
    create_config,
    list_variants,
    model_from_config,
    register_variant,
    variant_task,
)

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ComixConfig",
    "ComixNet",
    "ConfigError",
    "InputError",
    "MacCount",
    "ModelInfo",
    "StageFeatures",
    "UnknownVariantError",
    "build_model",
    "count_macs",
    "create_config",
    "list_variants",
    "load_checkpoint",
    "model_info",
    "register_variant",
    "save_checkpoint",
    "variant_info",
    "config_task",
    "model_from_config",
    "variant_task",
]
