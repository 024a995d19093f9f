"""Streaming whole-scene inference: window reader -> tile batches -> blended block writer.

    plan = TilePlan.for_scene(height, width, tile=(th, tw), overlap, batch, margin, floor, static_tile)
    runner = LocalTileRunner(backend, source, plan)           # reads, fills nodata, runs the model
    stats = stream(plan, runner.map(plan.batches), sinks)     # blends and hands finished rows to the sinks

The plan fixes the tiles and how they are batched (the same batches whoever runs them, so a cluster run
gives the same numbers as a local one). A runner turns each batch into a :class:`BatchOutput`; tiles with
no valid pixel are skipped (no model call). :func:`stream` adds the outputs into a
:class:`~comix.runtime.blending.BlendingBand` and, as soon as rows are final, passes them to every
:class:`BlockSink`. Peak memory: one batch of tiles plus the band (about one tile height by the scene
width), whatever the scene's size.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from comix.data.windowed import Window
from comix.runtime.backend import Backend
from comix.runtime.blending import BlendingBand
from comix.runtime.defaults import NODATA_FILL
from comix.runtime.errors import RuntimeInputError
from comix.runtime.nodata import NodataFill
from comix.runtime.scene_source import SceneSource
from comix.runtime.tiling import DEFAULT_FLOOR, Tile, TileGrid

ProgressCallback = Callable[[int, int], None]  # (tiles done, tiles total)


@dataclass
class TilePlan:
    """The tiles of a ``height x width`` scene (:class:`TileGrid`) and their batches, in row-major order."""

    height: int
    width: int
    grid: TileGrid
    batches: list[list[Tile]]

    @classmethod
    def for_scene(cls, height: int, width: int, tile: tuple[int, int], overlap: int, batch: int,
                  margin: int | None = None, floor: float = DEFAULT_FLOOR, static_tile: bool = False) -> TilePlan:
        """A dynamic-shape model gets tiles of at most the scene size; a static one always its ``tile`` (a
        smaller scene is edge-padded)."""
        th, tw = tile if static_tile else (min(tile[0], height), min(tile[1], width))
        grid = TileGrid(height, width, th, tw, min(overlap, max(0, min(th, tw) - 1)), margin, floor)
        tiles = grid.tiles()
        return cls(height, width, grid, [tiles[i:i + batch] for i in range(0, len(tiles), batch)])

    @property
    def tile(self) -> tuple[int, int]:
        return self.grid.tile_h, self.grid.tile_w

    @property
    def tiles(self) -> int:
        return len(self.grid)


@dataclass
class BatchOutput:
    """What a runner returns for one batch: per tile, outputs (K, th, tw) float32 or None (skipped, no valid
    pixel) and validity (th, tw) bool; seconds spent reading and in the model."""

    tiles: list[Tile]
    outputs: list[np.ndarray | None]
    valid: list[np.ndarray]
    read_seconds: float = 0.0
    backend_seconds: float = 0.0
    model_calls: int = 0


class TileReader:
    """One tile's model input: read the window (the part inside the scene), fill nodata, edge-pad a tile
    that reaches past a scene smaller than the tile. Returns ``(hsi, x, valid)`` at the full tile size."""

    def __init__(self, source: SceneSource, fill: NodataFill, tile: tuple[int, int]) -> None:
        self.source, self.fill, self.tile = source, fill, tile

    def __call__(self, tile: Tile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        th, tw = self.tile
        window = Window(tile.top, tile.left, th, tw).clip(self.source.height, self.source.width)
        hsi, x, valid = self.source.read(window)
        if valid.any():
            self.fill(hsi, x, valid)
        pad = ((0, th - window.height), (0, tw - window.width))
        if pad != ((0, 0), (0, 0)):
            hsi = np.pad(hsi, ((0, 0), *pad), mode="edge")
            x = np.pad(x, ((0, 0), *pad), mode="edge")
            valid = np.pad(valid, pad, mode="constant", constant_values=False)
        return hsi, x, valid


class LocalTileRunner:
    """Run planned batches in this process: read each tile, skip tiles without valid pixels, run the rest
    through ``backend`` as one batch (a static-batch model always gets a full batch, zero-padded)."""

    def __init__(self, backend: Backend, source: SceneSource, plan: TilePlan, nodata_fill: str = NODATA_FILL) -> None:
        self.backend = backend
        self.reader = TileReader(source, NodataFill(backend.info, nodata_fill), plan.tile)
        self.tile = plan.tile

    def run(self, batch: Sequence[Tile]) -> BatchOutput:
        start = time.perf_counter()
        inputs = [self.reader(tile) for tile in batch]
        read_seconds = time.perf_counter() - start
        kept = [i for i, (_, _, valid) in enumerate(inputs) if valid.any()]
        outputs: list[np.ndarray | None] = [None] * len(batch)
        backend_seconds, calls = 0.0, 0
        if kept:
            th, tw = self.tile
            static = self.backend.info.max_batch
            size = static if static is not None else len(kept)
            bands, channels = inputs[kept[0]][0].shape[0], inputs[kept[0]][1].shape[0]
            hsi = np.zeros((size, bands, th, tw), dtype=np.float32)
            x = np.zeros((size, channels, th, tw), dtype=np.float32)
            for slot, index in enumerate(kept):
                hsi[slot], x[slot] = inputs[index][0], inputs[index][1]
            t0 = time.perf_counter()
            logits = self.backend.run(hsi, x)
            backend_seconds, calls = time.perf_counter() - t0, 1
            if logits.ndim != 4 or logits.shape[0] != size or logits.shape[2:] != (th, tw):
                raise RuntimeInputError(f"backend output: got shape {logits.shape}, expected ({size}, classes, {th}, {tw})")
            for slot, index in enumerate(kept):
                outputs[index] = logits[slot]
        return BatchOutput(list(batch), outputs, [valid for _, _, valid in inputs], read_seconds, backend_seconds, calls)

    def map(self, batches: Iterable[Sequence[Tile]]) -> Iterator[BatchOutput]:
        for batch in batches:
            yield self.run(batch)


class BlockSink(ABC):
    """Receives a scene's blended per-pixel outputs block by block, top to bottom.

    ``begin`` once (scene size, channel count, georeference), ``write`` for each block of finished rows
    (outputs (K, h, W) float32, NaN where ``valid`` (h, W) is False), then ``finish`` (returns summary
    entries) or, on failure, ``abort``. Class products are one kind of sink; an image-valued model writes
    its own kind without touching tiling, streaming or nodata."""

    def begin(self, height: int, width: int, channels: int, georef=None) -> None:
        """Called once before the first block."""

    @abstractmethod
    def write(self, row: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        """Rows ``row .. row + h``."""

    def finish(self) -> dict:
        """After the last block; summary entries for the scene's JSON."""
        return {}

    def abort(self) -> None:
        """Drop whatever was written (a failure happened)."""


