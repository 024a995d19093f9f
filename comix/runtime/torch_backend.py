"""PyTorch backend: an ``nn.Module`` (e.g. a loaded CoMiX checkpoint) behind the :class:`Backend` interface."""

from __future__ import annotations

import os

import numpy as np
import torch

from comix.runtime.backend import Backend, LayerTime, ModelIO
from comix.runtime.errors import RuntimeInputError


class TorchBackend(Backend):
    """Run ``module(hsi, x) -> logits`` in eval mode under ``torch.inference_mode``."""

    name = "torch"

    def __init__(self, module: torch.nn.Module, info: ModelIO | None = None, device: str = "cpu") -> None:
        self.module = module.eval().to(device)
        self.device = device
        if info is None:
            config = getattr(module, "config", None)
            info = ModelIO(bands=getattr(config, "bands", getattr(module, "bands", None)),
                           x_channels=getattr(config, "x_channels", getattr(module, "x_channels", None)),
                           classes=getattr(config, "classes", getattr(module, "classes", None)))
        self.info = info

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str = "cpu") -> TorchBackend:
        """Load a CoMiX checkpoint folder (model.safetensors + config.json)."""
        from comix.model.checkpoint import CheckpointError, load_checkpoint

        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as error:
            raise RuntimeInputError(str(error)) from None
        config = checkpoint.model.config
        metadata = checkpoint.metadata
        info = ModelIO(bands=config.bands, x_channels=config.x_channels, classes=config.classes,
                       class_names=list(checkpoint.class_names),
                       wavelengths_nm=list(checkpoint.band_wavelengths_nm or []),
                       x_modality=str(checkpoint.training_recipe.get("x_modality", metadata.get("x_modality", ""))),
                       name=checkpoint.variant)
        return cls(checkpoint.model, info, device)

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.module(torch.from_numpy(np.ascontiguousarray(hsi, dtype=np.float32)).to(self.device),
                                 torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device))
        return logits.float().cpu().numpy()

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime]:
        """Self time per module call from ``torch.profiler`` (CPU time of the host thread; on a GPU this
        is launch time, not kernel time)."""
        from comix.runtime.torch_profile import module_times

        return module_times(self.module, lambda: self.run(hsi, x), runs)
