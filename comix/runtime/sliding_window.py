"""Whole-scene inference: tiles in batches through a :class:`Backend`, logits blended without seams.

``SlidingWindow(backend, tile=(128, 128), overlap=48, batch=4)(hsi (bands, H, W), x (C, H, W))`` (defaults in
:mod:`comix.runtime.defaults`)
returns a :class:`SceneResult` with the blended logits (K, H, W) and the class raster (H, W) as label
values ``1..K`` (logit channel k is label k + 1; 0 is "no data", as in the training labels: pixels with
NaN / Inf in any band get class 0 and NaN logits, and never reach the model as such — see
:mod:`comix.runtime.nodata`).
With ``labels=False`` (image outputs: fusion) the blended output is the result and no class raster is made.

It runs the streaming engine (:mod:`comix.runtime.streaming`) on an in-memory scene and keeps the result in
memory; :meth:`SlidingWindow.stream` runs it on any :class:`~comix.runtime.scene_source.SceneSource` (a
scene on disk, read window by window) into any sinks, so peak memory is one batch of tiles plus the
blending band of one strip, not the scene.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from comix.runtime.backend import Backend
from comix.runtime.defaults import NODATA_FILL, STRIP_ALIGN, STRIP_WIDTH, resolve_window
from comix.runtime.errors import RuntimeInputError
from comix.runtime.nodata import NodataFill
from comix.runtime.scene_source import SceneSource
from comix.runtime.streaming import (
    BatchOutput,
    BlockSink,
    LocalTileRunner,
    ProgressCallback,
    StreamStats,
    TilePlan,
    stream,
)
from comix.runtime.tiling import DEFAULT_FLOOR

NODATA_LABEL = 0
Executor = Callable[[TilePlan, SceneSource], Iterator[BatchOutput]]


@dataclass
class SceneResult:
    """logits (K, H, W) float32 blended, NaN at nodata (the image itself for an image model); classes (H, W)
    uint8/uint16 label values 1..K, 0 at nodata, or None when the window was asked for no labels; valid (H, W)
    bool."""

    logits: np.ndarray
    classes: np.ndarray | None
    tiles: int
    batches: int
    seconds: float
    backend_seconds: float
    timing: dict = field(default_factory=dict)
    valid: np.ndarray | None = None
    stats: StreamStats | None = None

    def probabilities(self) -> np.ndarray:
        """Softmax over classes, (K, H, W) float32 (NaN at nodata), computed 64 rows at a time."""
        probs = np.empty_like(self.logits)
        for row in range(0, self.logits.shape[1], 64):
            probs[:, row : row + 64] = softmax(self.logits[:, row : row + 64])
        return probs


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of (K, h, w) float32 logits (NaN stays NaN)."""
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def label_raster(
    logits: np.ndarray, block: int = 64, valid: np.ndarray | None = None
) -> np.ndarray:
    """(K, H, W) logits -> (H, W) label values ``argmax + 1`` (uint8, uint16 past 254 classes), computed in
    ``block`` x ``block`` pieces so the int64 argmax temporaries do not grow with the scene; 0 where
    ``valid`` (H, W) is False."""
    dtype = np.uint8 if logits.shape[0] < 255 else np.uint16
    classes = np.empty(logits.shape[1:], dtype=dtype)
    for row in range(0, logits.shape[1], block):
        for col in range(0, logits.shape[2], block):
            piece = logits[:, row : row + block, col : col + block]
            classes[row : row + block, col : col + block] = piece.argmax(axis=0) + 1
    if valid is not None:
        classes[~valid] = NODATA_LABEL
    return classes


