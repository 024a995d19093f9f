"""Streaming whole-scene inference: window reader -> tile batches -> blended block writer.

    plan = TilePlan.for_scene(height, width, tile=(th, tw), overlap, batch, margin, floor, static_tile,
                              strip_width=STRIP_WIDTH)
    runner = LocalTileRunner(backend, source, plan)           # reads, fills nodata, runs the model
    stats = stream(plan, runner.map(plan.batches), sinks)     # blends and hands finished blocks to the sinks

The plan fixes the tiles and how they are batched (the same batches whoever runs them, so a cluster run
gives the same numbers as a local one). A batch holds tiles of one tile row of one strip, never two rows: a
tile's logits depend on its batch's size at the last bit (ONNX Runtime 1.32, 2 threads: a 3-D Conv takes
another algorithm at batch 1, 4e-7 apart), so the line stream (:mod:`comix.runtime.line_stream`), which
runs a row as soon as its lines are in, can run exactly these batches and give exactly these classes. A
runner turns each batch into a :class:`BatchOutput`; tiles with
no valid pixel are skipped (no model call). :func:`stream` adds the outputs into a
:class:`~comix.runtime.blending.BlendingBand` and, as soon as rows are final, passes them to every
:class:`BlockSink`.

Strips: a scene wider than ``strip_width`` is planned as vertical strips, each finishing its own columns
top to bottom (strip edges on multiples of the products' GeoTIFF tile, where as few tile columns as
possible straddle them). A strip runs every tile that reaches into its columns, so the one or two tile
columns across a strip edge are run once for each side, and every pixel is blended from exactly the tiles
of the grid that cover it, in the same order as without strips: the numbers are those of one whole-width
band. Peak memory is one batch of tiles plus one strip's band (about a tile height by the strip width),
whatever the scene's width and height.
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
NODATA_BLOCK_ROWS = (
    256  # rows per block when writing the all-nodata rows held back until K is known
)


@dataclass(frozen=True)
class Strip:
    """Columns ``left .. right`` of a scene, finished by the next ``tiles`` planned tiles."""

    left: int
    right: int
    tiles: int


@dataclass
class TilePlan:
    """The tiles of a ``height x width`` scene (:class:`TileGrid`) in the order they run: strip by strip
    (:class:`Strip`, one for the whole width unless planned in strips), row-major within a strip, cut into
    batches of at most ``batch`` tiles of one tile row of one strip (see the module doc)."""

    height: int
    width: int
    grid: TileGrid
    batches: list[list[Tile]]
    strips: list[Strip] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.strips:
            self.strips = [Strip(0, self.width, sum(len(batch) for batch in self.batches))]

    @classmethod
    def for_scene(
        cls,
        height: int,
        width: int,
        tile: tuple[int, int],
        overlap: int,
        batch: int,
        margin: int | None = None,
        floor: float = DEFAULT_FLOOR,
        static_tile: bool = False,
        strip_width: int | None = None,
        strip_align: int = 1,
    ) -> TilePlan:
        """A dynamic-shape model gets tiles of at most the scene size; a static one always its ``tile`` (a
        smaller scene is edge-padded). ``strip_width`` (None: one strip): plan vertical strips of at most
        that many columns (at least a tile), their edges on multiples of ``strip_align``."""
        th, tw = tile if static_tile else (min(tile[0], height), min(tile[1], width))
        grid = TileGrid(height, width, th, tw, min(overlap, max(0, min(th, tw) - 1)), margin, floor)
        edges = strip_edges(grid, strip_width, strip_align) if strip_width else [0, width]
        batches, strips = [], []
        for left, right in zip(edges[:-1], edges[1:]):
            columns = [
                c for c in grid.cols if c < right and c + tw > left
            ]  # every tile reaching into the strip
            for top in grid.rows:
                row = [Tile(top, c) for c in columns]
                batches += [row[i : i + batch] for i in range(0, len(row), batch)]
            strips.append(Strip(left, right, len(grid.rows) * len(columns)))
        return cls(height, width, grid, batches, strips)

    @property
    def tile(self) -> tuple[int, int]:
        return self.grid.tile_h, self.grid.tile_w

    @property
    def tiles(self) -> int:
        """Tile runs planned: the grid's tiles plus those run again across strip edges."""
        return sum(strip.tiles for strip in self.strips)


