"""The flight runtime's footprint and start-up: the C API (libcomix_infer.so) on one model, as a table.

    python tools/bench_flight.py MODEL.onnx [--cold-starts 7] [--runs 30] [--threads 1] [--tile 128]
                                 [--batch 1] [--library PATH/libcomix_infer.so] [--json out.json]

Measures, with the example client plugins/capi/examples/run_tile.c (compiled here against comix_infer.h
only; one fresh process per cold start):

* cold start — comix_open to the first logits of one tile (the client's clock), median of --cold-starts
  processes, with verify = 0 and verify = 1 interleaved;
* the cost of verification at open — comix_verify_file (the check verify = 1 runs: wire walk + SHA-256 of
  the file, pages cached) timed in this process through ctypes, median of 5, in ms per MB; the difference
  of the median comix_open times with and without verify = 1 (noisier: two cold medians); Python's
  comix.model_digest.verify on the same bytes (hashlib) for comparison;
* peak resident memory of the whole process (ru_maxrss: libraries, model, arena, buffers), the largest
  over the cold starts;
* per-tile latency — median (and min) of --runs further runs of the same tile in one process;
* the installed size of the C runtime: libcomix_infer.so plus the libonnxruntime.so.1 it loads (as
  built, and with our library stripped).

The targets of issue 21 (comix_t, 144 bands + 1, one 128x128 tile, 1 thread: <= 0.3 s to the first
logits, <= 100 MiB peak) are printed beside the numbers. Every table names the machine, the library and
ONNX Runtime versions and the load average before and after; on a shared machine, quote the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "capi" / "examples" / "run_tile.c"
INCLUDE = ROOT / "plugins" / "capi" / "include"
TARGET_FIRST_LOGITS_S = 0.3
TARGET_PEAK_MIB = 100.0


class BenchError(Exception):
    """A bad argument or a missing build: one sentence, exit status 2."""


def find_library(given: str | None) -> Path:
    from comix.plugins.build import find_capi_library

    if given:
        path = Path(given)
        if not path.is_file():
            raise BenchError(f"--library {given}: got no such file, expected libcomix_infer.so")
        return path.resolve()
    try:
        return find_capi_library()
    except FileNotFoundError as error:
        raise BenchError(str(error)) from None


def compile_client(library: Path, folder: Path) -> Path:
    if shutil.which("cc") is None:
        raise BenchError("cc: got no C compiler on PATH, expected one to build the example client")
    client = folder / "run_tile"
    command = [
        "cc",
        "-std=c99",
        "-O2",
        f"-I{INCLUDE}",
        str(EXAMPLE),
        f"-L{library.parent}",
        "-lcomix_infer",
    ]
    command += [f"-Wl,-rpath,{library.parent}", "-o", str(client)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(
            f"compiling {EXAMPLE.name}: got exit {result.returncode}: {result.stderr.strip()}"
        )
    return client


def model_shape(model: Path) -> tuple[int, int]:
    """(bands, x_channels) from the graph's inputs, read without loading the weights."""
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    dims = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input[:2]]
    if len(dims) != 2 or dims[0][1] < 1 or dims[1][1] < 0:
        raise BenchError(
            f"{model}: got inputs {dims}, expected hsi (B, bands, H, W) and x (B, C, H, W)"
        )
    return dims[0][1], dims[1][1]


