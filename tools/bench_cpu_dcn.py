"""Time the CPU deformable convolutions side by side and print a table (median of repeated runs).

Cases (N=1, offsets ~ N(0, 1), mask in [0, 1), bias):
  3-D  C=32->32, D=H=W=32, 3x3x3, pad 1: ai.comix DeformConv3D (our ORT op) vs torch Conv3d (no deformation)
  2-D  C=64->64, 64x64, 3x3, pad 1:      ONNX Runtime's built-in DeformConv vs our 2-D op vs torch Conv2d

Runs are interleaved (one run of every implementation per round) so that load from other processes
hits all of them alike. The tool builds the library (CPU + ORT op, 2-D op registered) in --build-dir.
On a shared machine also run with --threads 1: single-threaded times suffer far less from other
processes than multi-threaded ones (torch's OpenMP threads spin when a core is taken away).

    python tools/bench_cpu_dcn.py [--repeats 15] [--threads 0] [--build-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D
from comix.plugins.build import build_plugins


def deform_conv_model(op_type: str, domain: str, shapes: dict[str, tuple[int, ...]], attrs: dict) -> bytes:
    """One-node model X, W, offset, B, mask -> Y."""
    names = ["X", "W", "offset", "B", "mask"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in names]
    node = helper.make_node(op_type, names, ["Y"], domain=domain, **attrs)
    graph = helper.make_graph([node], "bench", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    opsets = [helper.make_opsetid("", 19), helper.make_opsetid(CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10).SerializeToString()


def make_feed(rng: np.random.Generator, channels: int, size: tuple[int, ...], kernel: int) -> dict[str, np.ndarray]:
    nd = len(size)
    points = kernel**nd
    return {
        "X": rng.standard_normal((1, channels, *size), dtype=np.float32),
        "W": rng.standard_normal((channels, channels, *(kernel,) * nd), dtype=np.float32) * 0.05,
        "offset": rng.standard_normal((1, points * nd, *size), dtype=np.float32),
        "B": rng.standard_normal(channels, dtype=np.float32),
        "mask": rng.random((1, points, *size), dtype=np.float32),
    }


def ort_runner(model: bytes, feed: dict, library: Path | None, threads: int) -> Callable[[], np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if library is not None:
        options.register_custom_ops_library(str(library))
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, feed)[0]


def torch_conv_runner(feed: dict) -> Callable[[], np.ndarray]:
    x, w, b = (torch.from_numpy(feed[k]) for k in ("X", "W", "B"))
    conv = torch.nn.functional.conv3d if x.dim() == 5 else torch.nn.functional.conv2d

    def run() -> np.ndarray:
        with torch.no_grad():
            return conv(x, w, b, padding=1).numpy()

    return run


def time_side_by_side(runners: dict[str, Callable], repeats: int, warmup: int) -> dict[str, float]:
    """Median milliseconds per runner, runs interleaved round by round."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: float(np.median(values)) for name, values in samples.items()}


def print_table(title: str, medians: dict[str, float], baseline: str) -> None:
    print(f"\n{title}")
    print(f"(ratio = time / time of {baseline})")
    print(f"| {'implementation':<46} | {'median ms':>9} | {'ratio':>6} |")
    print(f"|{'-' * 48}|{'-' * 11}|{'-' * 8}|")
    for name, ms in medians.items():
        print(f"| {name:<46} | {ms:9.2f} | {ms / medians[baseline]:6.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads for ORT and torch (0 = all cores)")
    parser.add_argument("--build-dir", default=str(Path(tempfile.gettempdir()) / "comix_bench_build"))
    args = parser.parse_args(argv)

    built = build_plugins(args.build_dir, cuda=False, ort_deform_conv_2d=True, targets=["comix_ort_dcn"])
    library = built["comix_ort_dcn"]
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {ort.__version__} "
          f"(intra-op threads {args.threads or 'default'}), library {library}")

    attrs3 = {"kernel_shape": [3, 3, 3], "pads": [1] * 6}
    feed3 = make_feed(rng, 32, (32, 32, 32), 3)
    shapes3 = {k: v.shape for k, v in feed3.items()}
    runners3 = {
        "ai.comix DeformConv3D (ORT custom op, ours)":
            ort_runner(deform_conv_model(DEFORM_CONV_3D, CUSTOM_DOMAIN, shapes3, attrs3), feed3, library, args.threads),
        "torch Conv3d (no deformation)": torch_conv_runner(feed3),
    }
    medians3 = time_side_by_side(runners3, args.repeats, args.warmup)
    print_table("3-D: N=1, C=32->32, D=H=W=32, 3x3x3, pad 1 (with mask and bias)", medians3,
                "torch Conv3d (no deformation)")

    attrs2 = {"kernel_shape": [3, 3], "pads": [1] * 4}
    feed2 = make_feed(rng, 64, (64, 64), 3)
    shapes2 = {k: v.shape for k, v in feed2.items()}
    runners2 = {
        "ONNX Runtime DeformConv (built-in)": ort_runner(deform_conv_model("DeformConv", "", shapes2, attrs2), feed2,
                                                         None, args.threads),
        "ai.comix DeformConv 2-D (ORT custom op, ours)":
            ort_runner(deform_conv_model("DeformConv", CUSTOM_DOMAIN, shapes2, attrs2), feed2, library, args.threads),
        "torch Conv2d (no deformation)": torch_conv_runner(feed2),
    }
    difference = np.abs(runners2["ONNX Runtime DeformConv (built-in)"]()
                        - runners2["ai.comix DeformConv 2-D (ORT custom op, ours)"]()).max()
    medians2 = time_side_by_side(runners2, args.repeats, args.warmup)
    print_table("2-D: N=1, C=64->64, 64x64, 3x3, pad 1 (with mask and bias)", medians2,
                "ONNX Runtime DeformConv (built-in)")
    print(f"2-D ours vs ORT built-in: max |difference| = {difference:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