def strip_edges(grid: TileGrid, strip_width: int, align: int = 1) -> list[int]:
    """Column edges ``[0, e1, ..., width]`` of strips at most ``strip_width`` wide (at least one tile, rounded
    down to ``align``). Each inner edge is a multiple of ``align`` in the second half of its strip, chosen
    where the fewest tile columns straddle it (each straddling tile column runs twice), the rightmost of
    those."""
    width, tw = grid.width, grid.tile_w
    if align < 1 or strip_width < 1:
        raise RuntimeInputError(
            f"strips: got width {strip_width} and alignment {align}, expected both >= 1"
        )
    widest = max(strip_width // align * align, -(-tw // align) * align)
    starts = np.asarray(grid.cols)
    edges = [0]
    while width - edges[-1] > widest:
        left = edges[-1]
        candidates = np.arange(left + widest, left + max(widest // 2, align) - 1, -align)
        candidates = candidates[candidates > left]
        straddling = [int(((starts < edge) & (starts + tw > edge)).sum()) for edge in candidates]
        edges.append(
            int(candidates[int(np.argmin(straddling))])
        )  # argmin: the first (rightmost) of the fewest
    edges.append(width)
    return edges


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

    def __init__(
        self, backend: Backend, source: SceneSource, plan: TilePlan, nodata_fill: str = NODATA_FILL
    ) -> None:
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
            if size == 1:  # one tile: its own arrays, not a copy (a stream's tile can be 100 MB)
                hsi, x = inputs[kept[0]][0][None], inputs[kept[0]][1][None]
            else:
                bands, channels = inputs[kept[0]][0].shape[0], inputs[kept[0]][1].shape[0]
                hsi = np.zeros((size, bands, th, tw), dtype=np.float32)
                x = np.zeros((size, channels, th, tw), dtype=np.float32)
                for slot, index in enumerate(kept):
                    hsi[slot], x[slot] = inputs[index][0], inputs[index][1]
            t0 = time.perf_counter()
            logits = self.backend.run(hsi, x)
            backend_seconds, calls = time.perf_counter() - t0, 1
            if logits.ndim != 4 or logits.shape[0] != size or logits.shape[2:] != (th, tw):
                raise RuntimeInputError(
                    f"backend output: got shape {logits.shape}, expected ({size}, classes, {th}, {tw})"
                )
            for slot, index in enumerate(kept):
                outputs[index] = logits[slot]
        return BatchOutput(
            list(batch),
            outputs,
            [valid for _, _, valid in inputs],
            read_seconds,
            backend_seconds,
            calls,
        )

    def map(self, batches: Iterable[Sequence[Tile]]) -> Iterator[BatchOutput]:
        for batch in batches:
            yield self.run(batch)


class BlockSink(ABC):
    """Receives a scene's blended per-pixel outputs block by block.

    ``begin`` once (scene size, channel count, georeference), then a block of finished pixels at a time
    (outputs (K, h, w) float32, NaN where ``valid`` (h, w) is False), then ``finish`` (returns summary
    entries) or, on failure, ``abort``. Class products are one kind of sink; an image-valued model writes
    its own kind without touching tiling, streaming or nodata.

    A sink that sets ``column_blocks = True`` takes blocks narrower than the scene through
    :meth:`write_block` (strip by strip, top to bottom in each strip), and the scene is planned in strips so
    memory does not grow with its width. Otherwise the scene runs as one strip and every block is whole
    rows, top to bottom, through :meth:`write`."""

    column_blocks = False

    def begin(self, height: int, width: int, channels: int, georef=None) -> None:  # noqa: B027
        """Called once before the first block (optional hook)."""

    @abstractmethod
    def write(self, row: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        """Rows ``row .. row + h``, whole width."""

    def write_block(self, row: int, col: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        """Rows ``row .. row + h``, columns ``col .. col + w``. What the engine calls; a sink with
        ``column_blocks`` overrides it (and may implement :meth:`write` as ``write_block(row, 0, ...)``)."""
        if col != 0:
            raise RuntimeInputError(
                f"{type(self).__name__}: got a block at column {col}, expected whole rows "
                "(this sink does not set column_blocks)"
            )
        self.write(row, outputs, valid)

    def finish(self) -> dict:
        """After the last block; summary entries for the scene's JSON."""
        return {}

    def abort(self) -> None:  # noqa: B027
        """Drop whatever was written (a failure happened; optional hook)."""


@dataclass
class StreamStats:
    """What a streamed scene took: tile runs (skipped ones included), strips and the tile runs their edges
    added, batches, model calls, seconds by stage, the blending band's largest size, and pixel counts."""

    tiles: int = 0
    strips: int = 1
    boundary_tiles: int = 0
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
        return {
            "tiles": self.tiles,
            "strips": self.strips,
            "boundary_tiles": self.boundary_tiles,
            "skipped_tiles": self.skipped_tiles,
            "batches": self.batches,
            "model_calls": self.model_calls,
            "pixels": self.pixels,
            "valid_pixels": self.valid_pixels,
            "nodata_pixels": self.pixels - self.valid_pixels,
            "timing": {
                "inference_seconds": self.seconds,
                "read_seconds": self.read_seconds,
                "backend_seconds": self.backend_seconds,
                "write_seconds": self.write_seconds,
                "tiles_per_second": (self.tiles - self.skipped_tiles) / self.seconds
                if self.seconds
                else 0.0,
            },
            "blending_band_bytes": self.band_bytes,
        }


def stream(
    plan: TilePlan,
    outputs: Iterable[BatchOutput],
    sinks: Sequence[BlockSink],
    georef=None,
    channels: int | None = None,
    progress: ProgressCallback | None = None,
) -> StreamStats:
    """Blend the runner's ``outputs`` (one per batch of ``plan``, in order) and hand finished blocks to
    ``sinks``.

    ``channels`` is the output channel count when known in advance (needed for a scene with no valid pixel).
    A plan in several strips needs sinks that take column blocks (:attr:`BlockSink.column_blocks`).
    """
    start = time.perf_counter()
    narrow = [type(sink).__name__ for sink in sinks if not sink.column_blocks]
    if len(plan.strips) > 1 and narrow:
        raise RuntimeInputError(
            f"streaming: got a plan in {len(plan.strips)} strips and sinks {narrow} that take "
            "whole rows only, expected a one-strip plan for them"
        )
    stats = StreamStats(
        tiles=plan.tiles,
        strips=len(plan.strips),
        boundary_tiles=plan.tiles - len(plan.grid),
        pixels=plan.height * plan.width,
    )
    scheduled = [tile for batch in plan.batches for tile in batch]
    strip_of = [index for index, strip in enumerate(plan.strips) for _ in range(strip.tiles)]
    if len(scheduled) != len(strip_of):
        raise RuntimeInputError(
            f"tile plan: got {len(scheduled)} tiles in batches, expected {len(strip_of)} "
            "as its strips count"
        )
    unknown: list[
        tuple[int, int, tuple[int, int]]
    ] = []  # (row, col, (h, w)): all-nodata blocks finished before K
    begun = False
    tiles_done = 0

    def band_for(index: int) -> BlendingBand:
        strip = plan.strips[index]
        return BlendingBand(plan.height, plan.width, channels, columns=(strip.left, strip.right))

    def deliver(row: int, col: int, blended: np.ndarray, valid: np.ndarray) -> None:
        nonlocal begun
        t0 = time.perf_counter()
        if not begun:
            for sink in sinks:
                sink.begin(plan.height, plan.width, blended.shape[0], georef)
            begun = True
        for sink in sinks:
            sink.write_block(row, col, blended, valid)
        stats.write_seconds += time.perf_counter() - t0
        stats.valid_pixels += int(valid.sum())

    def hand_on(band: BlendingBand, end: int) -> None:
        finished = band.pop(end)
        if finished is None:
            return
        row, blended, valid = finished
        if blended is None:  # no tile has run yet: these rows are nodata, written once K is known
            unknown.append((row, band.left, valid.shape))
            return
        for old_row, old_col, (rows, cols) in unknown:
            for first in range(old_row, old_row + rows, NODATA_BLOCK_ROWS):
                shape = (min(NODATA_BLOCK_ROWS, old_row + rows - first), cols)
                deliver(
                    first,
                    old_col,
                    np.full((blended.shape[0], *shape), np.nan, np.float32),
                    np.zeros(shape, bool),
                )
        unknown.clear()
        deliver(row, band.left, blended, valid)

    band = band_for(0)
    for output in outputs:
        for tile, values, valid in zip(output.tiles, output.outputs, output.valid):
            if tiles_done >= len(scheduled):
                raise RuntimeInputError(
                    f"runner: got outputs for more tiles than the {plan.tiles} planned"
                )
            band.add(tile, values, plan.grid.window(tile), valid)
            channels = channels if channels is not None else band.channels
            stats.skipped_tiles += values is None
            tiles_done += 1
            stats.band_bytes = max(stats.band_bytes, band.nbytes)
            if tiles_done < len(scheduled) and strip_of[tiles_done] != strip_of[tiles_done - 1]:
                hand_on(band, plan.height)  # the strip is done; the next one starts with a new band
                band = band_for(strip_of[tiles_done])
        stats.batches += 1
        stats.model_calls += output.model_calls
        stats.read_seconds += output.read_seconds
        stats.backend_seconds += output.backend_seconds
        if tiles_done < len(scheduled):
            hand_on(band, scheduled[tiles_done].top)
        if progress is not None:
            progress(tiles_done, plan.tiles)
    if tiles_done != plan.tiles:
        raise RuntimeInputError(
            f"runner: got outputs for {tiles_done} tiles, expected {plan.tiles}"
        )
    if band.channels is None and channels is None:
        raise RuntimeInputError(
            "scene: every pixel is nodata and the model does not say how many classes it has, "
            "expected at least one valid pixel"
        )
    hand_on(band, plan.height)
    stats.seconds = time.perf_counter() - start
    return stats
