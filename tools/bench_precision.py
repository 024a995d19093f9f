"""FP32 vs FP16 vs INT8 graphs of one model in ONNX Runtime on the CPU: one tile, side by side, and where
the time goes.

    python tools/bench_precision.py --graph fp32=runs/demo/model.onnx \
        --graph int8=runs/demo/precision/model.int8.onnx [--graph NAME=PATH ...] [--tile 128] [--rounds 20]
        [--threads 1] [--profile [--profile-repeats 3]] [--json OUT.json]

The first graph is the reference of the ratios. Graphs run in interleaved rounds (one run of each per
round, after warm-up), so load from other processes hits all of them alike; the table gives the median
and the minimum per graph and the ratio of medians. ``--profile`` then runs each graph again under ONNX
Runtime's profiler and prints the time per op type (summed over the nodes ORT actually ran, after its own
fusions: e.g. QDQ Conv -> QLinearConv), which is where an INT8 graph wins or loses against FP32, then the
same time by kind — INT8 kernels, Q/DQ boundaries, layout reorders, the DCNs (float by design), float
Conv/MatMul/Gemm left in the graph (the float islands, also listed by model part) and every other op —
profiled ``--profile-repeats`` times, graphs alternating, medians (a shared machine's load falls on all).
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

KINDS = (  # (kind, op types as ORT runs them after its fusions); any other op type is "other float ops"
    (
        "INT8 kernels",
        {"QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger", "QLinearAdd"}
        | {"QLinearMul", "QLinearConcat", "QLinearSigmoid", "QLinearGlobalAveragePool"},
    ),
    ("Q/DQ boundaries", {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}),
    ("layout reorders", {"ReorderInput", "ReorderOutput", "Transpose"}),
    ("DCN nodes (float by design)", {"DeformConv", "DeformConv3D"}),
    (
        "float Conv / MatMul / Gemm (float islands)",
        {"Conv", "FusedConv", "NhwcFusedConv", "MatMul", "FusedMatMul", "Gemm", "FusedGemm"},
    ),
)
OTHER = "other float ops (normalisation, activations, resize, concat, slicing)"
ISLANDS = KINDS[-1][1]


def _kind(op_type: str) -> str:
    return next((kind for kind, ops in KINDS if op_type in ops), OTHER)


def _part(node_name: str) -> str:
    """The model part of an exported node name: ``hsi_stages.0.0.dcn[...]/node`` -> ``hsi_stages.0``."""
    return ".".join(node_name.split("/")[0].split("[")[0].split(".")[:2]) or node_name


def _profile(model: onnx.ModelProto, feeds: dict, threads: int, runs: int) -> dict[str, dict]:
    """ms per run (ORT's profiler, kernel time of every node it ran) by op type, by kind, and of the float
    Conv/MatMul/Gemm by model part."""
    per_op: dict[str, float] = defaultdict(float)
    per_kind: dict[str, float] = defaultdict(float)
    islands: dict[str, float] = defaultdict(float)
    for node in profile_nodes(model, feeds, threads, runs):
        per_op[node.op_type] += node.milliseconds
        per_kind[_kind(node.op_type)] += node.milliseconds
        if node.op_type in ISLANDS:
            islands[_part(node.name)] += node.milliseconds
    return {"op_type": dict(per_op), "kind": dict(per_kind), "islands": dict(islands)}


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = {key for run in runs for key in run}
    return {key: float(np.median([run.get(key, 0.0) for run in runs])) for key in keys}


def _table(title: str, columns: dict[str, dict[str, float]], rows: list[str]) -> None:
    print(f"\n{title}\n")
    print("| | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{c.get(row, 0.0):.2f}" for c in columns.values()) + " |")
    print("| **total** | " + " | ".join(f"{sum(c.values()):.2f}" for c in columns.values()) + " |")


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
    parser.add_argument(
        "--profile-repeats", type=int, default=3, help="profiles per graph (alternating; medians)"
    )
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
            f"| {name} | {value['median_ms']:.1f} | {value['min_ms']:.1f} | "
            f"{value['median_ms'] / reference:.2f} |"
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
        repeats: dict[str, list[dict]] = {name: [] for name in graphs}
        for _ in range(max(1, args.profile_repeats)):
            for name, model in graphs.items():
                repeats[name].append(_profile(model, feeds, args.threads, max(3, args.rounds // 4)))
        profiles = {
            part: {name: _medians([r[part] for r in runs]) for name, runs in repeats.items()}
            for part in ("op_type", "kind", "islands")
        }
        by_op = profiles["op_type"]
        ops = sorted(
            {op for p in by_op.values() for op in p},
            key=lambda op: -max(p.get(op, 0.0) for p in by_op.values()),
        )
        _table("kernel time per op type (ms per run, ORT profiler, medians):", by_op, ops)
        kinds = [kind for kind, _ in KINDS] + [OTHER]
        _table("the same by kind (ms per run):", profiles["kind"], kinds)
        # the islands of the quantised graphs (the reference, first, is all float)
        islands = [profiles["islands"][name] for name in list(graphs)[1:]] or [
            profiles["islands"][next(iter(graphs))]
        ]
        parts = sorted(
            {part for graph in islands for part in graph},
            key=lambda part: -max(graph.get(part, 0.0) for graph in islands),
        )[:10]
        _table(
            "float Conv / MatMul / Gemm by model part (ms per run; the 10 largest in any graph but the "
            "first):",
            profiles["islands"],
            parts,
        )
        document["profile_ms"] = profiles
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