def run_client(
    client: Path, model: Path, folder: Path, args, verify: int, repeat: int
) -> dict[str, str]:
    command = [client, model, folder / "hsi.f32", folder / "x.f32", folder / "logits.f32"]
    command += [args.batch, args.tile, args.tile, args.threads, verify, repeat]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(
            f"run_tile on {model.name}: got exit {result.returncode}: {result.stderr.strip()}"
        )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def python_verify_ms(model: Path, rounds: int = 5) -> float:
    from comix.model_digest import verify

    data = model.read_bytes()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        verify(data)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def c_verify_ms(library: Path, model: Path, rounds: int = 5) -> float:
    """Median wall time of comix_verify_file on the model (any status: a file without digests is walked
    and hashed all the same before the record is found missing)."""
    import ctypes

    api = ctypes.CDLL(str(library))
    api.comix_verify_file.argtypes = [ctypes.c_char_p]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        api.comix_verify_file(str(model).encode())
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def installed_size(library: Path, folder: Path) -> dict[str, float]:
    ort = (library.parent / "libonnxruntime.so.1").resolve()
    stripped = folder / library.name
    shutil.copy(library, stripped)
    strip = shutil.which("strip")
    if strip:
        subprocess.run([strip, "--strip-unneeded", str(stripped)], check=False)
    mib = 1024.0 * 1024.0
    return {
        "libcomix_infer_mib": library.stat().st_size / mib,
        "libcomix_infer_stripped_mib": stripped.stat().st_size / mib,
        "libonnxruntime_mib": ort.stat().st_size / mib if ort.is_file() else float("nan"),
        "libonnxruntime_file": ort.name,
    }


def measure(args) -> dict:
    model = Path(args.model)
    if not model.is_file():
        raise BenchError(f"{model}: got no such file, expected an .onnx model")
    library = find_library(args.library)
    bands, x_channels = model_shape(model)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        client = compile_client(library, folder)
        rng = np.random.default_rng(0)
        shape = (args.batch, bands, args.tile, args.tile)
        rng.normal(0.3, 0.5, shape).astype(np.float32).tofile(folder / "hsi.f32")
        rng.normal(10, 4, (args.batch, x_channels, args.tile, args.tile)).astype(np.float32).tofile(
            folder / "x.f32"
        )
        cold: dict[int, list[dict[str, str]]] = {0: [], 1: []}
        for _ in range(args.cold_starts):  # interleaved, so load falls on both alike
            for verify in (0, 1):
                cold[verify].append(run_client(client, model, folder, args, verify, 1))
        warm = run_client(client, model, folder, args, 0, args.runs)
        size = installed_size(library, folder)
    load_after = os.getloadavg()

    def median(verify: int, key: str) -> float:
        return statistics.median(float(r[key]) for r in cold[verify])

    megabytes = model.stat().st_size / 1e6
    open_difference_ms = 1e3 * (median(1, "open_s") - median(0, "open_s"))
    verify_ms = c_verify_ms(library, model)
    return {
        "model": str(model),
        "model_mb": megabytes,
        "version": warm["version"],
        "threads": args.threads,
        "batch": args.batch,
        "tile": args.tile,
        "bands": bands,
        "x_channels": x_channels,
        "cold_starts": args.cold_starts,
        "runs": args.runs,
        "first_logits_s": {v: [float(r["first_logits_s"]) for r in cold[v]] for v in (0, 1)},
        "first_logits_s_median": median(0, "first_logits_s"),
        "first_logits_s_median_verify": median(1, "first_logits_s"),
        "open_s_median": median(0, "open_s"),
        "open_s_median_verify": median(1, "open_s"),
        "verify_ms": verify_ms,
        "verify_ms_per_mb": verify_ms / megabytes,
        "open_difference_ms": open_difference_ms,
        "python_verify_ms_per_mb": python_verify_ms(model) / megabytes,
        "peak_rss_mib": max(float(r["peak_rss_kib"]) for r in cold[0] + cold[1]) / 1024.0,
        "peak_rss_mib_median": statistics.median(float(r["peak_rss_kib"]) for r in cold[0])
        / 1024.0,
        "peak_rss_after_open_mib": statistics.median(
            float(r["peak_rss_after_open_kib"]) for r in cold[0]
        )
        / 1024.0,
        "run_ms_median": float(warm["run_ms_median"]),
        "run_ms_min": float(warm["run_ms_min"]),
        "size": size,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
    }


def machine() -> dict:
    from comix.profile.machine import cpu_record

    return cpu_record()