@dataclass
class StreamStats:
    """What a streamed scene took: tiles (run and skipped), batches, model calls, seconds by stage, the
    blending band's largest size, and pixel counts."""

    tiles: int = 0
    skipped_tiles: int = 0
    batches: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    backend_seconds: float = 0.0
    write_seconds: float = 0.0
    band_bytes: int = 0
    pixels: int = 0
    valid_pixels: int = 0
    timing: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"tiles": self.tiles, "skipped_tiles": self.skipped_tiles, "batches": self.batches,
                "model_calls": self.model_calls, "pixels": self.pixels, "valid_pixels": self.valid_pixels,
                "nodata_pixels": self.pixels - self.valid_pixels,
                "timing": {"inference_seconds": self.seconds, "read_seconds": self.read_seconds,
                           "backend_seconds": self.backend_seconds, "write_seconds": self.write_seconds,
                           "tiles_per_second": (self.tiles - self.skipped_tiles) / self.seconds if self.seconds else 0.0},
                "blending_band_bytes": self.band_bytes}


def stream(plan: TilePlan, outputs: Iterable[BatchOutput], sinks: Sequence[BlockSink], georef=None,
           channels: int | None = None, progress: ProgressCallback | None = None) -> StreamStats:
    """Blend the runner's ``outputs`` (one per batch of ``plan``, in order) and hand finished rows to ``sinks``.

    ``channels`` is the output channel count when known in advance (needed for a scene with no valid pixel).
    """
    start = time.perf_counter()
    band = BlendingBand(plan.height, plan.width, channels)
    stats = StreamStats(tiles=plan.tiles, pixels=plan.height * plan.width)
    begun = False
    tiles_done = 0
    all_tiles = [tile for batch in plan.batches for tile in batch]

    def hand_on(end: int) -> None:
        nonlocal begun
        finished = band.pop(end)
        if finished is None:
            return
        row, blended, valid = finished
        t0 = time.perf_counter()
        if not begun:
            for sink in sinks:
                sink.begin(plan.height, plan.width, band.channels, georef)
            begun = True
        for sink in sinks:
            sink.write(row, blended, valid)
        stats.write_seconds += time.perf_counter() - t0
        stats.valid_pixels += int(valid.sum())

    for output in outputs:
        for tile, values, valid in zip(output.tiles, output.outputs, output.valid):
            band.add(tile, values, plan.grid.window(tile), valid)
            stats.skipped_tiles += values is None
        tiles_done += len(output.tiles)
        stats.batches += 1
        stats.model_calls += output.model_calls
        stats.read_seconds += output.read_seconds
        stats.backend_seconds += output.backend_seconds
        stats.band_bytes = max(stats.band_bytes, band.nbytes)
        next_top = all_tiles[tiles_done].top if tiles_done < len(all_tiles) else plan.height
        hand_on(next_top)
        if progress is not None:
            progress(tiles_done, plan.tiles)
    if tiles_done != plan.tiles:
        raise RuntimeInputError(f"runner: got outputs for {tiles_done} tiles, expected {plan.tiles}")
    if band.channels is None:
        raise RuntimeInputError("scene: every pixel is nodata and the model does not say how many classes it has, "
                                "expected at least one valid pixel")
    hand_on(plan.height)
    stats.seconds = time.perf_counter() - start
    return stats
