"""``comix stream MODEL --bands B --width W``: pushbroom lines in, class lines out, as they come.

Reads BIL lines (B x W float32 HSI samples band after band, then C x W float32 X samples; little-endian, no
header) from standard input or ``--input FILE|FIFO`` and writes W uint8 class values per line (label values
1..K, 0 = nodata) to standard output or ``--output FILE`` as soon as each line is final; progress and a
summary on standard error. The classes are those of ``comix infer`` on the same scene written as a file, with
the same ``--tile``, ``--overlap``, ``--batch``, ``--threads``, nodata options and model
(:mod:`comix.runtime.line_stream`; the pump: :mod:`comix.runtime.line_pump`). This module parses options,
opens the streams and shows progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from pathlib import Path

import typer

from comix.atomic import temp_beside
from comix.cli.errors import fail
from comix.cli.options import (
    backend_option,
    deadline_option,
    recheck_option,
    redundant_option,
    threads_option,
    tile_option,
    verify_option,
)
from comix.runtime import defaults
from comix.runtime.guard import GuardOptions
from comix.tiles import parse_tile

STDIO = "-"


def stream_command(
    model: Path = typer.Argument(
        ...,
        help="Exported .onnx model, a TensorRT .engine or a checkpoint folder (as comix infer).",
    ),
    bands: int = typer.Option(..., "--bands", help="HSI bands per line (B)."),
    width: int = typer.Option(..., "--width", help="Pixels per line: the swath (W)."),
    x_channels: int = typer.Option(
        None, "--x-channels", help="X channels per line (C; default: the model's)."
    ),
    input_path: str = typer.Option(
        STDIO, "-i", "--input", help="File or FIFO to read lines from; - is standard input."
    ),
    output_path: str = typer.Option(
        STDIO,
        "-o",
        "--output",
        help="File or FIFO to write class lines to; - is standard output. A regular file is written under a "
        "temporary name and renamed when the pass ends (after a failure: NAME.partial, with every line "
        "finished before it).",
    ),
    tile: str = tile_option(
        "Tile of the stream (as comix infer's: same tile, same classes). Measured for a 600 px swath on "
        "a 2-core CPU: 256x600 with --overlap 48 --threads 2 (docs/stream.md)."
    ),
    overlap: int = typer.Option(
        None,
        "--overlap",
        help="Pixels shared by neighbouring tiles (default: 3/8 of the tile, as comix infer).",
    ),
    batch: int = typer.Option(
        None,
        "--batch",
        help=f"Tiles per backend call, within one tile row (default: a static model's batch, else "
        f"{defaults.BATCH}, as comix infer).",
    ),
    backend: str = backend_option(),
    threads: int = threads_option("Intra-op threads per model session"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Model sessions running the batches of one tile row in parallel, each with --threads "
        "threads (same classes as one session with those threads).",
    ),
    device: str = typer.Option("cpu", "--device", help="PyTorch backend only: cpu or cuda."),
    nodata: float = typer.Option(
        None,
        "--nodata",
        help="A value that means 'no data' (NaN/Inf always do); as comix infer --nodata.",
    ),
    x_nodata: float = typer.Option(
        None, "--x-nodata", help="Nodata value of the X samples when it differs from --nodata."
    ),
    nodata_fill: str = typer.Option(
        defaults.NODATA_FILL,
        "--nodata-fill",
        help="What the model sees at nodata pixels: nearest (valid pixel) or mean (as comix infer).",
    ),
    line_rate: float = typer.Option(
        None,
        "--line-rate",
        help="The sensor's lines per second: the summary gives the real-time ratio against it.",
    ),
    queue_lines: int = typer.Option(
        None,
        "--queue-lines",
        min=1,
        help="Lines read ahead while tiles run (default: a tile height); then the input waits.",
    ),
    summary: Path = typer.Option(
        None, "--summary", help="Also write the final summary as JSON to this file."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", help="No progress (the summary is still printed)."
    ),
    verify: bool = verify_option(),
    recheck_every: int = recheck_option(),
    redundant: int = redundant_option(),
    deadline_ms: float = deadline_option(),
) -> None:
    """Segment a pushbroom stream line by line: BIL float32 lines in, uint8 class lines out as soon as they
    are final, the classes of comix infer on the same scene; progress and a summary on standard error."""
    from comix.runtime.line_stream import LineFormat

    LineFormat(bands, 1 if x_channels is None else x_channels, width)  # before opening anything
    tile_hw = parse_tile(tile) if tile is not None else None
    if line_rate is not None and not line_rate > 0:
        fail(f"--line-rate: got {line_rate:g}, expected > 0 lines per second")
    for path, what in ((summary, "--summary"), (_file(output_path), "--output")):
        if path is not None and not path.parent.is_dir():
            fail(f"{what} {path}: folder {path.parent} does not exist, expected an existing folder")
    if input_path != STDIO and not Path(input_path).exists():
        fail(f"--input {input_path}: got no such file or FIFO, expected one to read lines from")
    _refuse_overwriting_inputs(model, input_path, output_path, summary)
    if input_path == STDIO and sys.stdin.isatty():
        fail("--input: standard input is a terminal, expected a pipe, a file or --input FILE|FIFO")
    if output_path == STDIO and sys.stdout.isatty():
        fail("--output: standard output is a terminal, expected a pipe or --output FILE")
    guards = GuardOptions(recheck_every, redundant, deadline_ms)
    segmenter, backends = _segmenter(
        model,
        bands,
        width,
        x_channels,
        {"backend": backend, "threads": threads, "device": device, "verify": verify},
        guards,
        workers,
        {
            "tile": tile_hw,
            "overlap": overlap,
            "batch": batch,
            "nodata": nodata,
            "x_nodata": x_nodata,
            "nodata_fill": nodata_fill,
        },
    )
    _run(segmenter, backends, input_path, output_path, line_rate, queue_lines, summary, quiet)


def _file(path: str) -> Path | None:
    return None if path == STDIO else Path(path)


def _refuse_overwriting_inputs(model: Path, input_path: str, output_path: str, summary) -> None:
    """Refuse an output (the class lines, their ``.partial`` after a failure, the summary) that would
    replace the model or the input stream."""
    from comix.atomic import refuse_overwriting_inputs

    inputs = [model, _file(input_path)]
    output = _file(output_path)
    if output is not None:
        refuse_overwriting_inputs([output, Path(f"{output}.partial")], inputs, output, "--output")
    if summary is not None:
        refuse_overwriting_inputs([summary], inputs, option="--summary")


def _segmenter(model, bands, width, x_channels, opening: dict, guards, workers: int, options: dict):
    """The segmenter and its backends (each opened verified and wrapped in the guards asked for)."""
    from comix.runtime.guard import guarded
    from comix.runtime.line_stream import LineFormat, LineSegmenter
    from comix.runtime.segment import open_backend

    def event(message: str) -> None:
        typer.echo(f"integrity: {message}", err=True)

    backends = [guarded(open_backend(model, **opening), guards, event) for _ in range(workers)]
    channels = x_channels if x_channels is not None else backends[0].info.x_channels
    if channels is None:
        fail(
            f"--x-channels: the model {model} does not say how many X channels it takes, expected "
            "--x-channels C"
        )
    segmenter = LineSegmenter(
        backends[0], LineFormat(bands, channels, width), workers=backends[1:], **options
    )
    return segmenter, backends


def _run(
    segmenter, backends, input_path, output_path, line_rate, queue_lines, summary, quiet
) -> None:
    from comix.runtime.line_pump import LinePump

    progress = None if quiet else _Progress()
    pump = LinePump(segmenter, line_rate=line_rate, depth=queue_lines, progress=progress)
    try:
        with _input(input_path) as source, _Output(output_path, pump) as sink:
            pump.run(source, sink)
    except BaseException:
        if pump.report.stats.lines_in == 0:  # nothing ran: the error line alone says it
            raise
        _report(pump, backends, summary, progress)
        raise
    _report(pump, backends, summary, progress)


def _report(pump, backends, summary, progress) -> None:
    """The end of a pass (after a failure too, once a line came in): the summary and each backend's
    integrity on standard error, the JSON summary when asked for."""
    from comix.cli.infer_cmd import integrity_line
    from comix.runtime.guard import integrity_summary

    if progress is not None:
        progress.end()
    integrity = [integrity_summary(backend) for backend in backends]
    typer.echo(pump.report.summary(), err=True)
    for report in integrity:
        typer.echo(integrity_line(report), err=True)
    if summary is not None:
        from comix.atomic import write_text_atomic

        document = {**pump.report.as_dict(), "integrity": integrity}
        write_text_atomic(summary, json.dumps(document, indent=2) + "\n")


@contextlib.contextmanager
def _input(path: str):
    if path == STDIO:
        yield sys.stdin.buffer
        return
    with open(path, "rb") as source:  # a FIFO: waits here for its writer
        yield source


class _Output:
    """Standard output, a FIFO or device as it is, or a regular file staged beside its final name: renamed
    onto it when the pass ends, to ``NAME.partial`` when it fails (the lines finished before are kept)."""

    def __init__(self, path: str, pump) -> None:
        self.path, self.pump = path, pump
        self.staged: Path | None = None

    def __enter__(self):
        if self.path == STDIO:
            self.sink = sys.stdout.buffer
            return self.sink
        final = Path(self.path)
        if final.exists() and not stat.S_ISREG(final.stat().st_mode):
            self.sink = open(final, "wb")  # a FIFO or a device: written as it is
            return self.sink
        self.staged = temp_beside(final, suffix=".part")  # with the usual permissions
        self.sink = open(self.staged, "wb")
        return self.sink

    def __exit__(self, kind, error, trace) -> None:
        from comix.runtime.line_pump import OutputFailed

        if self.path == STDIO:
            if isinstance(
                error, OutputFailed
            ):  # nothing more can reach a closed pipe: not at exit either
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
            return
        with contextlib.suppress(
            OSError
        ):  # a broken FIFO cannot be flushed: the error says so already
            self.sink.close()
        if self.staged is None:
            return
        if error is None:
            os.replace(self.staged, self.path)
        elif self.staged.stat().st_size:
            partial = Path(f"{self.path}.partial")
            os.replace(self.staged, partial)
            self.pump.report.events.append(
                f"kept: the {self.pump.report.stats.lines_out} lines finished before the failure are in "
                f"{partial}"
            )
        else:
            self.staged.unlink(missing_ok=True)


class _Progress:
    """Progress on standard error: one line rewritten in place on a terminal, else a line every 10 s."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.calls = 0
        self.shown = False

    def __call__(self, report) -> None:
        self.calls += 1
        if not self.tty and self.calls % 10:
            return
        stats = report.stats
        ratio = f" ({report.realtime_ratio:.2f}x real time)" if report.line_rate else ""
        text = (
            f"stream: {stats.lines_in} lines in, {stats.lines_out} out, {stats.tiles} tiles, "
            f"{report.lines_per_second:.1f} lines/s{ratio}"
        )
        sys.stderr.write(("\r" + text + "\x1b[K") if self.tty else text + "\n")
        sys.stderr.flush()
        self.shown = True

    def end(self) -> None:
        if self.tty and self.shown:
            sys.stderr.write("\n")
