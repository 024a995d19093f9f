"""A small labelled HSI-X scene written to disk and a tiny network trained on it, exported to ONNX.

Built inside the tests (seconds): 4 classes with distinct spectra and heights in irregular patches, one
class rare (~3 % of the labelled pixels), a stratified train/test split; ``TinyHsiXNet`` (real 3-D and
2-D DCN layers) trained on the training pixels until it separates the classes, exported canonical and
portable with its model record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from comix.data.scene import Scene
from comix.data.scene_writer import write_scene
from comix.data.split import stratified_split
from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, Simplify
from comix.export.testing import TinyHsiXNet
from comix.metadata import ModelRecord

BANDS, HEIGHT, WIDTH = 12, 48, 64
CLASS_NAMES = ("water", "trees", "roofs", "rare_metal")
DYNAMIC = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}


def make_scene(seed: int = 0, bands: int = BANDS, unlabelled: bool = False) -> Scene:
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    field = np.sin(rows / 6.0 + 0.3) + np.cos(cols / 9.0) + 0.3 * rng.normal(size=(HEIGHT, WIDTH))
    labels = np.digitize(field, [-0.6, 0.4]) + 1  # classes 1..3 in patches
    labels[(rows // 8 + cols // 8) % 11 == 5] = 4  # a rare class in a few blocks
    spectra = rng.uniform(500, 4000, (len(CLASS_NAMES), bands))  # raw reflectance x 10 000
    heights = np.array([0.0, 12.0, 25.0, 8.0])
    hsi = spectra[labels - 1].transpose(2, 0, 1) + rng.normal(0, 250, (bands, HEIGHT, WIDTH))
    x = (heights[labels - 1] + rng.normal(0, 2.0, (HEIGHT, WIDTH)))[None] + 100.0
    labels[rng.random((HEIGHT, WIDTH)) < 0.5] = 0  # sparse labels, like the benchmarks
    if unlabelled:
        labels[:] = 0
        train, test = np.zeros_like(labels, bool), np.zeros_like(labels, bool)
    else:
        train, test = stratified_split(labels, 0.3, None, seed)
    return Scene(
        hsi=hsi.astype(np.float32),
        x=x.astype(np.float32),
        labels=labels,
        class_names=CLASS_NAMES,
        train_mask=train,
        test_mask=test,
        name=f"calibration_test_{seed}",
    )


def write_dataset(folder: Path, **kwargs) -> Path:
    return write_scene(make_scene(**kwargs), folder, fmt="npz")


def train_tiny(scene: Scene, steps: int = 40, seed: int = 0) -> TinyHsiXNet:
    """TinyHsiXNet with the scene's normalisation statistics, trained full-image on the training pixels."""
    net = TinyHsiXNet(scene.num_bands, scene.x.shape[0], scene.num_classes, width=8, seed=seed)
    with torch.no_grad():
        net.hsi_mean.copy_(torch.from_numpy(scene.hsi.mean(axis=(1, 2))).reshape(1, -1, 1, 1))
        net.hsi_std.copy_(torch.from_numpy(scene.hsi.std(axis=(1, 2)) + 1e-3).reshape(1, -1, 1, 1))
        net.x_mean.copy_(torch.from_numpy(scene.x.mean(axis=(1, 2))).reshape(1, -1, 1, 1))
        net.x_std.copy_(torch.from_numpy(scene.x.std(axis=(1, 2)) + 1e-3).reshape(1, -1, 1, 1))
    hsi, x = torch.from_numpy(scene.hsi)[None], torch.from_numpy(scene.x)[None]
    target = torch.from_numpy(np.where(scene.train_mask, scene.labels, 0))[None] - 1
    optimizer = torch.optim.Adam(net.parameters(), 1e-2)
    net.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(hsi, x), target, ignore_index=-1)
        loss.backward()
        optimizer.step()
    return net.eval()


def export(net: TinyHsiXNet, path: Path, portable: bool) -> Path:
    sample = (
        torch.randn(2, net.bands, 23, 29) * 1000 + 2000,
        torch.randn(2, net.x_channels, 23, 29) + 100,
    )
    model = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=DYNAMIC, portable=portable)(
        net, sample
    )
    model = Simplify()(FoldBatchNorm()(model))
    ModelRecord(
        model_name="tiny",
        class_names=list(CLASS_NAMES),
        hsi_bands=net.bands,
        x_channels=net.x_channels,
        graph_kind="portable" if portable else "canonical",
    ).write_onnx(model)
    onnx.save(model, str(path))
    return path
