"""Real time for a pushbroom stream: ``comix stream``'s engine fed at a sensor's line rate, as a table.

    python tools/bench_stream.py MODEL.onnx [--bands 192] [--x-channels 1] [--width 600] [--line-rate 340]
                                 [--seconds 8] [--config 256x324:48:2x1 --config 256x600:48:1x2 ...]
                                 [--rounds 2] [--memory] [--json bench_stream.json]

Each ``--config TILE:OVERLAP:WORKERSxTHREADS[:BATCH]`` (default: a sweep of the tilings worth trying) is run
twice per round, rounds interleaved so load from other processes falls on every configuration alike:

* **paced** — a producer thread writes lines into a pipe at ``--line-rate`` lines/s (each line at its own
  instant of the sensor's clock, the way a pushbroom delivers them) and
  :class:`comix.runtime.line_pump.LinePump` streams them, classes to /dev/null. It keeps up when no line
  waited for the stream (input stalls 0) and the latency (a line complete at the reader -> its classes
  written) stays under a tile height of lines plus the slowest row. Its busy time gives the rate the
  stream could have kept: the **real-time ratio** (lines per busy second / line rate).
* **unpaced** — the producer writes as fast as the pipe takes lines: lines/s is the throughput, and
  lines/s / line rate the ratio measured the plain way. Reading overlaps computing in both. Its CPU time
  per line (the whole process, producer included) is the load-independent figure: on a shared machine a
  neighbour's load lowers lines/s but hardly the CPU time.

``--memory`` also streams 1x and 8x the Houston scene's length (1905 and 15240 lines of 349 px) in fresh
processes and reports their peak resident memory and the engine's buffer bytes (flat: the same at 8x).

Lines are synthetic (values around the model's normalisation mean with spatial structure, no nodata):
timing barely depends on the values. Quote the medians, the machine line (CPU model, ISA flags), and the
load average printed before and after; on a shared 2-core machine, read the paced and unpaced ratios
together.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.profile.machine import cpu_record, describe, machine_record
from comix.runtime.line_pump import LinePump
from comix.runtime.line_stream import LineFormat, LineSegmenter
from comix.runtime.registry import open_backend
from comix.tiles import format_tile, parse_tile

HOUSTON_LINES, HOUSTON_WIDTH = 1905, 349
DEFAULT_CONFIGS = (  # tile:overlap:workers x threads, the tilings worth trying on a 2-core CPU
    "128:48:1x2",  # comix infer's default tile
    "128:48:2x1",
    "256x600:48:1x2",  # one tile across the swath
    "256x600:48:1x1",
    "256x324:48:2x1",  # two tiles across, one per core
    "384x324:48:2x1",
)


class BenchError(Exception):
    """A bad argument: one sentence, exit status 2."""


@dataclass(frozen=True)
class Config:
    tile: tuple[int, int]
    overlap: int
    workers: int
    threads: int
    batch: int | None = None

    @classmethod
    def parse(cls, text: str) -> Config:
        parts = text.split(":")
        try:
            workers, threads = (int(v) for v in parts[2].lower().split("x"))
            config = cls(
                parse_tile(parts[0]),
                int(parts[1]),
                workers,
                threads,
                int(parts[3]) if len(parts) > 3 else None,
            )
        except (IndexError, ValueError):
            raise BenchError(
                f"--config: got {text!r}, expected TILE:OVERLAP:WORKERSxTHREADS[:BATCH], e.g. 256x324:48:2x1"
            ) from None
        if min(workers, threads) < 1:
            raise BenchError(
                f"--config {text}: got {workers}x{threads}, expected workers and threads >= 1"
            )
        return config

    def __str__(self) -> str:
        batch = f", batch {self.batch}" if self.batch else ""
        return (
            f"{format_tile(self.tile)} / {self.overlap}, {self.workers} x {self.threads} thr{batch}"
        )


class Sensor:
    """Lines of a synthetic pass: ``(bands + C) x W`` float32 records around the model's mean, cycled."""

    def __init__(self, line: LineFormat, hsi_mean: list[float], distinct: int = 64) -> None:
        rng = np.random.default_rng(0)
        mean = (
            np.full(line.bands, 0.2, np.float32)
            if not hsi_mean
            else np.asarray(hsi_mean, np.float32)
        )
        columns = np.linspace(0, 6 * np.pi, line.width, dtype=np.float32)
        self.line, self.records = line, []
        for index in range(distinct):
            pattern = np.sin(columns + index / 5.0)[None] * 0.05
            hsi = mean[:, None] * (1 + pattern) + rng.normal(0, 0.01, (line.bands, line.width))
            x = 5.0 * pattern[[0] * line.x_channels] + rng.normal(
                0, 0.5, (line.x_channels, line.width)
            )
            self.records.append(np.concatenate([hsi, x]).astype("<f4").tobytes())

    def produce(self, sink_fd: int, lines: int, rate: float | None) -> None:
        """Write ``lines`` records into ``sink_fd``; line i at start + i / rate when paced."""
        start = time.perf_counter()
        try:
            with os.fdopen(sink_fd, "wb", buffering=0) as sink:
                for index in range(lines):
                    if rate:
                        delay = start + index / rate - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                    view = memoryview(self.records[index % len(self.records)])
                    while view:
                        view = view[sink.write(view) :]
        except BrokenPipeError:
            pass


