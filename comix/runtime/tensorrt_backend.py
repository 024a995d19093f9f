"""TensorRT backend: a CoMiX engine (``comix build``) behind the :class:`Backend` interface.

The engine work (record check, plugin library, buffers, streams, CUDA graphs) is
:class:`comix.tensorrt.runner.EngineRunner`; this adapter maps tiles to its named inputs, splits batches
larger than the profile's maximum and pads batches smaller than its minimum, and describes the model
from the record beside the engine. ``info.tile`` is the profile's tile when the engine was built for one
tile size (the default), so the sliding window feeds exactly that size.

:meth:`TensorRTBackend.layer_times` gives ``comix profile`` per-layer times from TensorRT's profiler.
"""

from __future__ import annotations

import os

import numpy as np

from comix.runtime.backend import Backend, LayerTime, model_io
from comix.runtime.errors import RuntimeInputError


class TensorRTBackend(Backend):
    """Run a TensorRT engine; inputs are the engine's two input tensors in graph order (hsi, x)."""

    name = "tensorrt"

    def __init__(
        self,
        engine: str | os.PathLike,
        *,
        cuda: str | None = None,
        device: int = 0,
        cuda_graphs: bool = False,
    ) -> None:
        from comix.tensorrt.cuda_memory import DEFAULT_API
        from comix.tensorrt.runner import EngineRunner

        self.runner = EngineRunner(
            engine, cuda=cuda or DEFAULT_API, device=device, cuda_graphs=cuda_graphs
        )
        inputs, outputs = self.runner.inputs, self.runner.outputs
        if len(inputs) != 2 or not outputs:
            raise RuntimeInputError(
                f"engine {engine}: got inputs {[t.name for t in inputs]} and outputs "
                f"{[t.name for t in outputs]}, expected hsi, x and logits"
            )
        self.input_names = [t.name for t in inputs]
        self.output_name = outputs[0].name
        hsi, x = inputs
        record = self.runner.record
        fixed_tile = hsi.min_shape[2:] == hsi.max_shape[2:]
        self.min_batch, self.max_batch = hsi.min_shape[0], hsi.max_shape[0]
        self.info = model_io(
            record,
            bands=hsi.max_shape[1],
            x_channels=x.max_shape[1],
            tile=tuple(hsi.opt_shape[2:]) if fixed_tile else None,
            max_batch=self.max_batch,
        )

    @classmethod
    def open(cls, path, options) -> TensorRTBackend:
        """The registry's way in (:mod:`comix.runtime.registry`)."""
        return cls(path, cuda_graphs=options.cuda_graphs)

    def _feeds(self, hsi: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        return {
            self.input_names[0]: np.ascontiguousarray(hsi, dtype=np.float32),
            self.input_names[1]: np.ascontiguousarray(x, dtype=np.float32),
        }

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        results = []
        for start in range(0, hsi.shape[0], self.max_batch):
            part_hsi, part_x = (
                hsi[start : start + self.max_batch],
                x[start : start + self.max_batch],
            )
            count = part_hsi.shape[0]
            if count < self.min_batch:  # repeat the last tile up to the profile's minimum batch
                repeat = np.r_[np.arange(count), np.full(self.min_batch - count, count - 1)]
                part_hsi, part_x = part_hsi[repeat], part_x[repeat]
            logits = self.runner.run(self._feeds(part_hsi, part_x))[self.output_name]
            results.append(logits[:count].astype(np.float32, copy=False))
        return np.concatenate(results, axis=0)

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime]:
        """Per-layer mean times of one batch (``hsi`` (B, bands, H, W), ``x`` (B, C, H, W) within the
        profile) over ``runs`` runs, in execution order. Layer names are the ONNX node names the parser kept
        (module scopes included), so ``comix profile`` sorts them into model parts; TensorRT does not
        report a layer's type here, so ``kind`` is empty."""
        rows = self.runner.layer_times(self._feeds(hsi, x), repeats=runs)
        return [LayerTime(row.name, "", row.mean_ms) for row in rows]

    def close(self) -> None:
        self.runner.close()
