"""ONNX Runtime backend: an exported ``.onnx`` (canonical or portable) behind the :class:`Backend` interface.

Input/output names and static sizes are read from the graph; class names, colours, wavelengths and
the rest from the ``comix.*`` metadata written by ``comix export``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from comix.runtime.backend import Backend, ModelIO
from comix.runtime.errors import RuntimeInputError
from comix.runtime.session import SessionFactory

PREFIX = "comix."


def _fixed(dim) -> int | None:
    return dim if isinstance(dim, int) else None


def _metadata(session) -> dict:
    props = session.get_modelmeta().custom_metadata_map
    values = {}
    for key, value in props.items():
        if key.startswith(PREFIX):
            try:
                values[key[len(PREFIX):]] = json.loads(value)
            except json.JSONDecodeError:
                values[key[len(PREFIX):]] = value
    return values


class OnnxRuntimeBackend(Backend):
    """Run an ONNX model with ONNX Runtime; inputs are the first two graph inputs (hsi, x)."""

    name = "onnxruntime"

    def __init__(self, model: str | os.PathLike | bytes, providers: Sequence[str] | None = None,
                 threads: int = 0) -> None:
        self.session = SessionFactory(model, providers, threads)()
        inputs = self.session.get_inputs()
        if len(inputs) != 2:
            raise RuntimeInputError(f"model: got {len(inputs)} inputs {[i.name for i in inputs]}, expected 2 "
                                    "(hsi (B, bands, H, W), x (B, C, H, W))")
        self.input_names = [i.name for i in inputs]
        self.output_name = self.session.get_outputs()[0].name
        hsi_shape, x_shape = inputs[0].shape, inputs[1].shape
        out_shape = self.session.get_outputs()[0].shape
        meta = _metadata(self.session)
        tile = (_fixed(hsi_shape[2]), _fixed(hsi_shape[3]))
        self.info = ModelIO(
            bands=_fixed(hsi_shape[1]), x_channels=_fixed(x_shape[1]),
            classes=_fixed(out_shape[1]) if len(out_shape) > 1 else None,
            tile=tile if None not in tile else None, max_batch=_fixed(hsi_shape[0]),
            class_names=list(meta.get("class_names") or []), class_colors=list(meta.get("class_colors") or []),
            wavelengths_nm=list(meta.get("wavelengths_nm") or []), x_modality=str(meta.get("x_modality") or ""),
            training_tile=list(meta.get("tile_size") or []), name=str(meta.get("model_name") or ""))

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        feeds = {self.input_names[0]: np.ascontiguousarray(hsi, dtype=np.float32),
                 self.input_names[1]: np.ascontiguousarray(x, dtype=np.float32)}
        return self.session.run([self.output_name], feeds)[0]
