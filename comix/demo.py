"""``comix demo``: the whole toolchain on a CPU in a few minutes, into one report folder.

1. make a Houston-like synthetic scene and write it as GeoTIFFs + ``dataset.yaml`` (real file formats)
2. read it back through the real readers
3. train ``comix_t`` (checkpoint, history, training curves)
4. evaluate on the held-out pixels (metrics, prediction and confusion-matrix PNGs)
5. export to ONNX (portable graph unless the custom-op library is built), validated against PyTorch
6. run the exported model on the whole scene with ONNX Runtime (class GeoTIFF, PNG, JSON summary) and
   check it against the PyTorch prediction
7. calibrate FP16 and INT8 (TensorRT Q/DQ form) graphs and score FP32 vs FP16 vs INT8 on the held-out
   pixels (``precision/``: graphs, recipes, accuracy JSON/table/plot, one-tile latency)
8. profile the exported model's latency on tiles of the scene (``comix profile``: tables, JSON, plots)
Then ``report.md`` and ``summary.json`` are written, naming every artifact and number
"""

from __future__ import annotations

import dataclasses
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from comix import __version__
from comix.atomic import write_text_atomic
from comix.data.contents import DatasetContents
from comix.stopwatch import Stopwatch


@dataclass
class DemoOptions:
    """Sizes chosen so the demo takes a few minutes on a 2-core CPU."""

    output: Path = Path("runs/demo")
    height: int = 349  # the Houston 2013 benchmark's size
    width: int = 1905
    seed: int = 0
    steps: int = 300
    tile: int = 64
    batch_size: int = 8
    eval_every: int = 150
    threads: int = 0


def _step(console: Console, number: int, text: str) -> None:
    console.print(f"[bold cyan]{number}/8[/] {text}")