class ArraySink(BlockSink):
    """Keeps the whole result in memory: logits (K, H, W), classes (H, W) (None with ``labels=False``: an
    image-output model), valid (H, W)."""

    def __init__(self, labels: bool = True) -> None:
        self.labels = labels
        self.classes: np.ndarray | None = None

    column_blocks = True

    def begin(self, height: int, width: int, channels: int, georef=None) -> None:
        self.logits = np.empty((channels, height, width), dtype=np.float32)
        if self.labels:
            self.classes = np.zeros(
                (height, width), dtype=np.uint8 if channels < 255 else np.uint16
            )
        self.valid = np.zeros((height, width), dtype=bool)

    def write(self, row: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        self.write_block(row, 0, outputs, valid)

    def write_block(self, row: int, col: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        block = (slice(row, row + outputs.shape[1]), slice(col, col + outputs.shape[2]))
        self.logits[(slice(None), *block)] = outputs
        if self.labels:
            self.classes[block] = label_raster(outputs, valid=valid)
        self.valid[block] = valid


class SlidingWindow:
    """Tiled, batched, blended inference over a whole scene (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        tile: tuple[int, int] | int | None = None,
        overlap: int | None = None,
        batch: int | None = None,
        margin: int | None = None,
        floor: float = DEFAULT_FLOOR,
        progress: ProgressCallback | None = None,
        nodata_fill: str = NODATA_FILL,
        labels: bool = True,
        strip_width: int | None = STRIP_WIDTH,
    ) -> None:
        """``tile``/``overlap``/``batch`` None: the model's fixed sizes, else :mod:`comix.runtime.defaults`;
        ``nodata_fill``: what nodata pixels are filled with for the model (:mod:`comix.runtime.nodata`);
        ``labels=False``: an image-output model, no class raster; ``strip_width``: wider scenes run
        in vertical strips of at most this many columns (None: never), their edges on multiples of
        the products' GeoTIFF tile (or of ``strip_width`` when narrower; see
        :mod:`comix.runtime.streaming`)."""
        NodataFill(backend.info, nodata_fill)  # refuse an unknown fill before any work
        tile, overlap, batch = resolve_window(backend.info, tile, overlap, batch)
        fixed = backend.info.tile
        if fixed is not None and tuple(fixed) != tile:
            raise RuntimeInputError(
                f"tile: got {tile[0]}x{tile[1]}, expected {fixed[0]}x{fixed[1]} because the model "
                "was exported with static shapes (re-export with --dynamic for other tiles)"
            )
        if min(tile) < 1 or not 0 <= overlap < min(tile):
            raise RuntimeInputError(
                f"tile/overlap: got tile {tile[0]}x{tile[1]} and overlap {overlap}, expected "
                "tile sizes >= 1 and 0 <= overlap < the smaller tile size"
            )
        if batch < 1:
            raise RuntimeInputError(f"batch: got {batch}, expected >= 1")
        if backend.info.max_batch is not None and batch != backend.info.max_batch:
            raise RuntimeInputError(
                f"batch: got {batch}, expected {backend.info.max_batch} because the model was "
                "exported with a static batch"
            )
        self.backend = backend
        self.tile = tile
        self.overlap = overlap
        self.batch = batch
        self.margin = margin
        self.floor = floor
        self.progress = progress
        self.nodata_fill = nodata_fill
        self.labels = labels
        if strip_width is not None and strip_width < 1:
            raise RuntimeInputError(
                f"strip width: got {strip_width}, expected >= 1 columns (or None: no strips)"
            )
        self.strip_width = strip_width

    def tile_for(self, height: int, width: int) -> tuple[int, int]:
        """The tile used on a (height, width) scene: a dynamic-shape model gets at most the scene size
        (no padding needed); a static one always gets its fixed tile (small scenes are edge-padded)."""
        return self.plan(height, width).tile

    def plan(self, height: int, width: int, strips: bool = True) -> TilePlan:
        """The tiles and batches for a (height, width) scene; ``strips`` False: one strip (for sinks that take
        whole rows only)."""
        return TilePlan.for_scene(
            height,
            width,
            self.tile,
            self.overlap,
            self.batch,
            self.margin,
            self.floor,
            static_tile=self.backend.info.tile is not None,
            strip_width=self.strip_width if strips else None,
            strip_align=min(STRIP_ALIGN, self.strip_width or STRIP_ALIGN),
        )

    def stream(
        self, source: SceneSource, sinks: Sequence[BlockSink], executor: Executor | None = None
    ) -> StreamStats:
        """Segment ``source`` window by window into ``sinks`` (see :mod:`comix.runtime.streaming`).

        ``executor(plan, source)`` yields one :class:`BatchOutput` per planned batch, in order; default: run
        them here (:class:`LocalTileRunner`); the Ray engine passes one that runs them on its actors."""
        self.backend.check_shapes(source.hsi.shape, source.x.shape)
        plan = self.plan(
            source.height, source.width, strips=all(sink.column_blocks for sink in sinks)
        )
        if executor is None:
            outputs = LocalTileRunner(self.backend, source, plan, self.nodata_fill).map(
                plan.batches
            )
        else:
            outputs = executor(plan, source)
        return stream(plan, outputs, sinks, source.georef, self.backend.info.classes, self.progress)

    def __call__(self, hsi: np.ndarray, x: np.ndarray) -> SceneResult:
        """hsi (bands, H, W), x (C, H, W) raw float values -> :class:`SceneResult` (in memory)."""
        self.backend.check_scene(hsi, x)
        start = time.perf_counter()
        sink = ArraySink(labels=self.labels)
        stats = self.stream(SceneSource.from_arrays(hsi, x), [sink])
        seconds = time.perf_counter() - start
        return SceneResult(
            sink.logits,
            sink.classes,
            stats.tiles,
            stats.batches,
            seconds,
            stats.backend_seconds,
            {"tiles_per_second": stats.tiles / seconds if seconds else 0.0},
            sink.valid,
            stats,
        )
