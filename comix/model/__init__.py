"""The models: CoMiX (segmentation) — config, the one variant registry every family registers in (SHIP's
network is in :mod:`comix.ship.model`), networks, checkpoints and measured info. Importing the package
imports no torch (the names load their module on first use, :mod:`comix.lazy`)."""

from __future__ import annotations

from comix.lazy import lazy_names

_LAZY = {
    "Checkpoint": "comix.model.checkpoint",
    "CheckpointError": "comix.model.checkpoint",
    "load_checkpoint": "comix.model.checkpoint",
    "save_checkpoint": "comix.model.checkpoint",
    "ComixConfig": "comix.model.config",
    "ConfigError": "comix.model.config",
    "MacCount": "comix.model.info",
    "ModelInfo": "comix.model.info",
    "count_macs": "comix.model.info",
    "model_info": "comix.model.info",
    "variant_info": "comix.model.info",
    "ComixNet": "comix.model.network",
    "InputError": "comix.model.network",
    "StageFeatures": "comix.model.network",
    "UnknownVariantError": "comix.model.registry",
    "build_model": "comix.model.registry",
    "config_task": "comix.model.registry",
    "create_config": "comix.model.registry",
    "list_variants": "comix.model.registry",
    "model_from_config": "comix.model.registry",
    "register_variant": "comix.model.registry",
    "variant_task": "comix.model.registry",
}

__getattr__, __all__ = lazy_names(__name__, _LAZY)
