"""Segment one whole scene with any backend and write its products: what ``comix infer`` and the demo call.

    backend = open_backend(Path("model.onnx"))                 # .onnx -> ONNX Runtime, folder -> PyTorch
    run = segment_scene(backend, hsi (bands, H, W), x (C, H, W), "out/seg.tif", georef=georef)
    run.result.classes, run.paths["classes_tif"], run.summary

The output path is checked before any work; tile, overlap and batch default as in
:mod:`comix.runtime.defaults`; the products are written all-or-nothing (:mod:`comix.runtime.outputs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError
from comix.runtime.outputs import output_paths, write_products
from comix.runtime.sliding_window import ProgressCallback, SceneResult, SlidingWindow
from comix.tasks import SEGMENTATION, require_task

BACKENDS = ("auto", "onnxruntime", "torch")


def open_backend(model: str | os.PathLike, backend: str = "auto", threads: int = 0) -> Backend:
    """The backend for ``model``: ``auto`` picks ONNX Runtime for a ``.onnx`` file, PyTorch for a checkpoint."""
    from comix.runtime.ort_backend import OnnxRuntimeBackend
    from comix.runtime.torch_backend import TorchBackend

    model = Path(model)
    if backend not in BACKENDS:
        raise RuntimeInputError(f"--backend: got {backend!r}, expected one of {list(BACKENDS)}")
    if backend == "auto":
        backend = "onnxruntime" if model.suffix == ".onnx" else "torch"
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(model, threads=threads)
    return TorchBackend.from_checkpoint(model)


def read_scene_inputs(hsi: str | os.PathLike, x: str | os.PathLike, hsi_key: str | None = None,
                      x_key: str | None = None, layout: str | None = None):
    """(hsi (bands, H, W), x (C, H, W)) float32 and the georeference (the HSI's, else the X raster's)."""
    from comix.data.raster_io import read_raster, to_chw

    arrays, georefs = [], []
    for path, key in ((hsi, hsi_key), (x, x_key)):
        raster = read_raster(Path(path), key=key, layout=layout)
        arrays.append(to_chw(raster).astype("float32", copy=False))
        georefs.append(raster.georef)
    return arrays[0], arrays[1], georefs[0] or georefs[1]


@dataclass
class SegmentationRun:
    """A finished scene: the blended result, the files written and the summary stored in the JSON."""

    result: SceneResult
    paths: dict[str, Path]
    summary: dict = field(default_factory=dict)


def segment_scene(backend: Backend, hsi: np.ndarray, x: np.ndarray, output: str | os.PathLike, *, georef=None,
                  tile: int | None = None, overlap: int | None = None, batch: int | None = None,
                  probabilities: bool = False, progress: ProgressCallback | None = None,
                  summary: dict | None = None) -> SegmentationRun:
    """Segment ``hsi`` (bands, H, W) + ``x`` (C, H, W) and write the products named after ``output``.

    ``summary`` entries (e.g. input paths, read time) are added to the JSON summary.
    """
    output_paths(output, probabilities)  # a bad output path fails before any work
    require_task(backend.info.task, SEGMENTATION, backend.info.name or "model", "segment_scene")
    window = SlidingWindow(backend, tile=tile, overlap=overlap, batch=batch, progress=progress)
    backend.check_scene(hsi, x)
    result = window(hsi, x)
    info = backend.info
    document = {"model_name": info.name, "backend": backend.name,
                "tile": list(window.tile_for(*hsi.shape[1:])), "overlap": window.overlap, "batch": window.batch,
                **(summary or {})}
    names = info.class_names or [f"class_{k}" for k in range(1, result.logits.shape[0] + 1)]
    paths = write_products(result, output, names, georef, probabilities, document)
    return SegmentationRun(result, paths, document)
