"""Segment one whole scene with any backend and write its products: what ``comix infer`` and the demo call.

    backend = open_backend(Path("model.onnx"))                 # comix.runtime.registry: .onnx -> ONNX Runtime
    with open_scene("hsi.tif", "dsm.tif", nodata=-9999) as source:     # on disk, read window by window
        run = segment_source(backend, source, "out/seg.tif")   # products written block by block
    run = segment_scene(backend, hsi (bands, H, W), x (C, H, W), "out/seg.tif", georef=georef)  # in memory
    run.result.classes, run.paths["classes_tif"], run.summary

Both are one code path (:mod:`comix.runtime.streaming`). The output path is checked before any work; tile,
overlap and batch default as in :mod:`comix.runtime.defaults`; the products are written all-or-nothing
(:mod:`comix.runtime.outputs`); nodata pixels are filled for the model (:mod:`comix.runtime.nodata`) and
marked in every product.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import check_same_grid
from comix.runtime.backend import Backend
from comix.runtime.defaults import NODATA_FILL, STRIP_WIDTH
from comix.runtime.errors import RuntimeInputError
from comix.runtime.guard import integrity_summary
from comix.runtime.nodata import NodataFill
from comix.runtime.outputs import ClassProducts, StagedFiles, output_paths
from comix.runtime.scene_source import RasterRef, SceneSource
from comix.runtime.sliding_window import ArraySink, Executor, SceneResult, SlidingWindow
from comix.runtime.streaming import ProgressCallback, StreamStats
from comix.tasks import SEGMENTATION, require_task


def open_backend(
    model: str | os.PathLike,
    backend: str = "auto",
    threads: int = 0,
    device: str = "cpu",
    cuda_graphs: bool = False,
    verify: bool = True,
) -> Backend:
    """The backend for ``model`` (:func:`comix.runtime.registry.open_backend`)."""
    from comix.runtime.registry import open_backend as open_registered

    return open_registered(
        model, backend, threads=threads, device=device, cuda_graphs=cuda_graphs, verify=verify
    )


def read_scene_inputs(
    hsi: str | os.PathLike,
    x: str | os.PathLike,
    hsi_key: str | None = None,
    x_key: str | None = None,
    layout: str | None = None,
):
    """(hsi (bands, H, W), x (C, H, W)) float32 and the georeference (the HSI's, else the X raster's)."""
    from comix.data.raster_io import read_raster, to_chw

    arrays, georefs = [], []
    for path, key in ((hsi, hsi_key), (x, x_key)):
        raster = read_raster(Path(path), key=key, layout=layout)
        arrays.append(to_chw(raster).astype("float32", copy=False))
        georefs.append(raster.georef)
    if arrays[0].shape[1:] != arrays[1].shape[1:]:
        raise RuntimeInputError(
            f"scene size: got HSI H x W {arrays[0].shape[1:]} and X H x W {arrays[1].shape[1:]}, "
            "expected the same grid (co-registered rasters)"
        )
    try:
        check_same_grid(f"the HSI cube {hsi}", georefs[0], str(x), georefs[1], *arrays[0].shape[1:])
    except DataError as error:
        raise RuntimeInputError(str(error)) from None
    return arrays[0], arrays[1], georefs[0] or georefs[1]


def open_scene(
    hsi: str | os.PathLike | RasterRef,
    x: str | os.PathLike | RasterRef | Sequence[RasterRef],
    hsi_key: str | None = None,
    x_key: str | None = None,
    layout: str | None = None,
    nodata: float | None = None,
    x_nodata: float | None = None,
    name: str = "",
) -> SceneSource:
    """A scene on disk for windowed reading (any reader format; ``--nodata`` values as in
    :meth:`SceneSource.from_files`)."""
    hsi_ref = hsi if isinstance(hsi, RasterRef) else RasterRef(str(hsi), hsi_key, layout)
    if isinstance(x, (str, os.PathLike)):
        x = RasterRef(str(x), x_key, layout)
    return SceneSource.from_files(hsi_ref, x, nodata=nodata, x_nodata=x_nodata, name=name)


@dataclass
class SegmentationRun:
    """A finished scene: the files written, the summary stored in the JSON, the stream's statistics and,
    for an in-memory run, the blended result."""

    result: SceneResult | None
    paths: dict[str, Path]
    summary: dict = field(default_factory=dict)
    stats: StreamStats | None = None


def segment_source(
    backend: Backend,
    source: SceneSource,
    output: str | os.PathLike,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    probabilities: bool = False,
    cog: bool = False,
    nodata_fill: str = NODATA_FILL,
    progress: ProgressCallback | None = None,
    summary: dict | None = None,
    keep_in_memory: bool = False,
    executor: Executor | None = None,
    strip_width: int | None = STRIP_WIDTH,
) -> SegmentationRun:
    """Segment a scene read window by window and write its products (:mod:`comix.runtime.outputs`) named
    after ``output``, block by block: peak memory is one batch of tiles plus the blending band of one
    strip (scenes wider than ``strip_width`` run in vertical strips, see :mod:`comix.runtime.streaming`).

    ``summary`` entries (e.g. input paths) are added to the JSON summary; ``keep_in_memory`` also returns
    the blended logits and classes (:class:`SceneResult`); ``executor`` runs the tile batches elsewhere
    (see :meth:`SlidingWindow.stream`).
    """
    from comix.data.geotiff_io import bounded_gdal_cache

    paths = output_paths(output, probabilities)  # a bad output path fails before any work
    require_task(backend.info.task, SEGMENTATION, backend.info.name or "model", "segmentation")
    window = SlidingWindow(
        backend,
        tile=tile,
        overlap=overlap,
        batch=batch,
        progress=progress,
        nodata_fill=nodata_fill,
        strip_width=strip_width,
    )
    backend.check_shapes(source.hsi.shape, source.x.shape)
    info = backend.info
    names = info.class_names or (
        [f"class_{k}" for k in range(1, info.classes + 1)] if info.classes else []
    )
    staged = StagedFiles()
    products = ClassProducts(paths, staged, names, title=Path(output).stem, cog=cog)
    in_memory = ArraySink() if keep_in_memory else None
    with staged.all_or_nothing(abort=products.abort):
        with bounded_gdal_cache():
            stats = window.stream(source, [products] + ([in_memory] if in_memory else []), executor)
            entries = products.finish()
        plan = window.plan(source.height, source.width)
        streamed = stats.as_dict()
        nodata_pixels = streamed["nodata_pixels"]
        document = {
            "model_name": info.name,
            "integrity": integrity_summary(backend),
            "backend": backend.name,
            "tile": list(plan.tile),
            "overlap": window.overlap,
            "batch": window.batch,
            **(summary or {}),
            **entries,
            "crs": getattr(source.georef, "crs", None),
            "nodata": {
                "pixels": nodata_pixels,
                "fraction": nodata_pixels / max(streamed["pixels"], 1),
                "sources": source.nodata_sources(),
                "fill": NodataFill(info, nodata_fill).description,
                "skipped_tiles": stats.skipped_tiles,
            },
            "tiles": stats.tiles,
            "strips": stats.strips,
            "boundary_tiles": stats.boundary_tiles,
            "batches": stats.batches,
            "timing": streamed["timing"],
            "memory": {"blending_band_bytes": stats.band_bytes},
            "outputs": {key: str(path) for key, path in paths.items()},
        }
        staged.temp_for(paths["summary"]).write_text(json.dumps(document, indent=2))
    result = None
    if in_memory is not None:
        result = SceneResult(
            in_memory.logits,
            in_memory.classes,
            stats.tiles,
            stats.batches,
            stats.seconds,
            stats.backend_seconds,
            streamed["timing"],
            in_memory.valid,
            stats,
        )
    return SegmentationRun(result, paths, document, stats)


def segment_scene(
    backend: Backend,
    hsi: np.ndarray,
    x: np.ndarray,
    output: str | os.PathLike,
    *,
    georef=None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    probabilities: bool = False,
    cog: bool = False,
    nodata_fill: str = NODATA_FILL,
    progress: ProgressCallback | None = None,
    summary: dict | None = None,
) -> SegmentationRun:
    """Segment an in-memory scene ``hsi`` (bands, H, W) + ``x`` (C, H, W) and write the products named after
    ``output``; the blended result stays in ``run.result`` (:func:`segment_source` on the arrays)."""
    output_paths(output, probabilities)
    backend.check_scene(hsi, x)
    source = SceneSource.from_arrays(hsi, x, georef)
    return segment_source(
        backend,
        source,
        output,
        tile=tile,
        overlap=overlap,
        batch=batch,
        probabilities=probabilities,
        cog=cog,
        nodata_fill=nodata_fill,
        progress=progress,
        summary=summary,
        keep_in_memory=True,
    )
