"""A Houston-like synthetic scene, a fresh comix_t for it and its export: the inputs of the scene-scale
measurement scripts (``tools/check_scene_inference.py``, ``tools/archive_memory.py``).

The comix_t has deforming offsets (offset convs N(0, 0.05^2)), non-trivial BatchNorm statistics and the
normalisation measured on the scene; its weights are random, so its classes are not land cover: these inputs
are for numerics, tiling and memory, not accuracy.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def make_scene(seed: int, height: int, width: int, bands: int) -> dict:
    """Houston-like synthetic scene: {"hsi": (bands, H, W) float32, "x": (1, H, W) float32 DSM,
    "class_names": K names, "wavelengths_nm": (bands,)}. 144 bands = the preset's 364-1046 nm sensor;
    another count spreads that many bands evenly over the same range."""
    from comix.data.synthetic import houston_like
    from comix.data.synthetic.spectral_library import houston_wavelengths

    wavelengths = houston_wavelengths()
    if bands != len(wavelengths):
        wavelengths = np.linspace(float(wavelengths[0]), float(wavelengths[-1]), bands)
    scene = houston_like(seed=seed, height=height, width=width, wavelengths_nm=wavelengths).scene
    return {
        "hsi": scene.hsi,
        "x": scene.x,
        "class_names": list(scene.class_names),
        "wavelengths_nm": [float(w) for w in scene.wavelengths_nm],
    }


def build_checkpoint(folder: Path, scene: dict, seed: int = 0) -> Path:
    """Save a fresh comix_t for ``scene`` (bands, X channels and classes from it) under ``folder``:
    offset convs N(0, 0.05^2) so the DCNs really deform, BatchNorm running mean N(0, 0.1^2) and variance
    U(0.5, 1.5), and per-band / per-channel normalisation mean and std measured on the scene."""
    import torch

    from comix.export.testing import deform_for_parity
    from comix.model import build_model, save_checkpoint

    hsi, x = scene["hsi"], scene["x"]
    torch.manual_seed(seed)
    model = build_model(
        "comix_t", bands=hsi.shape[0], x_channels=x.shape[0], classes=len(scene["class_names"])
    )
    deform_for_parity(model, seed=seed + 1)
    hsi_std = np.maximum(hsi.std(axis=(1, 2), dtype=np.float64), 1e-6)
    x_std = np.maximum(x.std(axis=(1, 2), dtype=np.float64), 1e-6)
    model.set_normalization(
        hsi.mean(axis=(1, 2), dtype=np.float64).tolist(),
        hsi_std.tolist(),
        x.mean(axis=(1, 2), dtype=np.float64).tolist(),
        x_std.tolist(),
    )
    save_checkpoint(
        model.eval(),
        folder,
        variant="comix_t",
        class_names=scene["class_names"],
        band_wavelengths_nm=scene["wavelengths_nm"],
    )
    return folder


def export_model(checkpoint: Path, output: Path, portable: bool, tile: int) -> float:
    """Dynamic, validated export of ``checkpoint`` to ``output``; seconds taken."""
    from comix.export.checkpoint import ExportOptions, export_checkpoint

    start = time.perf_counter()
    export_checkpoint(checkpoint, output, ExportOptions(portable=portable, tile=(tile, tile)))
    return time.perf_counter() - start
