"""FP32 vs FP16 vs INT8 graphs of one model in ONNX Runtime on the CPU: one tile, side by side, and where
the time goes.

    python tools/bench_precision.py --graph fp32=runs/demo/model.onnx --graph int8=runs/demo/precision/model.int8.onnx \
        [--graph NAME=PATH ...] [--tile 128] [--rounds 20] [--threads 1] [--profile] [--json OUT.json]

The first graph is the reference of the ratios. Graphs run in interleaved rounds (one run of each per
round, after warm-up), so load from other processes hits all of them alike; the table gives the median
and the minimum per graph and the ratio of medians. ``--profile`` then runs each graph again under ONNX
Runtime's profiler and prints the time per op type (summed over the nodes ORT actually ran, after its own
fusions: e.g. QDQ Conv -> QLinearConv), which is where an INT8 graph wins or loses against FP32.
The input is a real-valued random tile of the model's band and channel counts (DCN offsets are predicted
from it like from a scene).
"""

from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from comix.calibration.graph import graph_inputs
from comix.calibration.latency import tile_latency
from comix.metadata import ModelRecord
from comix.runtime.ort_profile import profile_nodes


def _profile(model: onnx.ModelProto, feeds: dict, threads: int, runs: int) -> dict[str, float]:
    """op type -> mean ms per run, from ORT's profiler (kernel time of every node it ran)."""
    per_op: dict[str, float] = defaultdict(float)
    for node in profile_nodes(model, feeds, threads, runs):
        per_op[node.op_type] += node.milliseconds
    return dict(per_op)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--graph", action="append", required=True, help="NAME=PATH (first = reference)"
    )
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also print the time per op type")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    graphs = {}
    for item in args.graph:
        name, _, path = item.partition("=")
        graphs[name] = onnx.load(path)
    first = next(iter(graphs.values()))
    inputs = graph_inputs(first)
    record = ModelRecord.read_onnx(first)
    bands = inputs.bands or record.hsi_bands
    channels = inputs.x_channels or record.x_channels
    timings = tile_latency(
        graphs, bands, channels, tile=args.tile, rounds=args.rounds, threads=args.threads
    )
    reference = timings[next(iter(graphs))]["median_ms"]
    print(
        f"one {args.tile}x{args.tile} tile, batch 1, {bands} bands + {channels} X channel(s), ONNX Runtime "
        f"{ort.__version__} CPU, {args.threads} thread(s), {args.rounds} interleaved rounds; "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"| graph | median ms | min ms | ratio to {next(iter(graphs))} |\n|---|---|---|---|")
    for name, value in timings.items():
        print(
            f"| {name} | {value['median_ms']:.1f} | {value['min_ms']:.1f} | {value['median_ms'] / reference:.2f} |"
        )
    document = {
        "tile": args.tile,
        "threads": args.threads,
        "rounds": args.rounds,
        "timings": timings,
    }
    if args.profile:
        rng = np.random.default_rng(0)
        feeds = {
            inputs.hsi: rng.uniform(0, 1, (1, bands, args.tile, args.tile)).astype(np.float32),
            inputs.x: rng.uniform(0, 1, (1, channels, args.tile, args.tile)).astype(np.float32),
        }
        profiles = {
            name: _profile(model, feeds, args.threads, max(3, args.rounds // 4))
            for name, model in graphs.items()
        }
        ops = sorted(
            {op for p in profiles.values() for op in p},
            key=lambda op: -max(p.get(op, 0.0) for p in profiles.values()),
        )
        print("\nkernel time per op type (ms per run, ORT profiler):\n")
        print("| op type | " + " | ".join(profiles) + " |\n|---|" + "---|" * len(profiles))
        for op in ops:
            print(
                f"| {op} | " + " | ".join(f"{p.get(op, 0.0):.2f}" for p in profiles.values()) + " |"
            )
        print(
            "| **total** | "
            + " | ".join(f"{sum(p.values()):.2f}" for p in profiles.values())
            + " |"
        )
        document["profile_ms_per_op_type"] = profiles
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
