"""GPU runtime check on a whole scene: ``--backend torch --device cuda`` (our CUDA DCN kernels through the
PyTorch extension, TF32 off) against ONNX Runtime on the CPU, and optionally a TensorRT engine, on a
Houston-like scene. Prints a table (seconds, pixels with the same class, max |Δlogit|, TF32) and writes it
as JSON.

    python tools/check_gpu_runtime.py --checkpoint RUN/checkpoint --onnx model.onnx [--engine model.engine]
        [--height 349 --width 1905] [--tile 128] [--batch 8] [--output gpu_runtime.json] [--dry-run]

``--checkpoint`` and ``--onnx`` go together: the same weights as a checkpoint (for PyTorch) and as the
graph exported from it (for ONNX Runtime). Without them it trains nothing: it builds a fresh comix_t
(random weights, deforming offsets, normalisation measured on the scene) and exports it first. The
threshold of the GPU runtime is >= 99.9 % of pixels with the same class as ONNX Runtime (exit 1 below).

TF32 is off while PyTorch runs on the GPU (cuDNN's default TF32 alone can move a logit by 1e-3); an
engine's TF32 is what its record says it was built with (``comix build --no-tf32`` for parity).
``--dry-run`` does every step up to the first CUDA call on a CPU (scene, checkpoint, export, ONNX Runtime
on the scene) and reports the GPU rows as not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

THRESHOLD = 0.999


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, help="checkpoint folder (with --onnx)")
    parser.add_argument("--onnx", type=Path, help="the graph exported from --checkpoint")
    parser.add_argument("--engine", type=Path, help="also run this TensorRT engine")
    parser.add_argument("--height", type=int, default=349, help="scene height (349)")
    parser.add_argument("--width", type=int, default=1905, help="scene width (1905)")
    parser.add_argument("--tile", type=int, default=128, help="sliding-window tile (128)")
    parser.add_argument("--batch", type=int, default=8, help="tiles per batch (8)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: all)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/gpu_check"))
    parser.add_argument("--output", type=Path, help="write the rows as JSON")
    parser.add_argument(
        "--dry-run", action="store_true", help="everything up to the first CUDA call"
    )
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != (args.onnx is None):
        parser.error(
            f"--checkpoint / --onnx: got only {'--checkpoint' if args.checkpoint else '--onnx'}, "
            "expected both (the same weights for PyTorch and ONNX Runtime) or neither"
        )
    for name in ("checkpoint", "onnx", "engine"):
        path = getattr(args, name)
        if path is not None and not path.exists():
            parser.error(f"--{name} {path}: got no such file or folder, expected an existing one")
    for name in ("height", "width", "tile", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: got {getattr(args, name)}, expected >= 1")
    return args


def make_model(
    hsi: np.ndarray, x: np.ndarray, classes: int, tile: int, workdir: Path
) -> tuple[Path, Path]:
    """A fresh comix_t checkpoint with deforming offsets and the scene's normalisation, and its export."""
    import torch

    from comix.export.checkpoint import ExportOptions, export_checkpoint
    from comix.export.testing import deform_for_parity
    from comix.model import build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model("comix_t", bands=hsi.shape[0], x_channels=x.shape[0], classes=classes)
    deform_for_parity(model, seed=1)
    model.set_normalization(
        torch.from_numpy(hsi.mean(axis=(1, 2))),
        torch.from_numpy(hsi.std(axis=(1, 2)) + 1e-3),
        x.mean(axis=(1, 2)).tolist(),
        (x.std(axis=(1, 2)) + 1e-3).tolist(),
    )
    checkpoint = workdir / "checkpoint"
    save_checkpoint(model.eval(), checkpoint, variant="comix_t")
    onnx_path = workdir / "model.onnx"
    export_checkpoint(checkpoint, onnx_path, ExportOptions(tile=(tile, tile)))
    return checkpoint, onnx_path


