"""Time the CoMiX CUDA DCN kernels on a GPU against the pure-PyTorch op and a plain convolution.

    python tools/bench_gpu_dcn.py [--iters 50] [--dtypes fp32 fp16] [--json out.json]

Rows: 2-D (CoMiX X branch sizes) and 3-D (HSI branch sizes); columns: CUDA extension (plugins/torch),
comix.ops pure-PyTorch DCN on the same GPU (torchvision-free), and a plain conv of the same shape as a
floor. Times are medians of CUDA-event timings after warm-up. Bandwidth = bytes of the op's tensors
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

from comix.ops import deform_conv2d, deform_conv3d, infer_geometry
from comix.ops.deform_conv import deform_conv_nd


@dataclass(frozen=True)
class Shape:
    name: str
    batch: int
    channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    offset_group: int = 1


SHAPES = [
    Shape("2d_64x64_c64", 1, 64, 64, (64, 64), (3, 3)),
    Shape("2d_128x128_c64_b4", 4, 64, 64, (128, 128), (3, 3), 4),
    Shape("3d_32^3_c32", 1, 32, 32, (32, 32, 32), (3, 3, 3)),
    Shape("3d_hsi_60x64x64_c16", 1, 16, 16, (60, 64, 64), (3, 3, 3)),
]
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


def inputs(shape: Shape, dtype: torch.dtype):
    nd = len(shape.size)
    points = 1
    for k in shape.kernel:
        points *= k
    out = shape.size  # stride 1, "same" padding
    dev = "cuda"
    x = torch.randn(shape.batch, shape.channels, *shape.size, device=dev, dtype=dtype)
    w = torch.randn(shape.out_channels, shape.channels, *shape.kernel, device=dev, dtype=dtype) * 0.05
    off = torch.randn(shape.batch, shape.offset_group * points * nd, *out, device=dev, dtype=dtype)
    mask = torch.rand(shape.batch, shape.offset_group * points, *out, device=dev, dtype=dtype)
    b = torch.randn(shape.out_channels, device=dev, dtype=dtype)
    return x, off, w, b, mask, points


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


def bench(shape: Shape, dtype_name: str, iters: int) -> Row:
    from comix.plugins.torch import load_extension

    load_extension()  # from here on the ops' CUDA key runs our kernel
    dtype = DTYPES[dtype_name]
    x, off, w, b, mask, points = inputs(shape, dtype)
    nd = len(shape.size)
    pad = [k // 2 for k in shape.kernel]
    cuda_op = deform_conv2d if nd == 2 else deform_conv3d
    geometry = infer_geometry(x, off, w, 1, pad, 1)

    def torch_op(x, off, w, b, mask, padding):  # the vectorised PyTorch implementation, called directly
        return deform_conv_nd(x, off, w, b, mask, geometry)

    conv = F.conv2d if nd == 2 else F.conv3d
    with torch.no_grad():
        y = cuda_op(x, off, w, b, mask, padding=pad)
        cuda_ms = time_ms(lambda: cuda_op(x, off, w, b, mask, padding=pad), iters)
        try:
            y_torch = torch_op(x, off, w, b, mask, padding=pad)
            torch_ms = time_ms(lambda: torch_op(x, off, w, b, mask, padding=pad), max(3, iters // 10))
            diff = float((y.float() - y_torch.float()).abs().max())
        except torch.OutOfMemoryError:
            torch_ms, diff = None, None
            torch.cuda.empty_cache()
        conv_ms = time_ms(lambda: conv(x, w, b, padding=pad), iters)
    element = x.element_size()
    tensor_bytes = sum(t.numel() for t in (x, off, w, b, mask, y)) * element
    positions = y[0, 0].numel()
    column_bytes = 2 * shape.batch * shape.channels * points * positions * 4
    return Row(shape.name, dtype_name, cuda_ms, torch_ms, conv_ms, tensor_bytes / cuda_ms / 1e6,
               (tensor_bytes + column_bytes) / cuda_ms / 1e6, diff)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "fp16"], choices=sorted(DTYPES))
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"bench_gpu_dcn: no CUDA GPU (torch {torch.__version__}, CUDA build: {torch.version.cuda}); "
              "run it on a GPU host with a CUDA build of torch and nvcc", file=sys.stderr)
        return 2
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  CUDA {torch.version.cuda}")
    rows = [bench(s, d, args.iters) for s in SHAPES for d in args.dtypes]
    header = f"{'shape':<22}{'dtype':<6}{'cuda ms':>10}{'torch ms':>10}{'speedup':>9}{'conv ms':>9}{'GB/s':>8}{'GB/s+cols':>11}{'max|diff|':>11}"
    print(header)
    print("-" * len(header))
    for r in rows:
        torch_ms = f"{r.torch_ms:10.3f}" if r.torch_ms is not None else f"{'OOM':>10}"
        speedup = f"{r.torch_ms / r.cuda_ms:8.1f}x" if r.torch_ms is not None else f"{'-':>9}"
        diff = f"{r.max_abs_diff_vs_torch:11.2e}" if r.max_abs_diff_vs_torch is not None else f"{'-':>11}"
        print(f"{r.shape:<22}{r.dtype:<6}{r.cuda_ms:10.3f}{torch_ms}{speedup}{r.conv_ms:9.3f}{r.gbps:8.1f}{r.gbps_with_columns:11.1f}{diff}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
