"""Drive a :class:`~comix.runtime.line_stream.LineSegmenter` from a byte stream to a byte stream: what
``comix stream`` runs.

    pump = LinePump(segmenter, line_rate=340.0, progress=show)
    pump.run(sys.stdin.buffer, sys.stdout.buffer)
    pump.report.summary()     # lines in / out, tiles, nodata lines, seconds, lines/s, real-time ratio

A reader thread reads whole lines into a fixed set of buffers and queues them (at most ``depth`` lines,
a tile height by default: enough to cover one row of tiles at the sensor's rate; when the queue is full
the reader waits and the pipe holds the rest, so memory stays bounded). This thread pushes them into the
segmenter while the reader goes on (reading overlaps computing) and writes each finished line (W uint8) and
flushes as soon as it is final.

Nothing is dropped silently. A pass that ends inside a line, or whose input fails, is still finished
with its complete lines (their classes are written), then the pump raises one sentence: a partial last line
is bad input (exit 2), a read error is not (exit 1); a reader that closes the output pipe, or an output
that fails, stops the pass with one sentence naming how many lines were delivered (exit 1).

The real-time figures: ``lines/s`` is lines out per wall-clock second; the pump's *busy* time is the wall
time less what it spent waiting for input, so ``lines / busy`` is the rate the pass could have kept, and
``real-time ratio = (lines / busy) / line_rate`` (above 1: faster than the sensor). Latency is measured per
line, from the reader having the whole line to its classes being written.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Queue
from typing import BinaryIO

import numpy as np

from comix.errors import FailedError
from comix.runtime.errors import RuntimeInputError
from comix.runtime.line_stream import FinishedLines, LineFormat, LineSegmenter, LineStreamStats


class TruncatedLine(RuntimeInputError):
    """The input ended inside a line."""


class InputFailed(FailedError):
    """Reading the input failed."""


class OutputFailed(FailedError):
    """The classes could not be written (the reader closed the pipe, the disk is full)."""


@dataclass
class PumpReport:
    """A pass as the pump saw it; see the module doc for the real-time figures."""

    stats: LineStreamStats
    line_rate: float | None = None
    seconds: float = 0.0
    waiting_seconds: float = 0.0
    latency_max_seconds: float = 0.0
    latency_sum_seconds: float = 0.0
    backlog_max_lines: int = 0
    input_stalls: int = 0  # the reader found the queue full and waited (the sensor's pipe filled)
    events: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def busy_seconds(self) -> float:
        return max(self.seconds - self.waiting_seconds, 1e-9)

    @property
    def lines_per_second(self) -> float:
        return self.stats.lines_out / self.seconds if self.seconds else 0.0

    @property
    def capacity_lines_per_second(self) -> float:
        return self.stats.lines_out / self.busy_seconds

    @property
    def realtime_ratio(self) -> float | None:
        return self.capacity_lines_per_second / self.line_rate if self.line_rate else None

    @property
    def latency_mean_seconds(self) -> float:
        return self.latency_sum_seconds / self.stats.lines_out if self.stats.lines_out else 0.0

    def as_dict(self) -> dict:
        return {
            **self.stats.as_dict(),
            "seconds": self.seconds,
            "waiting_seconds": self.waiting_seconds,
            "busy_seconds": self.busy_seconds,
            "lines_per_second": self.lines_per_second,
            "capacity_lines_per_second": self.capacity_lines_per_second,
            "line_rate": self.line_rate,
            "realtime_ratio": self.realtime_ratio,
            "latency": {
                "max_seconds": self.latency_max_seconds,
                "mean_seconds": self.latency_mean_seconds,
            },
            "backlog_max_lines": self.backlog_max_lines,
            "input_stalls": self.input_stalls,
            "events": list(self.events),
            "failure": self.failure,
        }

    def summary(self) -> str:
        """The final summary, a few lines of plain text."""
        stats = self.stats
        lines = [
            f"lines: {stats.lines_in} in, {stats.lines_out} out; {stats.nodata_lines} nodata lines, "
            f"{stats.nodata_pixels} nodata pixels",
            f"tiles: {stats.tiles} in {stats.tile_rows} rows ({stats.skipped_tiles} all-nodata skipped), "
            f"{stats.model_calls} model calls",
            f"time: {self.seconds:.2f} s, {self.lines_per_second:.1f} lines/s; "
            f"busy {self.busy_seconds:.2f} s -> {self.capacity_lines_per_second:.1f} lines/s"
            + (
                f" = {self.realtime_ratio:.2f}x real time at {self.line_rate:g} lines/s"
                if self.line_rate
                else ""
            ),
            f"latency: max {self.latency_max_seconds:.3f} s, mean {self.latency_mean_seconds:.3f} s; "
            f"backlog max {self.backlog_max_lines} lines, input stalls {self.input_stalls}; "
            f"buffers {stats.buffer_bytes / 2**20:.1f} MiB",
        ]
        return "\n".join(lines + self.events)


class LineReader(threading.Thread):
    """Reads whole lines from ``source`` into ``depth + 2`` recycled buffers and queues them with the time
    each was complete; then one end marker: ``("end", None)``, ``("partial", bytes read)`` or
    ``("error", OSError)``."""

    def __init__(self, source: BinaryIO, line: LineFormat, depth: int) -> None:
        super().__init__(name="comix-line-reader", daemon=True)
        if depth < 1:
            raise RuntimeInputError(f"line queue: got depth {depth}, expected >= 1")
        self.source, self.line = source, line
        self.lines: Queue[tuple[str, object, float]] = Queue(maxsize=depth)
        self.free: Queue[np.ndarray] = Queue()
        for _ in range(depth + 2):
            self.free.put(np.empty(line.values, dtype="<f4"))
        self.stalls = 0

    def run(self) -> None:
        try:
            while True:
                buffer = self.free.get()
                got = self._fill(memoryview(buffer).cast("B"))
                if got == 0:
                    self._put(("end", None, time.perf_counter()))
                    return
                if got < self.line.nbytes:
                    self._put(("partial", got, time.perf_counter()))
                    return
                self._put(("line", buffer, time.perf_counter()))
        except OSError as error:
            self._put(("error", error, time.perf_counter()))

    def _fill(self, view: memoryview) -> int:
        got = 0
        while got < len(view):
            count = self.source.readinto(view[got:])
            if not count:
                break
            got += count
        return got

    def _put(self, item: tuple[str, object, float]) -> None:
        if self.lines.full():
            self.stalls += 1
        self.lines.put(item)

    def recycle(self, buffer: np.ndarray) -> None:
        self.free.put(buffer)


class LinePump:
    """Streams every line of a source through ``segmenter`` into a sink (see the module doc). ``report`` is
    there whatever happens, so a caller can print the summary of a pass that failed."""

    def __init__(
        self,
        segmenter: LineSegmenter,
        *,
        line_rate: float | None = None,
        depth: int | None = None,
        progress: Callable[[PumpReport], None] | None = None,
        progress_every: float = 1.0,
    ) -> None:
        if line_rate is not None and not line_rate > 0:
            raise RuntimeInputError(f"--line-rate: got {line_rate}, expected > 0 lines per second")
        self.segmenter, self.depth = segmenter, depth or segmenter.tile_h
        self.progress, self.progress_every = progress, progress_every
        self.report = PumpReport(segmenter.stats, line_rate)
        self.arrivals: deque[float] = (
            deque()
        )  # when each line not yet written was complete, in order

    def run(self, source: BinaryIO, sink: BinaryIO) -> PumpReport:
        reader = LineReader(source, self.segmenter.line, self.depth)
        report, segmenter = self.report, self.segmenter
        start = last_progress = time.perf_counter()
        reader.start()
        failure: Exception | None = None
        try:
            while True:
                waited = time.perf_counter()
                kind, item, stamp = reader.lines.get()
                report.waiting_seconds += time.perf_counter() - waited
                report.backlog_max_lines = max(report.backlog_max_lines, reader.lines.qsize() + 1)
                if kind != "line":
                    failure = _ending(kind, item, segmenter)
                    break
                self.arrivals.append(stamp)
                finished = segmenter.push_record(item)
                reader.recycle(item)
                self._deliver(finished, sink)
                if (
                    self.progress is not None
                    and time.perf_counter() - last_progress >= self.progress_every
                ):
                    last_progress = time.perf_counter()
                    report.seconds, report.input_stalls = last_progress - start, reader.stalls
                    self.progress(report)
            if not segmenter.stats.lines_in:
                failure = failure or RuntimeInputError(
                    f"input: got no line, expected at least one of {segmenter.line.describe()}"
                )
            else:
                self._deliver(segmenter.finish(), sink)  # after a partial line or a read error too
        except Exception as error:
            report.failure = str(error)
            raise
        finally:
            segmenter.close()
            report.seconds, report.input_stalls = time.perf_counter() - start, reader.stalls
        if failure is not None:
            report.failure = str(failure)
            raise failure
        return report

    def _deliver(self, finished: list[FinishedLines], sink: BinaryIO) -> None:
        report = self.report
        for block in finished:
            try:
                sink.write(block.classes.tobytes())
                sink.flush()
            except BrokenPipeError:
                raise OutputFailed(
                    f"output: the reader closed the pipe; {block.first} of the "
                    f"{self.segmenter.stats.lines_in} lines read were written, expected it to read to "
                    "the end"
                ) from None
            except OSError as error:
                raise OutputFailed(
                    f"output: writing line {block.first} failed ({error.strerror or error}); the "
                    f"{block.first} lines before it were written"
                ) from None
            now = time.perf_counter()
            for _ in range(block.count):
                latency = now - self.arrivals.popleft()
                report.latency_max_seconds = max(report.latency_max_seconds, latency)
                report.latency_sum_seconds += latency


def pump(segmenter: LineSegmenter, source: BinaryIO, sink: BinaryIO, **options) -> PumpReport:
    """``LinePump(segmenter, **options).run(source, sink)``."""
    return LinePump(segmenter, **options).run(source, sink)


def _ending(kind: str, item: object, segmenter: LineSegmenter) -> Exception | None:
    """The exception (None for a clean end) for the reader's end marker."""
    lines = segmenter.stats.lines_in
    if kind == "partial":
        return TruncatedLine(
            f"input: line {lines} has only {item} bytes, expected {segmenter.line.describe()}; the "
            f"{lines} whole lines before it were streamed, the partial one was dropped"
        )
    if kind == "error":
        error = item
        reason = getattr(error, "strerror", None) or str(error)
        return InputFailed(
            f"input: reading line {lines} failed ({reason}); the {lines} lines before it were streamed"
        )
    return None
