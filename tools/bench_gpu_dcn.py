"""Time the CoMiX CUDA DCN kernels on a GPU against the pure-PyTorch op and a plain convolution.

    python tools/bench_gpu_dcn.py [--iters 50] [--dtypes fp32 fp16] [--json out.json]

Rows: comix.ops.cases.BENCH_CASES, 2-D (CoMiX X branch sizes) and 3-D (HSI branch sizes); columns:
CUDA extension (plugins/torch), comix.ops pure-PyTorch DCN on the same GPU (torchvision-free), and a
plain conv of the same shape as a floor. Times are medians of CUDA-event timings after warm-up. Bandwidth = bytes of the op's tensors
(X, offset, mask, W, B read once; Y written once) / median time; "+cols" adds the FP32 column
buffer written and read once by the im2col + GEMM path. Exits with status 2 and a message without a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from comix.ops import deform_conv
from comix.ops.cases import BENCH_CASES, DcnCase
from comix.ops.vectorised import deform_conv_nd

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def time_ms(fn, iters: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def inputs(case: DcnCase, dtype: torch.dtype):
    """The case's seeded tensors (comix.ops.cases), drawn in the storage dtype, on the GPU."""
    name = str(dtype).replace("torch.", "")
    return case.inputs(name).torch("cuda")


@dataclass
class Row:
    shape: str
    dtype: str
    cuda_ms: float
    torch_ms: float | None
    conv_ms: float
    gbps: float
    gbps_with_columns: float
    max_abs_diff_vs_torch: float | None


def bench(case: DcnCase, dtype_name: str, iters: int) -> Row:
    from comix.plugins.torch import load_extension

    load_extension()  # from here on the ops' CUDA key runs our kernel
    dtype = DTYPES[dtype_name]
    x, off, w, b, mask = inputs(case, dtype)
    geometry = case.geometry()
    conv = F.conv2d if case.ndim == 2 else F.conv3d
    if geometry.pad_begin != geometry.pad_end:
        raise ValueError(
            f"{case.id}: pads {geometry.onnx_pads}: got begins != ends, expected symmetric pads "
            "(the plain-conv floor takes one pad per axis)"
        )
    with torch.no_grad():
        y = deform_conv(
            x, off, w, b, mask, geometry
        )  # the op, dispatched to the extension's CUDA kernel
        cuda_ms = time_ms(lambda: deform_conv(x, off, w, b, mask, geometry), iters)
        try:  # the vectorised PyTorch implementation, called directly, on the same GPU
            y_torch = deform_conv_nd(x, off, w, b, mask, geometry)
            torch_ms = time_ms(
                lambda: deform_conv_nd(x, off, w, b, mask, geometry), max(3, iters // 10)
            )
            diff = float((y.float() - y_torch.float()).abs().max())
        except torch.OutOfMemoryError:
            torch_ms, diff = None, None
            torch.cuda.empty_cache()
        conv_ms = time_ms(
            lambda: conv(
                x,
                w,
                b,
                stride=geometry.stride,
                padding=list(geometry.pad_begin),
                dilation=geometry.dilation,
                groups=geometry.group,
            ),
            iters,
        )
    element = x.element_size()
    tensor_bytes = sum(t.numel() for t in (x, off, w, b, mask, y) if t is not None) * element
    positions = y[0, 0].numel()
    column_bytes = 2 * case.batch * case.channels * geometry.kernel_points * positions * 4
    return Row(
        case.id,
        dtype_name,
        cuda_ms,
        torch_ms,
        conv_ms,
        tensor_bytes / cuda_ms / 1e6,
        (tensor_bytes + column_bytes) / cuda_ms / 1e6,
        diff,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "fp16"], choices=sorted(DTYPES))
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(
            f"bench_gpu_dcn: no CUDA GPU (torch {torch.__version__}, CUDA build: {torch.version.cuda}); "
            "run it on a GPU host with a CUDA build of torch and nvcc",
            file=sys.stderr,
        )
        return 2
    print(
        f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  CUDA {torch.version.cuda}"
    )
    rows = [bench(c, d, args.iters) for c in BENCH_CASES for d in args.dtypes]
    header = f"{'shape':<22}{'dtype':<6}{'cuda ms':>10}{'torch ms':>10}{'speedup':>9}{'conv ms':>9}{'GB/s':>8}{'GB/s+cols':>11}{'max|diff|':>11}"
    print(header)
    print("-" * len(header))
    for r in rows:
        torch_ms = f"{r.torch_ms:10.3f}" if r.torch_ms is not None else f"{'OOM':>10}"
        speedup = f"{r.torch_ms / r.cuda_ms:8.1f}x" if r.torch_ms is not None else f"{'-':>9}"
        diff = (
            f"{r.max_abs_diff_vs_torch:11.2e}"
            if r.max_abs_diff_vs_torch is not None
            else f"{'-':>11}"
        )
        print(
            f"{r.shape:<22}{r.dtype:<6}{r.cuda_ms:10.3f}{torch_ms}{speedup}{r.conv_ms:9.3f}{r.gbps:8.1f}{r.gbps_with_columns:11.1f}{diff}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