def run_demo(options: DemoOptions, console: Console | None = None) -> dict:
    """Run every step; returns the summary that is also written to ``summary.json``."""
    import torch

    from comix.data.loader import load_scene
    from comix.data.scene_writer import write_scene
    from comix.data.synthetic import houston_like
    from comix.export.checkpoint import ExportOptions, export_checkpoint
    from comix.runtime import OnnxRuntimeBackend, TorchBackend, find_custom_op_library
    from comix.runtime.segment import segment_scene
    from comix.train.evaluate import evaluate_scene, write_evaluation
    from comix.train.recipe import TrainRecipe
    from comix.train.trainer import Trainer
    from comix.viz import save_training_curves

    console = console or Console()
    if options.threads:
        torch.set_num_threads(options.threads)
    out = options.output
    out.mkdir(parents=True, exist_ok=True)
    clock = Stopwatch()

    with clock("scene"):
        _step(
            console,
            1,
            f"synthetic Houston-like scene {options.height}x{options.width}, 144 bands + DSM",
        )
        generated = houston_like(seed=options.seed, height=options.height, width=options.width)
        description = write_scene(generated.scene, out / "scene", fmt="geotiff")

    with clock("read"):
        _step(console, 2, f"read {description} through the GeoTIFF readers")
        scene = load_scene(description)
        console.print(DatasetContents.of(scene).summary(), highlight=False)

    with clock("train"):
        _step(console, 3, f"train comix_t for {options.steps} steps")
        recipe = TrainRecipe(
            steps=options.steps,
            tile=options.tile,
            batch_size=options.batch_size,
            eval_every=options.eval_every,
            seed=options.seed,
        )
        trainer = Trainer(scene, recipe, out / "checkpoint")
        result = trainer.fit()
        save_training_curves(result.history, out / "checkpoint" / "training_curves.png")

    with clock("evaluate"):
        _step(console, 4, "evaluate on the held-out pixels (sliding window, PyTorch)")
        metrics, torch_prediction = evaluate_scene(TorchBackend(trainer.model), scene)
        write_evaluation(out / "eval", metrics, torch_prediction, scene, "test")
        console.print(
            f"held-out OA {metrics.overall_accuracy:.4f}  AA {metrics.average_accuracy:.4f}  "
            f"kappa {metrics.kappa:.4f}  mIoU {metrics.mean_iou:.4f}"
        )

    portable = find_custom_op_library() is None
    with clock("export"):
        _step(
            console,
            5,
            "export to ONNX ("
            + (
                "portable graph: the custom-op library is not built"
                if portable
                else "canonical graph with ai.comix::DeformConv3D"
            )
            + ")",
        )
        exported = export_checkpoint(
            out / "checkpoint", out / "model.onnx", ExportOptions(portable=portable)
        )
        validation = dataclasses.asdict(exported.report)

    with clock("infer"):
        _step(console, 6, "whole-scene inference with ONNX Runtime")
        backend = OnnxRuntimeBackend(out / "model.onnx", threads=options.threads)
        (out / "infer").mkdir(
            exist_ok=True
        )  # like `comix infer`, the products go into an existing folder
        run = segment_scene(
            backend,
            scene.hsi,
            scene.x,
            out / "infer" / "seg.tif",
            georef=scene.georef,
            summary={"model": str(out / "model.onnx")},
        )
        inference, products = run.result, run.paths
        agreement = float(np.mean(inference.classes.astype(np.int64) == torch_prediction))
        console.print(f"ONNX Runtime vs PyTorch class agreement over the scene: {agreement:.6f}")

    with clock("calibrate"):
        _step(
            console,
            7,
            "calibrate FP16 and INT8 graphs; score FP32 vs FP16 vs INT8 on the held-out pixels",
        )
        from comix.calibration.compare import compare_precisions

        precision = compare_precisions(
            out / "model.onnx",
            description,
            out / "precision",
            threads=options.threads or 1,
            cache_dir=out / "precision" / "cache",
        )
        console.print(precision["table"], highlight=False)

    with clock("profile"):
        _step(
            console, 8, "latency profile of the exported model (ONNX Runtime, tiles of the scene)"
        )
        profiled = _profile(out, description, options.threads)
        console.print(
            f"median {profiled['p50_ms']:.1f} ms per {profiled['tile']} tile, "
            f"{profiled['tiles_per_second']:.2f} tiles/s; report {profiled['path']}"
        )

    summary = {
        "tool": f"comix {__version__}",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "scene": {
            "name": scene.name,
            "height": scene.height,
            "width": scene.width,
            "bands": scene.num_bands,
            "classes": list(scene.class_names),
            "dataset": str(description),
        },
        "training": {"steps": result.step, "seconds": result.seconds, "history": result.history},
        "evaluation": metrics.as_dict(),
        "export": {
            "path": str(exported.path),
            "portable": portable,
            "node_counts": exported.node_counts,
            "validation": validation,
        },
        "inference": {
            "outputs": {k: str(v) for k, v in products.items()},
            "seconds": inference.seconds,
            "tiles": inference.tiles,
            "onnxruntime_vs_torch_agreement": agreement,
        },
        "precision": {
            key: precision[key]
            for key in (
                "graphs",
                "table",
                "latency_one_tile_ms",
                "latency_ratio_to_fp32",
                "kept_float",
            )
        },
        "profile": profiled,
        "seconds": clock.seconds,
    }
    _write_report(out, summary)
    console.print(
        f"[bold green]done[/] in {sum(clock.seconds.values()):.0f} s: report {out / 'report.md'}"
    )
    return summary


def _profile(out: Path, description: Path, threads: int) -> dict:
    """``comix profile`` of ``out/model.onnx`` on tiles of the scene into ``out/profile``; key
    numbers back."""
    from comix.profile import ProfileOptions, StoppingRule, markdown, profile, write_report

    scene_folder = Path(description).parent  # the GeoTIFFs comix.data.scene_writer wrote in step 1
    options = ProfileOptions(
        threads=[threads or 1],
        rule=StoppingRule(warmup=2, min_iterations=5, max_iterations=30, max_seconds=15.0),
        breakdown_runs=3,
        scene=(scene_folder / "hsi.tif", scene_folder / "x.tif"),
        time_scene=False,
    )
    report = profile(out / "model.onnx", options)
    (out / "profile").mkdir(exist_ok=True)
    write_report(report, out / "profile")
    config = report.configs[0]
    return {
        "path": str(out / "profile"),
        "tile": f"{config.tile[0]}x{config.tile[1]}",
        "threads": config.threads,
        "p50_ms": config.latency.p50_ms,
        "p99_ms": config.latency.p99_ms,
        "tiles_per_second": config.throughput.tiles_per_second,
        "seconds_per_km2": config.throughput.seconds_per_km2,
        "fraction_of_nominal_peak": config.fraction_of_nominal_peak,
        "parts_ms": config.parts_ms,
        "markdown": markdown(report, heading="###", layers=10),
    }


