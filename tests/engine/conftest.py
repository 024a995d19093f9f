"""Fixtures for the TensorRT-path tests: a tiny canonical ONNX export (one 2-D DeformConv, one ai.comix
DeformConv3D; ~5 s on 2 cores) with a model record, made once per session."""

from __future__ import annotations

import pytest
import torch

BANDS, X_CHANNELS, CLASSES = 6, 1, 4


@pytest.fixture(scope="session")
def tiny_canonical(tmp_path_factory):
    """Path of a dynamic canonical export of ``TinyHsiXNet`` with a record (training tile 48x64)."""
    import onnx

    from comix.export.exporter import TorchOnnxExporter
    from comix.export.testing import TinyHsiXNet
    from comix.metadata import ModelRecord

    net = TinyHsiXNet(BANDS, X_CHANNELS, CLASSES, seed=0).eval()
    dynamic = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}
    sample = (torch.randn(2, BANDS, 23, 29), torch.randn(2, X_CHANNELS, 23, 29))
    model = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=dynamic)(net, sample)
    ModelRecord(
        model_name="tiny",
        class_names=["a", "b", "c", "d"],
        hsi_bands=BANDS,
        x_channels=X_CHANNELS,
        training_tile=[48, 64],
        config={"classes": CLASSES},
    ).write_onnx(model)
    path = tmp_path_factory.mktemp("trt") / "tiny.onnx"
    onnx.save(model, str(path))
    return path