def timed_window(backend, hsi: np.ndarray, x: np.ndarray, tile: int, batch: int):
    """(result, seconds) of one whole-scene pass, after a one-tile warm-up (CUDA context, JIT)."""
    from comix.runtime import SlidingWindow

    window = SlidingWindow(backend, tile=tile, batch=batch)
    window(hsi[:, :tile, :tile], x[:, :tile, :tile])
    start = time.perf_counter()
    result = window(hsi, x)
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            f"check_gpu_runtime: got torch {torch.__version__} with no CUDA GPU, expected a GPU host "
            "(or --dry-run for the CPU part)",
            file=sys.stderr,
        )
        return 2
    from comix.data.synthetic import houston_like
    from comix.runtime import OnnxRuntimeBackend, TorchBackend

    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    scene = houston_like(seed=0, height=args.height, width=args.width).scene
    hsi, x = scene.hsi.astype(np.float32), scene.x.astype(np.float32)
    scene_seconds = time.perf_counter() - start
    checkpoint, onnx_path = args.checkpoint, args.onnx
    if checkpoint is None:
        checkpoint, onnx_path = make_model(hsi, x, int(scene.num_classes), args.tile, args.workdir)
    runs = {"onnxruntime (CPU)": ("n/a (CPU)", OnnxRuntimeBackend(onnx_path, threads=args.threads))}
    if not args.dry_run:
        from comix.plugins.torch.tf32 import tf32

        runs["torch --device cuda"] = ("off", TorchBackend.from_checkpoint(checkpoint, "cuda"))
        if args.engine is not None:
            from comix.runtime.segment import open_backend
            from comix.tensorrt.engine_record import read_engine_record

            facts, _ = read_engine_record(args.engine)
            built = (facts.build_options or {}).get("tf32", True)
            runs["tensorrt"] = ("on" if built else "off", open_backend(args.engine, "tensorrt"))
    results = {}
    for name, (_, backend) in runs.items():
        if name == "torch --device cuda":
            with tf32(False):
                results[name] = timed_window(backend, hsi, x, args.tile, args.batch)
        else:
            results[name] = timed_window(backend, hsi, x, args.tile, args.batch)
    reference, _ = results["onnxruntime (CPU)"]
    device = torch.cuda.get_device_name(0) if not args.dry_run else "none (dry run)"
    print(
        f"scene {args.height}x{args.width} ({scene_seconds:.1f} s to make), {hsi.shape[0]} bands, "
        f"tile {args.tile}, batch {args.batch}, GPU {device}"
    )
    print(f"{'backend':<22} {'TF32':>9} {'seconds':>8} {'same class':>12} {'max |Δlogit|':>13}")
    rows = []
    for name, (result, seconds) in results.items():
        same = float(np.mean(result.classes == reference.classes))
        diff = float(np.abs(result.logits - reference.logits).max())
        tf32_state = runs[name][0]
        rows.append(
            {
                "backend": name,
                "tf32": tf32_state,
                "seconds": seconds,
                "same_class": same,
                "max_abs_logit_diff": diff,
            }
        )
        print(f"{name:<22} {tf32_state:>9} {seconds:>8.2f} {same:>11.4%} {diff:>13.3g}")
    if args.dry_run:
        print("dry run: torch --device cuda and the engine not run (no CUDA call made)")
        rows.append({"backend": "torch --device cuda", "tf32": "off", "not_run": "dry run"})
    document = {
        "tool": "tools/check_gpu_runtime.py",
        "rows": rows,
        "scene": [args.height, args.width],
        "bands": int(hsi.shape[0]),
        "tile": args.tile,
        "batch": args.batch,
        "checkpoint": str(checkpoint),
        "onnx": str(onnx_path),
        "device": device,
        "threshold_same_class": THRESHOLD,
        "dry_run": args.dry_run,
    }
    if args.output:
        args.output.write_text(json.dumps(document, indent=2))
    worst = min(r["same_class"] for r in rows if "same_class" in r)
    return 0 if worst >= THRESHOLD else 1


if __name__ == "__main__":
    raise SystemExit(main())