def run_once(
    config: Config, sensor: Sensor, rate: float, lines: int, paced: bool, backends
) -> dict:
    """One pass through the engine; the pump's report as a dict."""
    segmenter = LineSegmenter(
        backends[0],
        sensor.line,
        tile=config.tile,
        overlap=config.overlap,
        batch=config.batch,
        workers=backends[1:],
    )
    read_fd, write_fd = os.pipe()
    producer = threading.Thread(
        target=sensor.produce, args=(write_fd, lines, rate if paced else None), daemon=True
    )
    cpu = time.process_time()
    producer.start()
    with os.fdopen(read_fd, "rb") as source, open(os.devnull, "wb") as sink:
        report = LinePump(segmenter, line_rate=rate).run(source, sink)
    producer.join()
    entry = report.as_dict()
    entry["cpu_ms_per_line"] = (time.process_time() - cpu) * 1e3 / max(lines, 1)
    entry["tile_height"] = segmenter.tile_h
    entry["latency_bound_seconds"] = segmenter.tile_h / rate + report.stats.slowest_row_seconds
    return entry


def bench_configs(args, line: LineFormat) -> list[dict]:
    opened = {}
    sensor = None
    results = {config: {"paced": [], "unpaced": []} for config in args.configs}
    lines = max(int(args.seconds * args.line_rate), 1)
    for round_index in range(args.rounds):
        for config in args.configs:
            key = (config.workers, config.threads)
            if key not in opened:
                opened[key] = [
                    open_backend(args.model, threads=config.threads) for _ in range(config.workers)
                ]
            sensor = sensor or Sensor(line, opened[key][0].info.hsi_mean)
            for mode in ("unpaced", "paced"):
                entry = run_once(
                    config, sensor, args.line_rate, lines, mode == "paced", opened[key]
                )
                entry["load_average"] = list(os.getloadavg())
                results[config][mode].append(entry)
                print(
                    f"round {round_index + 1}, {config}, {mode}: {entry['lines_per_second']:.0f} lines/s, "
                    f"ratio {entry['realtime_ratio']:.2f}, load {entry['load_average'][0]:.2f}",
                    file=sys.stderr,
                )
    rows = []
    for config, modes in results.items():
        paced, unpaced = modes["paced"], modes["unpaced"]
        rows.append(
            {
                "config": str(config),
                "tile": list(config.tile),
                "overlap": config.overlap,
                "workers": config.workers,
                "threads": config.threads,
                "batch": config.batch,
                "tile_height": paced[0]["tile_height"],
                "unpaced_lines_per_second": statistics.median(
                    e["lines_per_second"] for e in unpaced
                ),
                "unpaced_ratio": statistics.median(e["lines_per_second"] for e in unpaced)
                / args.line_rate,
                "paced_lines_per_second": statistics.median(e["lines_per_second"] for e in paced),
                "paced_ratio": statistics.median(e["realtime_ratio"] for e in paced),
                "paced_input_stalls": max(e["input_stalls"] for e in paced),
                "paced_latency_max_seconds": max(e["latency"]["max_seconds"] for e in paced),
                "paced_latency_mean_seconds": statistics.median(
                    e["latency"]["mean_seconds"] for e in paced
                ),
                "latency_bound_seconds": max(e["latency_bound_seconds"] for e in paced),
                "buffer_mib": paced[0]["memory"]["buffer_bytes"] / 2**20,
                "cpu_ms_per_line": statistics.median(e["cpu_ms_per_line"] for e in unpaced),
                "runs": {"paced": paced, "unpaced": unpaced},
            }
        )
    return rows


def memory_child(args) -> None:
    """In a fresh process: stream ``--child-lines`` Houston-wide lines unpaced; print peak RSS and buffers."""
    line = LineFormat(args.bands, args.x_channels, HOUSTON_WIDTH)
    backend = open_backend(args.model, threads=args.memory_threads)
    config = Config(parse_tile(args.memory_tile), args.memory_overlap, 1, args.memory_threads)
    sensor = Sensor(line, backend.info.hsi_mean)
    entry = run_once(config, sensor, args.line_rate, args.child_lines, False, [backend])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"lines": args.child_lines, "peak_rss_mib": peak_kib / 1024, **entry}))


