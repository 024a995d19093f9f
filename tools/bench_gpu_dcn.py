"""Time our CUDA DCN kernels on a GPU against the alternatives a user would take, on CoMiX's own shapes.

    python tools/bench_gpu_dcn.py [--variants comix_t comix_s] [--dtypes fp32 fp16] [--iters 50]
        [--json rows.json] [--markdown table.md] [--dry-run]

Shapes: every distinct DCN call of the variants, read from the model itself (forward hooks on each
``DeformConvNd`` during one CPU forward of a ``--tile`` tile with ``--bands`` + ``--x-channels`` inputs),
at batch ``--batch-2d`` (16) for the X branch's 2-D DCNs and ``--batch-3d`` (4) for the HSI branch's 3-D
DCNs. Offsets U(-1, 1) and masks U(0, 1), seeded (comix.ops.cases). Methods, FP32 and FP16:

* 2-D: ours (plugins/torch extension) | ``torchvision.ops.deform_conv2d`` | cuDNN ``conv2d`` of the same
  shape (no sampling: a floor) with TF32 off and on;
* 3-D: ours | cuDNN ``conv3d`` with TF32 off and on (nothing else runs a 3-D DCN on a GPU).

Every row states TF32: ``off``/``on`` for cuDNN (FP32 only: FP16 convolutions use FP16 tensor cores
either way, ``n/a``), ``off`` for torchvision (its GEMM follows ``torch.backends.cuda.matmul.allow_tf32``,
held off), ``never`` for ours (FP32 FMA on CUDA cores; FP16 storage, FP32 accumulation). Times are
medians of CUDA-event timings after warm-up; GB/s = bytes of the method's own tensors (read once,
output written once) / median; TFLOP/s = the convolution's 2·N·O·(C/group)·K·oP multiply-adds / median
(the same count for every method of a shape, so it compares like time). ``max|Δ|`` is ours against
torchvision (2-D) or the comix.ops PyTorch op (3-D) on the same inputs.

``--dry-run`` parses the arguments and plans the shapes and rows on the CPU (no CUDA call), prints the
plan and writes it where ``--json`` says: what CI checks. Without a GPU and without ``--dry-run``:
exit 2 with one sentence.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DTYPES = ("fp32", "fp16")
VARIANTS = ("comix_t", "comix_s", "comix_b")
# recorded targets (issue 20): our FP16 2-D DCN >= 3x faster than torchvision and <= 2x cuDNN conv2d's
# time; our 3-D DCN <= 3x cuDNN conv3d's time
TARGETS = {"2d_vs_torchvision_fp16": 3.0, "2d_vs_cudnn": 2.0, "3d_vs_cudnn": 3.0}


@dataclass(frozen=True)
class DcnShape:
    """One distinct DCN call of a model: what the kernel sees, and which variants make it."""

    ndim: int
    channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[int, ...]
    dilation: tuple[int, ...]
    group: int
    offset_group: int
    mask: bool
    variants: tuple[str, ...] = ()

    def key(self) -> tuple:
        """Everything but ``variants``."""
        return (
            self.ndim,
            self.channels,
            self.out_channels,
            self.size,
            self.kernel,
            self.stride,
            self.pads,
            self.dilation,
            self.group,
            self.offset_group,
            self.mask,
        )

    def label(self, batch: int) -> str:
        return f"{self.ndim}d {batch}x{self.channels}->{self.out_channels} {'x'.join(map(str, self.size))}"

    def case(self, batch: int):
        """The shape as a comix.ops.cases.DcnCase (seeded tensors, geometry, output size)."""
        from comix.ops.cases import DcnCase, Offsets

        return DcnCase(
            f"{'-'.join(self.variants)}_{self.channels}x{'x'.join(map(str, self.size))}",
            self.size,
            self.kernel,
            self.stride,
            self.pads,
            self.dilation,
            channels=self.channels,
            out_channels=self.out_channels,
            group=self.group,
            offset_group=self.offset_group,
            batch=batch,
            mask=self.mask,
            offsets=Offsets("uniform", 1.0),
        )


def model_dcn_shapes(variants: list[str], bands: int, x_channels: int, tile: int) -> list[DcnShape]:
    """Distinct DCN calls of ``variants`` on one ``tile`` x ``tile`` tile (batch 1), in first-call order;
    a shape several variants share lists them all. One CPU forward per variant, no CUDA."""
    import torch

    from comix.model import build_model
    from comix.ops import DeformConvNd

    found: dict[tuple, DcnShape] = {}
    for variant in variants:
        model = build_model(variant, bands=bands, x_channels=x_channels, classes=11).eval()

        def hook(module, inputs, output, variant=variant):
            g = module.geometry
            shape = DcnShape(
                g.ndim,
                int(inputs[0].shape[1]),
                int(output.shape[1]),
                tuple(int(s) for s in inputs[0].shape[2:]),
                tuple(g.kernel),
                tuple(g.stride),
                tuple(g.onnx_pads),
                tuple(g.dilation),
                g.group,
                g.offset_group,
                module.mask_activation != "none",
            )
            known = found.get(shape.key())
            if known is None:
                found[shape.key()] = replace(shape, variants=(variant,))
            elif variant not in known.variants:
                found[shape.key()] = replace(known, variants=(*known.variants, variant))

        handles = [
            m.register_forward_hook(hook) for m in model.modules() if isinstance(m, DeformConvNd)
        ]
        with torch.no_grad():
            model(torch.zeros(1, bands, tile, tile), torch.zeros(1, x_channels, tile, tile))
        for handle in handles:
            handle.remove()
    return sorted(found.values(), key=lambda s: (s.ndim, -math.prod(s.size), s.channels))


@dataclass
class Row:
    """One timed (shape, dtype, method, TF32) combination; times in ms."""

    shape: str
    variants: list[str]
    ndim: int
    batch: int
    dtype: str
    method: str
    tf32: str
    flops: float
    bytes: float
    median_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    max_abs_diff: float | None = None
    note: str = ""

    @property
    def gbps(self) -> float | None:
        return self.bytes / self.median_ms / 1e6 if self.median_ms else None

    @property
    def tflops(self) -> float | None:
        return self.flops / self.median_ms / 1e9 if self.median_ms else None


def methods_for(ndim: int, dtype: str) -> list[tuple[str, str]]:
    """(method, TF32 statement) rows of one shape and dtype, ours first."""
    rows = [("ours", "never")]
    if ndim == 2:
        rows.append(("torchvision", "off"))
    conv = f"cudnn conv{ndim}d"
    rows += [(conv, "off"), (conv, "on")] if dtype == "fp32" else [(conv, "n/a")]
    return rows


def plan_rows(shapes: list[DcnShape], dtypes: list[str], batch_2d: int, batch_3d: int) -> list[Row]:
    """Every row to time, with its FLOP and byte counts (no CUDA)."""
    rows = []
    for shape in shapes:
        batch = batch_2d if shape.ndim == 2 else batch_3d
        case = shape.case(batch)
        geometry = case.geometry()
        out = geometry.output_size(shape.size)
        positions = 1
        for s in out:
            positions *= s
        k, nd = geometry.kernel_points, shape.ndim
        in_plane = 1
        for s in shape.size:
            in_plane *= s
        flops = 2.0 * batch * shape.out_channels * (shape.channels // shape.group) * k * positions
        dense = (
            batch * shape.channels * in_plane  # x
            + shape.out_channels * (shape.channels // shape.group) * k  # w
            + shape.out_channels  # b
            + batch * shape.out_channels * positions  # y
        )
        sampling = batch * shape.offset_group * k * positions * (nd + (1 if shape.mask else 0))
        for dtype in dtypes:
            element = 4 if dtype == "fp32" else 2
            for method, tf32 in methods_for(shape.ndim, dtype):
                elements = dense + (0 if method.startswith("cudnn") else sampling)
                rows.append(
                    Row(
                        shape.label(batch),
                        list(shape.variants),
                        shape.ndim,
                        batch,
                        dtype,
                        method,
                        tf32,
                        flops,
                        float(elements * element),
                    )
                )
    return rows


def time_ms(fn, iters: int, warmup: int = 5) -> tuple[float, float, float]:
    """(median, 10th, 90th percentile) ms of ``fn`` by CUDA events, after ``warmup`` calls."""
    import torch

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
    times.sort()
    return statistics.median(times), times[len(times) // 10], times[(len(times) * 9) // 10]


def _callable(method: str, ndim: int, geometry, tensors):
    """A no-argument function running ``method`` on ``tensors`` (x, offset, weight, bias, mask)."""
    import torch.nn.functional as F
    import torchvision

    from comix.ops import deform_conv

    x, offset, weight, bias, mask = tensors
    window = {
        "stride": geometry.stride,
        "padding": geometry.pad_begin,
        "dilation": geometry.dilation,
    }

    def ours():
        return deform_conv(x, offset, weight, bias, mask, geometry)

    def torchvision_dcn():
        return torchvision.ops.deform_conv2d(x, offset, weight, bias, mask=mask, **window)

    def cudnn():
        conv = F.conv2d if ndim == 2 else F.conv3d
        return conv(x, weight, bias, groups=geometry.group, **window)

    return {"ours": ours, "torchvision": torchvision_dcn}.get(method, cudnn)


def measure(rows: list[Row], shapes: list[DcnShape], iters: int) -> None:
    """Fill in every row's times (and ours' max|Δ|) on the GPU."""
    import torch

    from comix.ops.vectorised import deform_conv_nd
    from comix.plugins.torch import load_extension
    from comix.plugins.torch.tf32 import tf32

    load_extension()  # from here on the ops' CUDA key runs our kernels
    for row in rows:
        shape = next(s for s in shapes if s.label(row.batch) == row.shape)
        case = shape.case(row.batch)
        geometry = case.geometry()
        dtype = torch.float32 if row.dtype == "fp32" else torch.float16
        tensors = case.inputs("float32").torch("cuda", dtype)
        with torch.no_grad(), tf32(row.tf32 == "on"):
            fn = _callable(row.method, row.ndim, geometry, tensors)
            if row.method == "ours":
                other = (
                    _callable("torchvision", 2, geometry, tensors)()
                    if row.ndim == 2
                    else deform_conv_nd(*tensors, geometry)
                )
                row.max_abs_diff = float((fn().float() - other.float()).abs().max())
            row.median_ms, row.p10_ms, row.p90_ms = time_ms(fn, iters)
        del tensors
        torch.cuda.empty_cache()


def ratios(rows: list[Row]) -> list[dict]:
    """Per shape and dtype: ours / each other method's median, and the recorded targets' verdicts."""
    out = []
    keyed: dict[tuple, dict[str, Row]] = {}
    for row in rows:
        keyed.setdefault((row.shape, row.dtype), {})[f"{row.method} tf32 {row.tf32}"] = row
    for (shape, dtype), methods in keyed.items():
        ours = methods.get("ours tf32 never")
        if ours is None or ours.median_ms is None:
            continue
        entry = {"shape": shape, "dtype": dtype}
        for name, row in methods.items():
            if name != "ours tf32 never" and row.median_ms:
                entry[f"ours/{name}"] = ours.median_ms / row.median_ms
        out.append(entry)
    return out


def target_verdicts(table: list[dict]) -> dict[str, dict]:
    """The recorded targets, worst case over shapes: met or not, with the worst ratio."""
    checks = {
        "2d_vs_torchvision_fp16": [
            1 / e["ours/torchvision tf32 off"]
            for e in table
            if e["dtype"] == "fp16" and "ours/torchvision tf32 off" in e
        ],
        "2d_vs_cudnn": [
            e[k]
            for e in table
            if e["shape"].startswith("2d")
            for k in e
            if k.startswith("ours/cudnn")
        ],
        "3d_vs_cudnn": [
            e[k]
            for e in table
            if e["shape"].startswith("3d")
            for k in e
            if k.startswith("ours/cudnn")
        ],
    }
    verdicts = {}
    for name, values in checks.items():
        if not values:
            continue
        if name == "2d_vs_torchvision_fp16":
            worst = min(values)
            verdicts[name] = {
                "worst_speedup": worst,
                "target": TARGETS[name],
                "met": worst >= TARGETS[name],
            }
        else:
            worst = max(values)
            verdicts[name] = {
                "worst_ratio": worst,
                "target": TARGETS[name],
                "met": worst <= TARGETS[name],
            }
    return verdicts


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def markdown(rows: list[Row], header: dict) -> str:
    lines = [
        f"GPU DCN benchmark — {header.get('device', 'no device (dry run)')}; torch {header['torch']}, "
        f"CUDA {header.get('cuda')}, cuDNN {header.get('cudnn')}, torchvision {header.get('torchvision')}; "
        f"{header['iters']} timed runs per row, medians; {header['created']}",
        "",
        "| shape (N×C→O, size) | variants | dtype | method | TF32 | median ms | p10–p90 ms | GB/s "
        "| TFLOP/s | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.shape} | {', '.join(r.variants)} | {r.dtype} | {r.method} | {r.tf32} | "
            f"{_fmt(r.median_ms, '.4f')} | {_fmt(r.p10_ms, '.4f')}–{_fmt(r.p90_ms, '.4f')} | "
            f"{_fmt(r.gbps, '.1f')} | {_fmt(r.tflops, '.2f')} | {_fmt(r.max_abs_diff, '.2e')} |"
        )
    return "\n".join(lines) + "\n"


def environment(iters: int, dry_run: bool) -> dict:
    import torch

    header = {
        "tool": "tools/bench_gpu_dcn.py",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": _git_commit(),
        "host": platform.node(),
        "torch": torch.__version__,
        "iters": iters,
        "dry_run": dry_run,
    }
    if not dry_run:
        import torchvision

        header.update(
            device=torch.cuda.get_device_name(),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            torchvision=torchvision.__version__,
        )
    return header


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", nargs="+", default=["comix_t", "comix_s"], choices=VARIANTS)
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    parser.add_argument("--bands", type=int, default=144, help="HSI bands of the model (144)")
    parser.add_argument("--x-channels", type=int, default=1, help="X channels of the model (1)")
    parser.add_argument("--tile", type=int, default=128, help="tile the shapes are read at (128)")
    parser.add_argument("--batch-2d", type=int, default=16, help="batch of the 2-D rows (16)")
    parser.add_argument("--batch-3d", type=int, default=4, help="batch of the 3-D rows (4)")
    parser.add_argument("--iters", type=int, default=50, help="timed runs per row (50)")
    parser.add_argument("--json", type=Path, help="write the rows, ratios and environment as JSON")
    parser.add_argument("--markdown", type=Path, help="write the table as markdown")
    parser.add_argument(
        "--dry-run", action="store_true", help="plan shapes and rows on the CPU; no CUDA call"
    )
    args = parser.parse_args(argv)
    for name in ("bands", "x_channels", "batch_2d", "batch_3d", "iters"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected >= 1")
    if args.tile < 32 or args.tile % 32:
        parser.error(f"--tile: got {args.tile}, expected a multiple of 32 (the model's stride)")
    for path in (args.json, args.markdown):
        if path is not None and not path.parent.is_dir():
            parser.error(f"{path}: got a folder that does not exist, expected an existing one")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            f"bench_gpu_dcn: got torch {torch.__version__} with no CUDA GPU (CUDA build: "
            f"{torch.version.cuda}), expected a GPU host with a CUDA build of torch and nvcc "
            "(or --dry-run to plan on a CPU)",
            file=sys.stderr,
        )
        return 2
    shapes = model_dcn_shapes(args.variants, args.bands, args.x_channels, args.tile)
    rows = plan_rows(shapes, args.dtypes, args.batch_2d, args.batch_3d)
    header = environment(args.iters, args.dry_run)
    if not args.dry_run:
        measure(rows, shapes, args.iters)
    table = ratios(rows)
    document = {
        "environment": header,
        "shapes": [asdict(s) for s in shapes],
        "rows": [{**asdict(r), "gbps": r.gbps, "tflops": r.tflops} for r in rows],
        "ratios": table,
        "targets": target_verdicts(table),
    }
    text = markdown(rows, header)
    print(text, end="")
    if args.dry_run:
        print(f"dry run: {len(shapes)} shapes, {len(rows)} rows planned; nothing timed")
    for name, verdict in document["targets"].items():
        print(f"target {name}: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
