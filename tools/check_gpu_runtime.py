"""GPU runtime check on a whole scene: ``--backend torch --device cuda`` (our CUDA DCN kernels through the
PyTorch extension) against ONNX Runtime on the CPU, and optionally a TensorRT engine, on the demo's
Houston-like scene. Prints a table: seconds, pixels with the same class, max |Δlogit|.

    python tools/check_gpu_runtime.py --checkpoint RUN/checkpoint --onnx model.onnx [--engine model.engine]
        [--height 349 --width 1905] [--tile 128] [--batch 8] [--output gpu_check.json]

Without ``--checkpoint``/``--onnx`` it trains nothing: it builds a fresh comix_t (random weights, deforming
offsets, normalisation measured on the scene) and exports it with ``comix export`` first. The done-when
threshold of the GPU runtime is >= 99.9 % of pixels with the same class as ONNX Runtime.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--onnx", type=Path)
    parser.add_argument("--engine", type=Path)
    parser.add_argument("--height", type=int, default=349)
    parser.add_argument("--width", type=int, default=1905)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=Path("runs/gpu_check"))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    import torch

    from comix.data.synthetic import houston_like
    from comix.runtime import OnnxRuntimeBackend, SlidingWindow, TorchBackend
    from comix.runtime.segment import open_backend

    args.workdir.mkdir(parents=True, exist_ok=True)
    scene = houston_like(seed=0, height=args.height, width=args.width).scene
    hsi, x = scene.hsi.astype(np.float32), scene.x.astype(np.float32)
    checkpoint, onnx_path = args.checkpoint, args.onnx
    if checkpoint is None:
        from comix.export.testing import deform_for_parity
        from comix.model import build_model, save_checkpoint

        torch.manual_seed(0)
        model = build_model(
            "comix_t", bands=hsi.shape[0], x_channels=x.shape[0], classes=int(scene.num_classes)
        )
        deform_for_parity(model, seed=1)
        model.set_normalization(
            torch.from_numpy(hsi.mean(axis=(1, 2))),
            torch.from_numpy(hsi.std(axis=(1, 2)) + 1e-3),
            x.mean(axis=(1, 2)).tolist(),
            (x.std(axis=(1, 2)) + 1e-3).tolist(),
        )
        checkpoint = args.workdir / "checkpoint"
        save_checkpoint(model.eval(), checkpoint, variant="comix_t")
    if onnx_path is None:
        from comix.export.checkpoint import ExportOptions, export_checkpoint

        onnx_path = args.workdir / "model.onnx"
        export_checkpoint(checkpoint, onnx_path, ExportOptions(tile=(args.tile, args.tile)))
    backends = {
        "onnxruntime (CPU)": OnnxRuntimeBackend(onnx_path),
        "torch --device cuda": TorchBackend.from_checkpoint(checkpoint, device="cuda"),
    }
    if args.engine is not None:
        backends["tensorrt"] = open_backend(args.engine, "tensorrt")
    results = {}
    for name, backend in backends.items():
        window = SlidingWindow(backend, tile=args.tile, batch=args.batch)
        window(
            hsi[:, : args.tile, : args.tile], x[:, : args.tile, : args.tile]
        )  # warm-up (CUDA context, JIT)
        start = time.perf_counter()
        results[name] = (window(hsi, x), time.perf_counter() - start)
    reference, _ = results["onnxruntime (CPU)"]
    rows = []
    print(
        f"scene {args.height}x{args.width}, {hsi.shape[0]} bands, tile {args.tile}, batch {args.batch}, "
        f"GPU {torch.cuda.get_device_name(0)}"
    )
    print(f"{'backend':<22} {'seconds':>8} {'same class':>12} {'max |Δlogit|':>13}")
    for name, (result, seconds) in results.items():
        same = float(np.mean(result.classes == reference.classes))
        diff = float(np.abs(result.logits - reference.logits).max())
        rows.append(
            {"backend": name, "seconds": seconds, "same_class": same, "max_abs_logit_diff": diff}
        )
        print(f"{name:<22} {seconds:>8.2f} {same:>11.4%} {diff:>13.3g}")
    if args.output:
        args.output.write_text(
            json.dumps({"rows": rows, "scene": [args.height, args.width]}, indent=2)
        )
    worst = min(r["same_class"] for r in rows)
    return 0 if worst >= 0.999 else 1


if __name__ == "__main__":
    raise SystemExit(main())
