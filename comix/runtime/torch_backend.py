"""PyTorch backend: an ``nn.Module`` (e.g. a loaded CoMiX checkpoint) behind the :class:`Backend`
interface."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

from comix.errors import FailedError
from comix.metadata import ModelRecord
from comix.runtime.backend import Backend, LayerTime, ModelIO, model_io
from comix.runtime.errors import RuntimeInputError
from comix.runtime.integrity import VERIFIED, Verification


def use_cuda_kernels() -> None:
    """Make CUDA runs use our DCN kernels: check a GPU is visible, then load the PyTorch extension
    (``comix.plugins.torch``), which registers them for the ``comix::deform_conv*`` ops' CUDA key.
    Without the extension the ops would silently take their (slow) vectorised PyTorch kernel."""
    if not torch.cuda.is_available():
        raise RuntimeInputError(
            f"--device cuda: got torch {torch.__version__} with no usable CUDA device "
            f"(torch.version.cuda = {torch.version.cuda}), expected a CUDA build of torch and a "
            "GPU; `comix doctor` shows what is missing"
        )
    from comix.plugins.torch import load_extension

    try:
        load_extension()
    except (RuntimeError, ImportError, OSError) as error:
        raise RuntimeInputError(
            f"--device cuda: our CUDA DCN extension could not be loaded ({str(error).splitlines()[0]}); "
            "build it with `cd plugins/torch && python setup.py build_ext --inplace`"
        ) from None


def normalization_means(module: torch.nn.Module) -> tuple[list[float], list[float]]:
    """The per-band HSI and per-channel X normalisation means a module applies to raw inputs: CoMiX's
    ``hsi_norm`` / ``x_norm`` (:class:`~comix.model.normalization.InputNormalization`) or ``hsi_mean`` /
    ``x_mean`` buffers; empty lists when it has neither."""
    for hsi_name, x_name in (("hsi_norm.mean", "x_norm.mean"), ("hsi_mean", "x_mean")):
        buffers = dict(module.named_buffers())
        if hsi_name in buffers and x_name in buffers:
            return (
                buffers[hsi_name].detach().flatten().double().tolist(),
                buffers[x_name].detach().flatten().double().tolist(),
            )
    return [], []


def module_io(module: torch.nn.Module) -> ModelIO:
    """What an in-memory model takes and gives, from its config (any family's: ``task``, ``input_channels``,
    ``output_channels``); bare modules give what their ``bands``/``x_channels``/``classes`` attributes say."""
    config = getattr(module, "config", None)
    if config is not None and hasattr(config, "input_channels"):
        first, second = config.input_channels
        record = ModelRecord(
            model_name=type(module).__name__, task=config.task, config=config.to_dict()
        )
        return model_io(record, bands=first, x_channels=second, classes=config.output_channels)
    return ModelIO(
        bands=getattr(module, "bands", None),
        x_channels=getattr(module, "x_channels", None),
        classes=getattr(module, "classes", None),
    )


class TorchBackend(Backend):
    """Run ``module(hsi, x) -> logits`` in eval mode under ``torch.inference_mode``.

    ``info`` defaults to what the module's config says (:func:`module_io`); a checkpoint opened with
    :meth:`from_checkpoint` is described by its record, as its export would be."""

    name = "torch"

    def __init__(
        self, module: torch.nn.Module, info: ModelIO | None = None, device: str = "cpu"
    ) -> None:
        if device.startswith("cuda"):
            use_cuda_kernels()
        self.module = module.eval().to(device)
        self.device = device
        info = info if info is not None else module_io(module)
        if not info.hsi_mean:
            info.hsi_mean, info.x_mean = normalization_means(module)
        self.info = info

    @classmethod
    def open(cls, path, options) -> TorchBackend:
        """The registry's way in (:mod:`comix.runtime.registry`)."""
        return cls.from_checkpoint(path, device=options.device)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str = "cpu") -> TorchBackend:
        """Load a checkpoint folder (model.safetensors + config.json) of any family."""
        from comix.model.checkpoint import CheckpointError, load_checkpoint

        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as error:
            raise RuntimeInputError(str(error)) from None
        backend = cls(checkpoint.model, model_io(checkpoint.record()), device)
        backend.training_recipe = dict(checkpoint.training_recipe or {})
        backend.source = path
        # the loader checked the weights file against the hash in config.json (always)
        backend.verification = Verification(VERIFIED, weights=checkpoint.weights_sha256)
        return backend

    def weights_digest(self) -> str:
        """SHA-256 over every parameter and buffer as they are in memory now (name, dtype, shape, bytes)."""
        digest = hashlib.sha256()
        for name, tensor in self.module.state_dict().items():
            value = tensor.detach().cpu().contiguous()
            digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}".encode())
            digest.update(value.view(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    def reload(self) -> None:
        """Load the checkpoint again (verified by the loader) into this backend."""
        source = getattr(self, "source", None)
        if source is None:
            raise FailedError("the model was built in memory, so it cannot be reloaded from a file")
        fresh = type(self).from_checkpoint(source, device=self.device)
        self.module = fresh.module

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.module(
                torch.from_numpy(np.ascontiguousarray(hsi, dtype=np.float32)).to(self.device),
                torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device),
            )
        return logits.float().cpu().numpy()

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime]:
        """Self time per module call from ``torch.profiler`` (CPU time of the host thread; on a GPU this
        is launch time, not kernel time)."""
        from comix.runtime.torch_profile import module_times

        return module_times(self.module, lambda: self.run(hsi, x), runs)
