"""FP32 vs FP16 vs INT8 of one model on one scene: what ``comix demo`` adds and the README's table comes from.

    summary = compare_precisions("model.onnx", "scene/dataset.yaml", "out/precision")

Calibrates the FP16 graph and the INT8 graph (TensorRT form unless told) from the FP32 graph, scores the
three on the held-out pixels through the same sliding window, and times one tile of each in ONNX Runtime
(interleaved rounds). Writes ``model.fp16.onnx``, ``model.int8.onnx`` (each with its sidecar) and
``accuracy.json/.md/.png`` into the folder; returns the summary that is also written as ``summary.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnx

from comix.atomic import write_text_atomic
from comix.calibration.accuracy import accuracy_report, format_table, write_accuracy_report
from comix.calibration.latency import tile_latency
from comix.calibration.pipeline import CalibrationRequest, Progress, calibrate


def compare_precisions(
    model: str | os.PathLike,
    dataset: str | os.PathLike,
    folder: str | os.PathLike,
    target: str = "tensorrt",
    tiles: int | None = None,
    threads: int = 1,
    cache_dir: str | os.PathLike | None = None,
    latency_rounds: int = 5,
    progress: Progress | None = None,
) -> dict:
    from comix.data.loader import load_scene
    from comix.runtime.ort_backend import OnnxRuntimeBackend

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    extra = {"tiles": tiles} if tiles else {}
    results = {}
    for precision in ("fp16", "int8"):
        request = CalibrationRequest(
            model=Path(model),
            precision=precision,
            dataset=Path(dataset),
            output=folder / f"model.{precision}.onnx",
            target=target,
            report=False,
            threads=threads,
            cache_dir=Path(cache_dir) if cache_dir else None,
            **extra,
        )
        results[precision] = calibrate(request, progress)
    paths = {"fp32": Path(model), "fp16": results["fp16"].output, "int8": results["int8"].output}
    scene = load_scene(dataset)
    backends = {name: OnnxRuntimeBackend(path, threads=threads) for name, path in paths.items()}
    report = accuracy_report(
        backends, scene, progress=(lambda d, t: progress("score", d, t)) if progress else None
    )
    written = write_accuracy_report(report, folder / "accuracy")
    graphs = {name: onnx.load(str(path)) for name, path in paths.items()}
    latency = tile_latency(
        graphs, scene.num_bands, scene.x.shape[0], rounds=latency_rounds, threads=threads
    )
    summary = {
        "model": str(model),
        "dataset": str(dataset),
        "target": target,
        "graphs": {name: str(path) for name, path in paths.items()},
        "accuracy": report.as_dict(),
        "table": format_table(report),
        "latency_one_tile_ms": latency,
        "latency_ratio_to_fp32": {
            name: value["median_ms"] / latency["fp32"]["median_ms"]
            for name, value in latency.items()
        },
        "lint": {name: results[name].lint.as_dict() for name in results},
        "kept_float": {name: len(results[name].recipe.kept_float) for name in results},
        "files": [str(p) for p in written],
    }
    write_text_atomic(folder / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary
