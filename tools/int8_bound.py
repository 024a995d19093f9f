"""How fast can an INT8 graph of this model be on this CPU? An Amdahl bound from measurements.

    python tools/int8_bound.py runs/demo/model.onnx [--tile 128] [--threads 1] [--rounds 20]

1. Profiles the FP32 graph on one tile (ONNX Runtime's profiler, per node) and splits its kernel time into
   what INT8 can speed up (Conv / MatMul / Gemm, fused or not, and ORT's NCHWc reorders around them) and
   what it cannot (the DCN nodes, which stay float, and everything else).
2. Measures the INT8 speed-up of ONNX Runtime's own kernels on this CPU: ``QLinearConv`` (U8S8, what the
   ``--target cpu`` graph fuses into) against FP32 ``Conv`` on convolution shapes of the model, side by side
   in interleaved rounds; the best of them is the most any quantised node can gain here.
3. Prints the bound: the INT8/FP32 latency ratio if every convertible node ran at that best speed-up, and if
   they cost nothing at all; and the speed-up the 0.7x target would need.
4. Splits the DCN nodes' time into their matrix product (multiply-adds at the FP32 rate measured in 2)
   and the sampling, to bound what an INT8 GEMM inside our DCN op could save.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from comix.calibration.graph import graph_inputs
from comix.metadata import ModelRecord
from comix.runtime.ort_profile import NodeRun, profile_nodes
from comix.runtime.session import SessionFactory

CONVERTIBLE = {
    "Conv",
    "FusedConv",
    "MatMul",
    "FusedMatMul",
    "Gemm",
    "FusedGemm",
    "ReorderInput",
    "ReorderOutput",
}
DCN = {"DeformConv", "DeformConv3D"}
TARGET = 0.7
# (Cin, Cout, kernel, spatial): conv shapes of comix_t (decoder fuse, X stages, the 3-D offset
# conv's GEMM size as a 2-D conv) and a large one, the best case for any GEMM kernel
CONV_SHAPES = [
    (512, 128, 1, (32, 32)),
    (128, 128, 3, (16, 16)),
    (64, 256, 1, (16, 16)),
    (32, 32, 3, (32, 32)),
    (216, 108, 1, (64, 128)),
    (256, 256, 3, (64, 64)),
]


def _conv_pair(
    cin: int, cout: int, kernel: int, spatial: tuple[int, int], rng
) -> tuple[bytes, dict, bytes, dict]:
    """(FP32 Conv graph, feeds, QLinearConv U8S8 graph with per-channel 7-bit weights, feeds)."""
    weight = rng.standard_normal((cout, cin, kernel, kernel)).astype(np.float32) * 0.05
    bias = rng.standard_normal(cout).astype(np.float32) * 0.1
    pads = [kernel // 2] * 4
    x = rng.uniform(0, 1, (1, cin, *spatial)).astype(np.float32)
    fp32 = helper.make_model(
        helper.make_graph(
            [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=pads)],
            "conv",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    w_scale = (np.abs(weight).reshape(cout, -1).max(axis=1) / 63.0).astype(np.float32)
    x_scale, y_scale = np.float32(1 / 255), np.float32(0.05)
    initializers = [
        numpy_helper.from_array(np.array(x_scale, np.float32), "xs"),
        numpy_helper.from_array(np.uint8(0), "xz"),
        numpy_helper.from_array(
            np.round(weight / w_scale[:, None, None, None]).astype(np.int8), "wq"
        ),
        numpy_helper.from_array(w_scale, "ws"),
        numpy_helper.from_array(np.zeros(cout, np.int8), "wz"),
        numpy_helper.from_array(np.array(y_scale, np.float32), "ys"),
        numpy_helper.from_array(np.uint8(128), "yz"),
        numpy_helper.from_array(np.round(bias / (x_scale * w_scale)).astype(np.int32), "bq"),
    ]
    int8 = helper.make_model(
        helper.make_graph(
            [
                helper.make_node(
                    "QLinearConv",
                    ["xq", "xs", "xz", "wq", "ws", "wz", "ys", "yz", "bq"],
                    ["y"],
                    pads=pads,
                )
            ],
            "qconv",
            [helper.make_tensor_value_info("xq", TensorProto.UINT8, x.shape)],
            [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
            initializers,
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    return (
        fp32.SerializeToString(),
        {"x": x},
        int8.SerializeToString(),
        {"xq": np.round(x * 255).astype(np.uint8)},
    )


def conv_speedups(threads: int, rounds: int) -> list[dict]:
    """Per shape: FP32 and INT8 medians (interleaved rounds), the ratio and the FP32 multiply-add rate."""
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, kernel, spatial in CONV_SHAPES:
        fp32, fp32_feeds, int8, int8_feeds = _conv_pair(cin, cout, kernel, spatial, rng)
        runs = {
            name: (
                SessionFactory(model, providers=["CPUExecutionProvider"], threads=threads)(),
                feeds,
            )
            for name, model, feeds in (("fp32", fp32, fp32_feeds), ("int8", int8, int8_feeds))
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for index in range(rounds + 2):
            for name, (session, feeds) in runs.items():
                start = time.perf_counter()
                session.run(None, feeds)
                if index >= 2:
                    times[name].append(1000 * (time.perf_counter() - start))
        fp32_ms, int8_ms = statistics.median(times["fp32"]), statistics.median(times["int8"])
        macs = cin * cout * kernel * kernel * spatial[0] * spatial[1]
        rows.append(
            {
                "shape": f"{cin}->{cout}, {kernel}x{kernel}, {spatial[0]}x{spatial[1]}",
                "fp32_ms": fp32_ms,
                "int8_ms": int8_ms,
                "speedup": fp32_ms / int8_ms,
                "fp32_gmacs": macs / fp32_ms / 1e6,
            }
        )
    return rows


def dcn_macs(node: NodeRun) -> int:
    """Multiply-adds of a DCN node's matrix product: Cout x (Cin/groups x kernel) x output positions."""
    weight, offset = (
        node.inputs[1],
        node.inputs[2],
    )  # (Cout, Cin/g, k...), (N, offsets, out spatial...)
    return int(math.prod(weight)) * int(math.prod(offset[2:])) * offset[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    model = onnx.load(args.model)
    names, record = graph_inputs(model), ModelRecord.read_onnx(model)
    rng = np.random.default_rng(0)
    feeds = {
        names.hsi: rng.uniform(
            0, 1, (1, names.bands or record.hsi_bands, args.tile, args.tile)
        ).astype(np.float32),
        names.x: rng.uniform(
            0, 1, (1, names.x_channels or record.x_channels, args.tile, args.tile)
        ).astype(np.float32),
    }
    nodes = profile_nodes(model, feeds, args.threads, max(5, args.rounds // 2))
    total = sum(n.milliseconds for n in nodes)
    convertible = sum(n.milliseconds for n in nodes if n.op_type in CONVERTIBLE)
    dcn = [n for n in nodes if n.op_type in DCN]
    dcn_ms = sum(n.milliseconds for n in dcn)
    rest = total - convertible - dcn_ms
    rows = conv_speedups(args.threads, args.rounds)
    best = max(rows, key=lambda r: r["speedup"])
    fp32_rate = max(
        r["fp32_gmacs"] for r in rows
    )  # GMAC/s: the FP32 GEMM rate the DCN's product could reach

    print(
        f"# INT8 bound for {args.model}: one {args.tile}x{args.tile} tile, "
        f"ONNX Runtime {ort.__version__} CPU, {args.threads} thread(s); "
        f"{platform.processor() or platform.machine()}\n"
    )
    print("FP32 kernel time (ORT profiler, ms per run):\n\n| part | ms | share |\n|---|---|---|")
    for label, value in (
        ("Conv / MatMul / Gemm (+ NCHWc reorders): INT8 can speed up", convertible),
        ("DCN nodes (stay float)", dcn_ms),
        ("everything else", rest),
        ("**total**", total),
    ):
        print(f"| {label} | {value:.2f} | {value / total:.0%} |")
    print(
        f"\nONNX Runtime's INT8 convolution (QLinearConv U8S8) against FP32 Conv here, "
        f"{args.rounds} interleaved rounds:\n\n"
        "| conv (Cin->Cout, kernel, H x W) | FP32 ms | INT8 ms | INT8 speed-up | FP32 GMAC/s |\n"
        "|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['shape']} | {r['fp32_ms']:.3f} | {r['int8_ms']:.3f} | {r['speedup']:.2f}x | "
            f"{r['fp32_gmacs']:.1f} |"
        )
    gemm_ms = (
        sum(dcn_macs(n) for n in dcn) / fp32_rate / 1e6
    )  # the DCN's product at the best FP32 rate
    speedup = best["speedup"]
    gainable = (
        convertible + gemm_ms
    )  # what INT8 kernels could run: the convertible nodes and the DCNs' products
    bound = (total - gainable + gainable / speedup) / total
    floor = (total - gainable) / total
    print(
        f"\nDCN nodes: {dcn_ms:.2f} ms, of which the matrix product is at most ~{gemm_ms:.2f} ms "
        f"at {fp32_rate:.1f} GMAC/s ({sum(dcn_macs(n) for n in dcn) / 1e6:.1f} M multiply-adds); "
        f"the rest, {dcn_ms - gemm_ms:.2f} ms, is sampling. An INT8 GEMM inside the DCN op at "
        f"{speedup:.2f}x would save at most "
        f"{gemm_ms * (1 - 1 / speedup):.2f} ms ({gemm_ms * (1 - 1 / speedup) / total:.1%} of the tile)."
    )
    print(
        f"\nBound on the INT8/FP32 ratio, with every convertible node *and* the DCNs' products at "
        f"the best INT8 speed-up measured ({speedup:.2f}x, {best['shape']}): **{bound:.2f}x**; "
        f"{floor:.2f}x if they cost nothing."
    )
    if TARGET * total > total - gainable:
        needed = gainable / (TARGET * total - (total - gainable))
        print(
            f"The {TARGET}x target needs {needed:.2f}x on all of them, or, at {speedup:.2f}x, the rest "
            f"({total - gainable:.2f} ms: sampling, normalisation, activations, resizing) "
            f"{(total - gainable) / (TARGET * total - gainable / speedup):.2f}x faster."
        )
    else:
        print(f"The {TARGET}x target is below even that floor.")


if __name__ == "__main__":
    main()