def table(r: dict) -> str:
    cpu = r["machine"]
    size = r["size"]
    total = size["libcomix_infer_mib"] + size["libonnxruntime_mib"]
    total_stripped = size["libcomix_infer_stripped_mib"] + size["libonnxruntime_mib"]
    first = r["first_logits_s"][0]
    rows = [
        (
            "cold start: comix_open -> first logits (s), verify = 0",
            f"{r['first_logits_s_median']:.3f}",
            f"{min(first):.3f} .. {max(first):.3f}",
            f"<= {TARGET_FIRST_LOGITS_S}",
        ),
        ("cold start with verify = 1 (s)", f"{r['first_logits_s_median_verify']:.3f}", "", ""),
        (
            "comix_open alone (s), verify = 0 / 1",
            f"{r['open_s_median']:.3f} / {r['open_s_median_verify']:.3f}",
            "",
            "",
        ),
        (
            "verification: comix_verify_file (ms; ms per MB)",
            f"{r['verify_ms']:.1f}; {r['verify_ms_per_mb']:.2f}",
            f"{r['model_mb']:.1f} MB file, pages cached",
            "",
        ),
        (
            "  comix_open verify = 1 minus verify = 0 (ms)",
            f"{r['open_difference_ms']:.0f}",
            "cold medians",
            "",
        ),
        (
            "  Python comix.model_digest.verify, hashlib (ms per MB)",
            f"{r['python_verify_ms_per_mb']:.2f}",
            "",
            "",
        ),
        (
            "peak resident memory of the process (MiB)",
            f"{r['peak_rss_mib_median']:.1f}",
            f"max {r['peak_rss_mib']:.1f}; after open {r['peak_rss_after_open_mib']:.1f}",
            f"<= {TARGET_PEAK_MIB:.0f}",
        ),
        (
            f"per-tile latency (ms), median of {r['runs']}",
            f"{r['run_ms_median']:.1f}",
            f"min {r['run_ms_min']:.1f}",
            "",
        ),
        (
            "installed C runtime (MiB): libcomix_infer.so + " + size["libonnxruntime_file"],
            f"{total:.1f}",
            f"{size['libcomix_infer_mib']:.2f} + {size['libonnxruntime_mib']:.1f}; "
            f"ours stripped {size['libcomix_infer_stripped_mib']:.2f} (total {total_stripped:.1f})",
            "",
        ),
    ]
    lines = [
        f"Flight runtime (C API) on {Path(r['model']).name}: {r['bands']} bands + {r['x_channels']} X, "
        f"batch {r['batch']}, {r['tile']}x{r['tile']}, {r['threads']} thread(s), "
        f"{r['cold_starts']} cold starts",
        f"machine: {cpu.get('model')} ({cpu.get('architecture')}, {cpu.get('usable_cores')} usable cores, "
        f"{' '.join(cpu.get('isa', []))}{', VM' if cpu.get('hypervisor') else ''})",
        f"load average (1/5/15 min): before {' '.join(f'{v:.2f}' for v in r['load_before'])}, "
        f"after {' '.join(f'{v:.2f}' for v in r['load_after'])}",
        f"library: {r['version']}",
        "",
        "| measure | median | spread / detail | target |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="an .onnx model (comix export), canonical or portable")
    parser.add_argument(
        "--cold-starts", type=int, default=7, help="fresh processes per setting (default 7)"
    )
    parser.add_argument(
        "--runs", type=int, default=30, help="warm runs for the per-tile latency (default 30)"
    )
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
    parser.add_argument("--tile", type=int, default=128, help="tile side (default 128)")
    parser.add_argument("--batch", type=int, default=1, help="batch (default 1)")
    parser.add_argument(
        "--library", default=None, help="libcomix_infer.so (default: the built one)"
    )
    parser.add_argument("--json", default=None, help="also write every number here")
    args = parser.parse_args(argv)
    try:
        for name in ("cold_starts", "runs", "threads", "tile", "batch"):
            if getattr(args, name) < 1:
                raise BenchError(
                    f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected >= 1"
                )
        result = measure(args)
    except BenchError as error:
        print(f"bench_flight: {error}", file=sys.stderr)
        return 2
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
