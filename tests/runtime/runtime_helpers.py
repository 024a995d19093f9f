"""Helpers for runtime tests: a tiny HSI-X network (real 2-D/3-D DCNs), scenes, and ONNX exports of it."""

from __future__ import annotations

import numpy as np
import torch

from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, ScopeNodeNames, Simplify
from comix.export.testing import TinyHsiXNet
from comix.metadata import ModelRecord

BANDS, X_CHANNELS, CLASSES = 6, 1, 4
CLASS_NAMES = ["water", "trees", "roofs", "roads"]
DYNAMIC = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}


def make_scene(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw-valued (hsi (BANDS, H, W), x (X_CHANNELS, H, W)) float32 with some spatial structure."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    pattern = np.sin(rows / 5.0) + np.cos(cols / 7.0)
    hsi = (
        0.2
        + 0.5 * pattern[None] * np.linspace(0.5, 1.5, BANDS)[:, None, None]
        + rng.normal(0, 0.3, (BANDS, height, width))
    ).astype(np.float32)
    x = (10 + 5 * pattern[None] + rng.normal(0, 1, (X_CHANNELS, height, width))).astype(np.float32)
    return hsi, x


def tiny_net() -> TinyHsiXNet:
    return TinyHsiXNet(BANDS, X_CHANNELS, CLASSES, seed=0).eval()


def export_tiny(portable: bool, path, dynamic=DYNAMIC):
    import onnx

    net = tiny_net()
    sample = (torch.randn(2, BANDS, 23, 29), torch.randn(2, X_CHANNELS, 23, 29))
    model = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=dynamic, portable=portable)(
        net, sample
    )
    model = Simplify()(FoldBatchNorm()(ScopeNodeNames()(model)))
    ModelRecord(
        model_name="tiny",
        class_names=CLASS_NAMES,
        class_colors=[[0, 0, 255], [0, 128, 0], [200, 0, 0], [90, 90, 90]],
        hsi_bands=BANDS,
        x_channels=X_CHANNELS,
        graph_kind="portable" if portable else "canonical",
    ).write_onnx(model)
    onnx.save(model, str(path))
    return path
