"""What integrity costs: the digest check at open, one re-check, and the guards' share of a scene's time.

    python tools/bench_integrity.py MODEL.onnx [--height 349] [--width 1905] [--rounds 3] [--threads 1]
                                    [--recheck-every 512] [--redundant 64] [--json out.json]

* verification at open: :func:`comix.runtime.integrity.check_model_bytes` on the file's bytes (wire walk +
  SHA-256 of weights and graph), median of 7, ms and ms per MB;
* one re-check: the weights held in memory hashed again plus the canary tile run, median of 7;
* a whole scene (a Houston-sized random scene by default, tile 128, the runtime's defaults) through the
  sliding window plain, with ``--recheck-every N`` and with ``--redundant K``, in interleaved rounds: the
  median seconds of each and the ratio to plain (the share of throughput the guard costs);
* the share of throughput one re-check every N tiles costs: one re-check's time over N tiles' time (a
  Houston-sized scene has fewer tiles than the default N, so the scene run alone would not show it).

The target of issue 22: re-checks at the default N cost <= 1 % of throughput. The machine and the load
average before and after are printed; ratios are from the same rounds, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from comix.runtime.guard import DEFAULT_RECHECK_EVERY, GuardedBackend, GuardOptions
from comix.runtime.integrity import check_model_bytes
from comix.runtime.registry import open_backend
from comix.runtime.sliding_window import SlidingWindow


def median_ms(function, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--height", type=int, default=349)
    parser.add_argument("--width", type=int, default=1905)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--recheck-every", type=int, default=DEFAULT_RECHECK_EVERY)
    parser.add_argument("--redundant", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        sys.exit(f"error: model {args.model}: got no such file, expected an exported .onnx")
    load_before = os.getloadavg()
    data = args.model.read_bytes()
    verify_ms = median_ms(lambda: check_model_bytes(data, str(args.model)))
    backend = open_backend(args.model, threads=args.threads)
    guarded = GuardedBackend(backend, GuardOptions(recheck_every=1))
    canary = guarded._canary  # the canary tile made at open
    recheck_ms = median_ms(lambda: (backend.weights_digest(), backend.run(canary[0], canary[1])))
    info = backend.info
    rng = np.random.default_rng(0)
    hsi = rng.random((info.bands, args.height, args.width), np.float32)
    x = rng.random((info.x_channels, args.height, args.width), np.float32)
    runs = {"plain": [], "recheck": [], "redundant": []}
    tiles = 0
    for _ in range(args.rounds):
        for name in runs:
            options = {
                "plain": GuardOptions(),
                "recheck": GuardOptions(recheck_every=args.recheck_every),
                "redundant": GuardOptions(redundant=args.redundant),
            }[name]
            runner = GuardedBackend(backend, options) if options.active else backend
            start = time.perf_counter()
            result = SlidingWindow(runner)(hsi, x)
            runs[name].append(time.perf_counter() - start)
            tiles = result.tiles
    seconds = {name: statistics.median(times) for name, times in runs.items()}
    result = {
        "model": str(args.model),
        "megabytes": len(data) / 1e6,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "threads": args.threads,
        "verify_ms": verify_ms,
        "verify_ms_per_mb": verify_ms / (len(data) / 1e6),
        "recheck_ms": recheck_ms,
        "scene": [args.height, args.width],
        "tiles": tiles,
        "seconds": seconds,
        "recheck_every": args.recheck_every,
        "redundant": args.redundant,
        "recheck_cost": seconds["recheck"] / seconds["plain"] - 1,
        "tile_ms": 1e3 * seconds["plain"] / max(tiles, 1),
        "recheck_share": recheck_ms / (args.recheck_every * 1e3 * seconds["plain"] / max(tiles, 1)),
        "redundant_cost": seconds["redundant"] / seconds["plain"] - 1,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
    print(
        f"{result['model']} ({result['megabytes']:.1f} MB); {result['machine']}; {args.threads} thread(s); "
        f"load {load_before[0]:.2f} -> {result['load_average']['after'][0]:.2f}"
    )
    print("| measure | value |\n|---|---|")
    print(f"| verification at open | {verify_ms:.1f} ms ({result['verify_ms_per_mb']:.2f} ms/MB) |")
    print(f"| one re-check (weights hash + canary tile) | {recheck_ms:.1f} ms |")
    print(
        f"| its share of throughput at --recheck-every {args.recheck_every} (a tile: "
        f"{result['tile_ms']:.1f} ms) | {100 * result['recheck_share']:.2f} % |"
    )
    print(f"| scene {args.height}x{args.width}, {tiles} tiles, plain | {seconds['plain']:.2f} s |")
    print(
        f"| with --recheck-every {args.recheck_every} | {seconds['recheck']:.2f} s "
        f"({100 * result['recheck_cost']:+.2f} %) |"
    )
    print(
        f"| with --redundant {args.redundant} | {seconds['redundant']:.2f} s "
        f"({100 * result['redundant_cost']:+.2f} %) |"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