def _write_report(out: Path, summary: dict) -> None:
    """``summary.json`` and a human-readable ``report.md`` (temp file, then rename)."""
    m = summary["evaluation"]
    v = summary["export"]["validation"]
    s = summary["seconds"]
    classes = summary["scene"]["classes"]
    lines = [
        f"# CoMiX demo report ({summary['tool']})",
        "",
        f"Machine: {summary['machine']['platform']}, {summary['machine']['torch_threads']} torch threads.",
        "",
        f"Scene: `{summary['scene']['name']}`, {summary['scene']['height']}x{summary['scene']['width']} px, "
        f"{summary['scene']['bands']} bands + DSM, {len(classes)} classes — `{summary['scene']['dataset']}`.",
        "",
        "| step | seconds |",
        "|---|---|",
        *[f"| {name} | {value:.1f} |" for name, value in s.items()],
        "",
        "## Held-out accuracy (PyTorch, sliding window)",
        "",
        f"OA **{m['overall_accuracy']:.4f}**, AA {m['average_accuracy']:.4f}, kappa {m['kappa']:.4f}, "
        f"mIoU {m['mean_iou']:.4f} over {m['pixels']} test pixels.",
        "",
        "| class | accuracy | IoU |",
        "|---|---|---|",
        *[
            f"| {name} | {acc:.3f} | {iou:.3f} |"
            for name, acc, iou in zip(classes, m["per_class_accuracy"], m["per_class_iou"])
        ],
        "",
        "![prediction](eval/prediction.png)",
        "",
        "![confusion](eval/confusion.png)",
        "",
        "![training](checkpoint/training_curves.png)",
        "",
        "## Export and ONNX Runtime inference",
        "",
        f"`{summary['export']['path']}` "
        f"({'portable' if summary['export']['portable'] else 'canonical'} graph); "
        f"nodes: {summary['export']['node_counts']}.",
        "",
        f"Validation: checker {v['checker']}, shape inference {v['shape_inference']}, "
        f"ONNX Runtime vs PyTorch parity {v['parity']} (max abs logit error {v['max_abs_error']}, "
        f"argmax agreement {v['min_argmax_agreement_measured']}).",
        "",
        f"Whole scene in ONNX Runtime: {summary['inference']['tiles']} tiles in "
        f"{summary['inference']['seconds']:.2f} s; class agreement with PyTorch "
        f"{summary['inference']['onnxruntime_vs_torch_agreement']:.6f}.",
        "",
        "![onnxruntime prediction](infer/seg.png)",
        "",
        "## FP16 and INT8 graphs (precision/)",
        "",
        summary["precision"]["table"],
        "One 128x128 tile in ONNX Runtime (CPU, median ms): "
        + ", ".join(
            f"{name} {value['median_ms']:.1f}"
            for name, value in summary["precision"]["latency_one_tile_ms"].items()
        )
        + ". The INT8 graph is the TensorRT form (Q/DQ that TensorRT fuses; ONNX Runtime runs it "
        "unfused, so this is not its speed); `comix calibrate --target cpu` makes the form ONNX "
        "Runtime fuses, tuned to this CPU.",
        "",
        "![per-class IoU change](precision/accuracy.png)",
        "",
        "## Latency profile",
        "",
        summary["profile"]["markdown"],
        "",
        "![latency](profile/latency_histogram.png)",
        "",
        "![parts](profile/parts.png)",
        "",
    ]
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, default=str))
    write_text_atomic(out / "report.md", "\n".join(lines) + "\n")
