"""Pushbroom line streaming: BIL lines in, class lines out as soon as they are final — the classes of
``comix infer`` on the same scene written as a file.

    segmenter = LineSegmenter(backend, LineFormat(bands=192, x_channels=1, width=600), tile=(256, 600))
    for record in records:                          # one line: (bands + C) x W float32, band-interleaved
        for done in segmenter.push_record(record):  # finished lines, in order, possibly none
            send(done.first, done.classes)          # (n, W) uint8 label values 1..K, 0 = nodata
    for done in segmenter.finish():                 # the end of the pass: the last lines
        send(done.first, done.classes)
    segmenter.stats.as_dict()

A pushbroom's pass has no known length until it ends, and ``comix infer`` plans a scene of known height
(:class:`~comix.runtime.streaming.TilePlan`). The segmenter gives the same classes on every line, with the
same tile, overlap, batch, threads, nodata values and fill, by running infer's own pieces, not a copy:

* Tile rows start every ``stride`` lines (tile height minus overlap) in a plan of any height, and the last
  row is moved back to end at the scene's last line. So a regular row is known, with the same columns and
  batches, once its lines are in; its blending window depends only on whether it is the first row and
  whether it is the last. A row is run (batches cut by the plan of a short probe scene in which it is a
  first or an inner row, windows from that plan's grid) as soon as the line after its last one arrives:
  then it cannot be the last.
* When the pass ends at ``H`` lines, the rows the plan of ``H`` lines has beyond those (the last regular
  row, or the row moved back) run from that plan itself; a pass shorter than a tile runs that whole plan
  (a dynamic model gets a tile of the pass's height, as ``comix infer`` gives it).
* Tiles are read, nodata-filled and batched by :class:`~comix.runtime.streaming.LocalTileRunner` (batches
  never span two tile rows: see :mod:`comix.runtime.streaming`), blended by
  :class:`~comix.runtime.blending.BlendingBand` (one per strip of the plan, tiles added in the plan's
  order), and turned into classes by :func:`~comix.runtime.sliding_window.label_raster`.

A line is final once the line a tile height after it is in (no later row reaches it): it comes out of the
``push`` that brings that line, after at most one row of tiles has run. Memory is fixed at start: the line
buffer holds two tile heights of lines, the bands about a tile height plus a stride, one row's tiles are
in flight; nothing grows with the number of lines (``stats.buffer_bytes``).

Tiles of one row can run in parallel on several backends (``workers``: more sessions of the same model,
each with its own threads); the numbers are those of one backend with the same threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue

import numpy as np

from comix.data.windowed import ArrayRaster
from comix.errors import FailedError
from comix.runtime.backend import Backend
from comix.runtime.blending import BlendingBand
from comix.runtime.defaults import NODATA_FILL, STRIP_WIDTH
from comix.runtime.errors import RuntimeInputError
from comix.runtime.scene_source import SceneSource
from comix.runtime.sliding_window import NODATA_LABEL, SlidingWindow, label_raster
from comix.runtime.streaming import BatchOutput, LocalTileRunner, TilePlan
from comix.runtime.tiling import DEFAULT_FLOOR, Tile
from comix.tasks import SEGMENTATION, require_task

UNENDED = 2**62  # the height of a band whose pass has not ended: no tile is cropped at its bottom
MAX_CLASSES = 254  # one uint8 per pixel, 0 = nodata


@dataclass(frozen=True)
class LineFormat:
    """One BIL line: ``bands`` x ``width`` float32 HSI samples (band 0's ``width`` samples, then band 1's,
    ...), then ``x_channels`` x ``width`` float32 X samples; little-endian, no header."""

    bands: int
    x_channels: int
    width: int

    def __post_init__(self) -> None:
        for name, value in (
            ("--bands", self.bands),
            ("--x-channels", self.x_channels),
            ("--width", self.width),
        ):
            if not isinstance(value, int) or value < 1:
                raise RuntimeInputError(f"line format {name}: got {value!r}, expected >= 1")

    @property
    def channels(self) -> int:
        return self.bands + self.x_channels

    @property
    def values(self) -> int:
        """float32 values per line."""
        return self.channels * self.width

    @property
    def nbytes(self) -> int:
        return 4 * self.values

    def describe(self) -> str:
        return (
            f"{self.nbytes} bytes: ({self.bands} bands + {self.x_channels} X channel"
            f"{'s' if self.x_channels != 1 else ''}) x {self.width} px x 4 bytes"
        )


@dataclass(frozen=True)
class FinishedLines:
    """Lines ``first .. first + n`` of the pass: ``classes`` (n, W) uint8, label values 1..K, 0 = nodata."""

    first: int
    classes: np.ndarray

    @property
    def count(self) -> int:
        return self.classes.shape[0]


@dataclass
class LineStreamStats:
    """What a pass took: lines in and out, tile runs (skipped all-nodata ones included) in tile rows, model
    calls, lines and pixels without data, seconds reading tiles and in the model, and the largest memory the
    buffers held (line buffer + bands + one row of tiles in flight)."""

    lines_in: int = 0
    lines_out: int = 0
    tile_rows: int = 0
    tiles: int = 0
    skipped_tiles: int = 0
    model_calls: int = 0
    nodata_lines: int = 0
    nodata_pixels: int = 0
    read_seconds: float = 0.0
    backend_seconds: float = 0.0
    row_seconds: float = 0.0
    slowest_row_seconds: float = 0.0
    line_buffer_bytes: int = 0
    band_bytes: int = 0
    row_bytes: int = 0

    @property
    def buffer_bytes(self) -> int:
        return self.line_buffer_bytes + self.band_bytes + self.row_bytes

    def as_dict(self) -> dict:
        return {
            "lines_in": self.lines_in,
            "lines_out": self.lines_out,
            "tile_rows": self.tile_rows,
            "tiles": self.tiles,
            "skipped_tiles": self.skipped_tiles,
            "model_calls": self.model_calls,
            "nodata_lines": self.nodata_lines,
            "nodata_pixels": self.nodata_pixels,
            "timing": {
                "read_seconds": self.read_seconds,
                "backend_seconds": self.backend_seconds,
                "row_seconds": self.row_seconds,
                "slowest_row_seconds": self.slowest_row_seconds,
            },
            "memory": {
                "line_buffer_bytes": self.line_buffer_bytes,
                "band_bytes": self.band_bytes,
                "row_bytes": self.row_bytes,
                "buffer_bytes": self.buffer_bytes,
            },
        }


RowBatches = list[tuple[int, list[Tile]]]  # (strip index, tiles of one batch), in the plan's order


def row_batches(plan: TilePlan, top: int) -> RowBatches:
    """The batches of ``plan`` that hold tile row ``top``, each with the index of its strip."""
    found, start = [], 0
    bounds = np.cumsum([strip.tiles for strip in plan.strips])
    for batch in plan.batches:
        if batch[0].top == top:
            found.append((int(np.searchsorted(bounds, start, side="right")), list(batch)))
        start += len(batch)
    return found


class LineSegmenter:
    """Segment a pass line by line (see the module doc). ``tile``/``overlap``/``batch``/``margin``/``floor``/
    ``nodata_fill`` as for :class:`~comix.runtime.sliding_window.SlidingWindow`; ``nodata`` (and ``x_nodata``,
    default ``nodata``) a value that means no data, as ``comix infer --nodata`` (NaN / Inf always do);
    ``workers`` more backends of the same model to run the batches of a row in parallel."""

    def __init__(
        self,
        backend: Backend,
        line: LineFormat,
        *,
        tile: tuple[int, int] | int | None = None,
        overlap: int | None = None,
        batch: int | None = None,
        margin: int | None = None,
        floor: float = DEFAULT_FLOOR,
        nodata: float | None = None,
        x_nodata: float | None = None,
        nodata_fill: str = NODATA_FILL,
        workers: Sequence[Backend] = (),
        strip_width: int | None = STRIP_WIDTH,
    ) -> None:
        info = backend.info
        require_task(info.task, SEGMENTATION, info.name or "model", "comix stream")
        backend.check_shapes((line.bands, 1, line.width), (line.x_channels, 1, line.width))
        self._check_classes(info.classes)
        self.window = SlidingWindow(
            backend,
            tile=tile,
            overlap=overlap,
            batch=batch,
            margin=margin,
            floor=floor,
            nodata_fill=nodata_fill,
            strip_width=strip_width,
        )
        self.line, self.nodata = line, (nodata, nodata if x_nodata is None else x_nodata)
        self.backends = [backend, *workers]
        one_row = self.window.plan(self.window.tile[0], line.width)
        self.tile_h = one_row.tile[0]
        self.stride = self.tile_h - one_row.grid.overlap
        # a pass in which row 0 is a first row and row `stride` an inner one, neither the last
        self.probe = self.window.plan(self.tile_h + self.stride + 1, line.width)
        self.templates = {top: row_batches(self.probe, top) for top in (0, self.stride)}
        # lines held band-first, (C, lines, W), so a tile's window reads as one contiguous copy
        held = 2 * (self.tile_h + 1)
        self.hsi = np.empty((line.bands, held, line.width), np.float32)
        self.x = np.empty((line.x_channels, held, line.width), np.float32)
        for buffer in (self.hsi, self.x):  # touch every page now, not while the first lines arrive
            buffer.fill(0)
        self.base = 0  # the pass's line held first in the buffers
        self.bands = [
            BlendingBand(UNENDED, line.width, info.classes, columns=(strip.left, strip.right))
            for strip in self.probe.strips
        ]
        self.rows_run: list[int] = []  # tops of the regular rows run so far (the last few)
        self.next_top = 0  # the next regular row
        self.emitted = 0
        self.finished = False
        self.stats = LineStreamStats(line_buffer_bytes=self.hsi.nbytes + self.x.nbytes)
        self.pool = (
            ThreadPoolExecutor(len(self.backends), thread_name_prefix="comix-tiles")
            if len(self.backends) > 1
            else None
        )

    @staticmethod
    def _check_classes(classes: int | None) -> None:
        if classes is not None and classes > MAX_CLASSES:
            raise RuntimeInputError(
                f"model: got {classes} classes, expected at most {MAX_CLASSES} (a line stream writes one "
                "uint8 per pixel, 0 = nodata)"
            )

    # ------------------------------------------------------------------------------------------- lines in
    def push(self, hsi: np.ndarray, x: np.ndarray) -> list[FinishedLines]:
        """One line: ``hsi`` (bands, W) and ``x`` (C, W) raw values. Returns the lines it finished."""
        line = self.line
        for label, array, expected in (
            ("HSI", hsi, (line.bands, line.width)),
            ("X", x, (line.x_channels, line.width)),
        ):
            if np.shape(array) != expected:
                raise RuntimeInputError(
                    f"line {self.stats.lines_in}: got {label} shape {np.shape(array)}, expected {expected}"
                )
        slot = self._slot()
        self.hsi[:, slot] = hsi
        self.x[:, slot] = x
        return self._advance()

    def push_record(
        self, record: bytes | bytearray | memoryview | np.ndarray
    ) -> list[FinishedLines]:
        """One BIL line as it arrives (bytes: little-endian float32; or an array of
        :attr:`LineFormat.values` floats). Returns the lines it finished."""
        values = (
            np.asarray(record, dtype=np.float32)
            if isinstance(record, np.ndarray)
            else np.frombuffer(record, dtype="<f4")
        )
        if values.size != self.line.values:
            raise RuntimeInputError(
                f"line {self.stats.lines_in}: got {values.size * 4} bytes, expected {self.line.describe()}"
            )
        values = values.reshape(self.line.channels, self.line.width)
        slot = self._slot()
        self.hsi[:, slot] = values[: self.line.bands]
        self.x[:, slot] = values[self.line.bands :]
        return self._advance()

    def _slot(self) -> int:
        if self.finished:
            raise RuntimeInputError("line stream: got a line after finish(), expected none")
        held = self.stats.lines_in - self.base
        if held == self.hsi.shape[1]:  # keep the last tile height of lines: all a row still needs
            keep = self.tile_h
            for buffer in (self.hsi, self.x):
                buffer[:, :keep] = buffer[:, held - keep : held]
            self.base += held - keep
            held = keep
        return held

    def _advance(self) -> list[FinishedLines]:
        self.stats.lines_in += 1
        lines = self.stats.lines_in
        # the line after the next row's last one: its lines are in, and it is not the pass's last row
        if lines == self.next_top + self.tile_h + 1:
            top = self.next_top
            template = self.templates[0 if top == 0 else self.stride]
            probe_top = template[0][1][0].top
            self._run_row(
                top,
                self.tile_h,
                self.probe,
                [(strip, [Tile(top, t.left) for t in tiles]) for strip, tiles in template],
                lambda tile: self.probe.grid.window(Tile(probe_top, tile.left)),
            )
            self.rows_run = [*self.rows_run[-1:], top]
            self.next_top += self.stride
        if lines <= self.tile_h:
            return []
        return self._pop(min(self.next_top, lines - self.tile_h))

    # ----------------------------------------------------------------------------------------- the end
    def finish(self) -> list[FinishedLines]:
        """The pass has ended: run its last rows as ``comix infer`` plans them, return the remaining lines."""
        if self.finished:
            return []
        self.finished = True
        try:
            return self._finish()
        finally:
            self.close()

    def _finish(self) -> list[FinishedLines]:
        height = self.stats.lines_in
        if height == 0:
            raise RuntimeInputError("line stream: got no line, expected at least one")
        plan = self.window.plan(height, self.line.width)  # exactly infer's plan for this pass
        last = self.rows_run[-1] if self.rows_run else -1
        done = [top for top in plan.grid.rows if top <= last]
        if done[-2:] != self.rows_run or (self.rows_run and plan.tile != self.probe.tile):
            raise FailedError(
                f"line stream: ran tile rows ..{self.rows_run} of {self.probe.tile} tiles but the plan of "
                f"{height} lines has rows ..{done[-2:]} of {plan.tile} tiles; this is a bug"
            )
        for band in self.bands:  # tiles of a pass shorter than a static tile are cropped at its end
            band.height = height
        for top in plan.grid.rows[len(done) :]:
            self._run_row(top, height - top, plan, row_batches(plan, top), plan.grid.window)
        return self._pop(height)

    def close(self) -> None:
        """Release the worker threads (``finish`` does)."""
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def __enter__(self) -> LineSegmenter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ one row
    def _block(self, first: int, rows: int) -> SceneSource:
        """Lines ``first .. first + rows`` of the buffer as a scene (views, no copy), nodata as infer's."""
        start = first - self.base
        if start < 0 or start + rows > self.stats.lines_in - self.base:
            raise FailedError(
                f"line stream: lines {first}..{first + rows} are not in the buffer; this is a bug"
            )
        lines = slice(start, start + rows)
        hsi = ArrayRaster(self.hsi[:, lines], "CHW")
        x = ArrayRaster(self.x[:, lines], "CHW")
        hsi.add_nodata(self.nodata[0], "--nodata")
        x.add_nodata(self.nodata[1], "--x-nodata")
        return SceneSource(hsi, x)

    def _run_row(
        self,
        first: int,
        rows: int,
        plan: TilePlan,
        batches: RowBatches,
        window: Callable[[Tile], np.ndarray],
    ) -> None:
        """Run ``batches`` of ``plan`` (tiles in pass coordinates, of one row starting at line ``first``) on
        lines ``first .. first + rows``, windows from ``window``, and blend them."""
        start = time.perf_counter()
        source = self._block(first, rows)
        runners: SimpleQueue[LocalTileRunner] = SimpleQueue()
        for backend in self.backends:
            runners.put(LocalTileRunner(backend, source, plan, self.window.nodata_fill))

        def run(tiles: list[Tile]) -> BatchOutput:
            runner = runners.get()
            try:
                return runner.run([Tile(t.top - first, t.left) for t in tiles])
            finally:
                runners.put(runner)

        work = [tiles for _, tiles in batches]
        outputs = list(self.pool.map(run, work)) if self.pool else [run(t) for t in work]
        for (strip, tiles), output in zip(batches, outputs):
            for tile, values, valid in zip(tiles, output.outputs, output.valid):
                if values is not None:
                    self._check_classes(values.shape[0])
                self.bands[strip].add(tile, values, window(tile), valid)
                self.stats.skipped_tiles += values is None
            self.stats.tiles += len(tiles)
            self.stats.model_calls += output.model_calls
            self.stats.read_seconds += output.read_seconds
            self.stats.backend_seconds += output.backend_seconds
        self.stats.tile_rows += 1
        self.stats.row_bytes = max(self.stats.row_bytes, self._row_bytes(plan, work, outputs))
        self.stats.band_bytes = max(self.stats.band_bytes, sum(band.nbytes for band in self.bands))
        seconds = time.perf_counter() - start
        self.stats.row_seconds += seconds
        self.stats.slowest_row_seconds = max(self.stats.slowest_row_seconds, seconds)

    def _row_bytes(self, plan: TilePlan, work: list[list[Tile]], outputs: list[BatchOutput]) -> int:
        """What one row had in flight: the inputs of as many batches as run at once (each tile read, and
        copied into a batch when it has more than one), and every output until it was blended."""
        th, tw = plan.tile
        tile_bytes = 4 * self.line.channels * th * tw + th * tw
        inputs = sorted(
            (len(tiles) * tile_bytes * (1 if len(tiles) == 1 else 2) for tiles in work),
            reverse=True,
        )
        kept = sum(v.nbytes for output in outputs for v in output.outputs if v is not None)
        return sum(inputs[: len(self.backends)]) + kept

    # --------------------------------------------------------------------------------------- lines out
    def _pop(self, end: int) -> list[FinishedLines]:
        if end <= self.emitted:
            return []
        count = end - self.emitted
        classes = np.full((count, self.line.width), NODATA_LABEL, np.uint8)
        valid_pixels = np.zeros(count, np.int64)
        for band in self.bands:
            popped = band.pop(end)
            if popped is None:
                continue
            _, blended, valid = popped
            valid_pixels += valid.sum(axis=1)
            if blended is not None:  # None: no tile has run yet, every pixel so far is nodata
                classes[:, band.left : band.right] = label_raster(blended, valid=valid)
        finished = FinishedLines(self.emitted, classes)
        self.emitted = end
        self.stats.lines_out += count
        self.stats.nodata_lines += int((valid_pixels == 0).sum())
        self.stats.nodata_pixels += int(count * self.line.width - valid_pixels.sum())
        return [finished]
