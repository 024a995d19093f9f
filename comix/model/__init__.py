"""The models: CoMiX (segmentation) and SHIP (image fusion) — configs, one variant registry, networks,
checkpoints and measured info."""

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
from comix.model.ship import ShipConfig, ShipNet

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
    "ShipConfig",
    "ShipNet",
    "config_task",
    "model_from_config",
    "variant_task",
]