def bench_memory(args) -> list[dict]:
    rows = []
    for factor in (1, 8):
        command = [
            sys.executable,
            __file__,
            args.model,
            "--bands",
            str(args.bands),
            "--x-channels",
            str(args.x_channels),
            "--child-lines",
            str(factor * HOUSTON_LINES),
            "--memory-tile",
            args.memory_tile,
            "--memory-overlap",
            str(args.memory_overlap),
            "--memory-threads",
            str(args.memory_threads),
        ]
        print(
            f"memory: {factor}x the Houston length ({factor * HOUSTON_LINES} lines)",
            file=sys.stderr,
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchError(f"memory run at {factor}x failed: {result.stderr.strip()[-500:]}")
        child = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "factor": factor,
                "lines": child["lines"],
                "peak_rss_mib": child["peak_rss_mib"],
                "buffer_mib": child["memory"]["buffer_bytes"] / 2**20,
                "lines_per_second": child["lines_per_second"],
            }
        )
    return rows


def markdown(args, rows: list[dict], memory: list[dict], machine: dict, load: tuple) -> str:
    cpu = machine["cpu"]
    out = [
        f"Machine: {describe(machine)}; ISA {' '.join(cpu['isa'])}; load average before "
        f"{load[0][0]:.2f}, after {load[1][0]:.2f}.",
        f"Model {Path(args.model).name}: {args.bands} bands + {args.x_channels} X channel, "
        f"{args.width} px lines, sensor {args.line_rate:g} lines/s; {args.rounds} rounds of "
        f"{args.seconds:g} s passes, medians.",
    ]
    if rows:
        out += [
            "",
            "| tile / overlap, workers x threads | unpaced lines/s | ratio | CPU ms / line | "
            "paced: ratio (busy) | stalls | latency max / mean (bound) | buffers |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for row in rows:
        out.append(
            f"| {row['config']} | {row['unpaced_lines_per_second']:.0f} | {row['unpaced_ratio']:.2f}x | "
            f"{row['cpu_ms_per_line']:.2f} | "
            f"{row['paced_ratio']:.2f}x | {row['paced_input_stalls']} | "
            f"{row['paced_latency_max_seconds']:.2f} / {row['paced_latency_mean_seconds']:.2f} s "
            f"({row['latency_bound_seconds']:.2f} s) | {row['buffer_mib']:.0f} MiB |"
        )
    if memory:
        out += [
            "",
            "| pass | lines | peak resident memory | engine buffers | lines/s |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in memory:
            out.append(
                f"| {row['factor']}x Houston | {row['lines']} | {row['peak_rss_mib']:.0f} MiB | "
                f"{row['buffer_mib']:.1f} MiB | {row['lines_per_second']:.0f} |"
            )
    return "\n".join(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--bands", type=int, default=192)
    parser.add_argument("--x-channels", type=int, default=1)
    parser.add_argument("--width", type=int, default=600)
    parser.add_argument("--line-rate", type=float, default=340.0)
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="Length of each pass at the line rate."
    )
    parser.add_argument(
        "--config", action="append", default=[], help="TILE:OVERLAP:WORKERSxTHREADS[:BATCH]"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="Also 1x and 8x the Houston length.")
    parser.add_argument("--memory-tile", default="128")
    parser.add_argument("--memory-overlap", type=int, default=48)
    parser.add_argument("--memory-threads", type=int, default=2)
    parser.add_argument("--skip-configs", action="store_true", help="Only the memory section.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child-lines", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not Path(args.model).is_file():
        raise BenchError(f"model {args.model}: got no such file, expected an exported .onnx")
    if args.line_rate <= 0 or args.seconds <= 0 or args.rounds < 1:
        raise BenchError("--line-rate, --seconds and --rounds: expected positive values")
    args.configs = [Config.parse(text) for text in (args.config or DEFAULT_CONFIGS)]
    return args


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.child_lines:
        memory_child(args)
        return 0
    line = LineFormat(args.bands, args.x_channels, args.width)
    before = tuple(cpu_record()["load_average"])
    rows = [] if args.skip_configs else bench_configs(args, line)
    memory = bench_memory(args) if args.memory else []
    after = tuple(cpu_record()["load_average"])
    machine = machine_record()
    table = markdown(args, rows, memory, machine, (before, after))
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "load_before": before,
                    "load_after": after,
                    "configs": rows,
                    "memory": memory,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
