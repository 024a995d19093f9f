"""``comix demo --task pansharpen|irvis``: SHIP through the whole toolchain on a CPU, into one report folder.

1. make synthetic fusion data (Houston-like scenes; Wald's protocol or the thermal band) in the communities'
   formats (PanCollection ``.h5`` / ``ir``+``vi`` PNG folders) and read it back through the readers
2. train SHIP on the training scenes (checkpoint, history)
3. score SHIP and the classic methods on the held-out scene (the task's metrics; before/after pictures)
4. export to ONNX (the Fourier product as ONNX DFT), validated against PyTorch
5. fuse the held-out scene with ONNX Runtime (GeoTIFF, quick-look PNG, JSON) and compare with PyTorch
6. write ``report.md`` and ``summary.json``
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from comix import __version__
from comix.atomic import write_text_atomic
from comix.stopwatch import Stopwatch

STEPS = 6


@dataclass
class FusionDemoOptions:
    """Sizes chosen so the demo takes a few minutes on a 2-core CPU (width 8: a quarter of SHIP's MACs)."""

    task: str = "pansharpen"
    output: Path = Path("runs/demo_fusion")
    size: int = 512
    train_scenes: int = 2
    steps: int = 300
    width: int = 8
    patch: int = 32
    batch_size: int = 4
    seed: int = 0
    threads: int = 0


def _step(console: Console, number: int, text: str) -> None:
    console.print(f"[bold cyan]{number}/{STEPS}[/] {text}")


def _rgb(image: np.ndarray, bands=(2, 1, 0)) -> np.ndarray:
    from comix.ship.runtime.image_outputs import quicklook

    return quicklook(image, bands if image.shape[0] >= 3 else None)


def save_comparison(panels: list[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """A row of before/after pictures (uint8 RGB or gray), written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from comix.viz import save_figure

    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for axis, (name, picture) in zip(axes, panels):
        axis.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
        axis.set_title(name, fontsize=9)
        axis.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)


def run_fusion_demo(options: FusionDemoOptions, console: Console | None = None) -> dict:
    """Run every step; returns the summary also written to ``summary.json``."""
    import torch

    from comix.model import load_checkpoint
    from comix.runtime.ort_backend import OnnxRuntimeBackend
    from comix.runtime.torch_backend import TorchBackend
    from comix.ship.data.loading import load_fusion_data
    from comix.ship.data.make import FusionDataPlan, make_fusion_data
    from comix.ship.data.pancollection import DEFAULT_DATA_RANGE
    from comix.ship.export import FusionExportOptions, export_fusion_checkpoint
    from comix.ship.runtime.fuse import fuse_image, fuse_scene
    from comix.ship.train.baselines import baselines_for
    from comix.ship.train.evaluate import score_fusion
    from comix.ship.train.recipe import FusionRecipe
    from comix.ship.train.trainer import FusionTrainer

    console = console or Console()
    if options.threads:
        torch.set_num_threads(options.threads)
    out = options.output
    out.mkdir(parents=True, exist_ok=True)
    clock = Stopwatch()
    pansharpen = options.task == "pansharpen"

    with clock("data"):
        _step(
            console,
            1,
            f"synthetic {options.task} data: {options.train_scenes} training + 1 held-out "
            f"Houston-like scene(s), {options.size}x{options.size}",
        )
        plan = FusionDataPlan(
            task=options.task,
            size=options.size,
            train_scenes=options.train_scenes,
            test_scenes=1,
            seed=options.seed,
        )
        written = make_fusion_data(out / "data", plan)
        sets = {name: load_fusion_data(path, DEFAULT_DATA_RANGE) for name, path in written.items()}
        for name, data in sets.items():
            console.print(f"  {name}: {written[name]} ({len(data)} sample(s))", highlight=False)

    variant = "ship_pansharpen" if pansharpen else "ship_irvis"
    with clock("train"):
        _step(console, 2, f"train {variant} (width {options.width}) for {options.steps} steps")
        recipe = FusionRecipe(
            variant=variant,
            steps=options.steps,
            batch_size=options.batch_size,
            patch=options.patch,
            seed=options.seed,
            eval_every=options.steps,
            model_overrides={"width": options.width},
        )
        trained = FusionTrainer(sets["train"], None, recipe, out / "checkpoint").fit()

    with clock("evaluate"):
        _step(console, 3, "score SHIP and the classic methods on the held-out scene")
        model = load_checkpoint(out / "checkpoint").model
        backend = TorchBackend(model)
        cfg = backend.info.config
        methods = {
            "SHIP": backend,
            **baselines_for(
                backend.info.task,
                int(cfg["primary_channels"]),
                float(cfg["data_range"]),
                int(cfg["ratio"]),
            ),
        }
        scores = {
            name: score_fusion(runner, sets["test"], keep=True) for name, runner in methods.items()
        }
        metrics = {name: s.metrics for name, s in scores.items()}
        full = {}
        if pansharpen:
            full = {
                name: score_fusion(runner, sets["test_full"]).metrics
                for name, runner in methods.items()
            }
        test = sets["test"]
        if pansharpen:
            panels = [("MS (bicubic)", _rgb(test.lms[0])), ("PAN", _rgb(test.pan[0]))]
            panels += [
                (name, _rgb(scores[name].fused[0])) for name in ("SHIP", "brovey", "gram_schmidt")
            ]
            panels += [("reference", _rgb(test.gt[0]))]
        else:
            panels = [
                ("visible", _rgb(test.visible[0], (0, 1, 2))),
                ("infrared", _rgb(test.infrared[0])),
            ]
            panels += [
                (name, _rgb(scores[name].fused[0], (0, 1, 2)))
                for name in ("SHIP", "average", "max")
            ]
        comparison = save_comparison(
            panels, out / "comparison.png", f"held-out scene: {options.task}"
        )

    with clock("export"):
        _step(console, 4, "export to ONNX (Fourier product as ONNX DFT), validated against PyTorch")
        exported = export_fusion_checkpoint(
            out / "checkpoint", out / "model.onnx", FusionExportOptions()
        )

    with clock("infer"):
        _step(console, 5, "whole-scene fusion with ONNX Runtime")
        runtime = OnnxRuntimeBackend(out / "model.onnx", threads=options.threads)
        (out / "infer").mkdir(exist_ok=True)
        if pansharpen:
            primary, guide = sets["test_full"].ms[0], sets["test_full"].pan[0]
        else:
            primary, guide = test.visible[0], test.infrared[0]
        run = fuse_scene(
            runtime,
            primary,
            guide,
            out / "infer" / "fused.tif",
            summary={"model": str(out / "model.onnx")},
        )
        reference = fuse_image(backend, primary, guide).logits
        difference = float(np.abs(run.image - reference).max() / float(cfg["data_range"]))
        console.print(
            f"ONNX Runtime vs PyTorch over the scene: max |difference| {difference:.2e} (data range 1)"
        )

    summary = {
        "tool": f"comix {__version__}",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "data": {name: str(path) for name, path in written.items()},
        "training": {"variant": variant, "steps": trained.steps, "seconds": trained.seconds},
        "held_out": metrics,
        "held_out_full_resolution": full,
        "export": {
            "path": str(exported.path),
            "node_counts": exported.node_counts,
            "parity": exported.report.parity,
            "max_abs_error": exported.report.max_abs_error,
        },
        "inference": {
            "outputs": {k: str(v) for k, v in run.paths.items()},
            "seconds": run.result.seconds,
            "tiles": run.result.tiles,
            "max_abs_difference_vs_torch": difference,
        },
        "pictures": {"comparison": str(comparison)},
        "seconds": clock.seconds,
    }
    _write_report(out, summary)
    console.print(
        f"[bold green]done[/] in {sum(clock.seconds.values()):.0f} s: report {out / 'report.md'}"
    )
    return summary


def _table(rows: dict[str, dict[str, float]]) -> list[str]:
    from comix.ship.train.evaluate import higher_is_better

    names = list(next(iter(rows.values())))
    lines = [
        "| method | "
        + " | ".join(f"{n} {'↑' if higher_is_better(n) else '↓'}" for n in names)
        + " |",
        "|---|" + "---|" * len(names),
    ]
    best = {n: (max if higher_is_better(n) else min)(r[n] for r in rows.values()) for n in names}
    for method, metrics in rows.items():
        cells = [
            f"**{metrics[n]:.4f}**" if metrics[n] == best[n] else f"{metrics[n]:.4f}" for n in names
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def _write_report(out: Path, summary: dict) -> None:
    s, e, i = summary["seconds"], summary["export"], summary["inference"]
    task = summary["options"]["task"]
    lines = [
        f"# SHIP fusion demo: {task} ({summary['tool']})",
        "",
        f"Machine: {summary['machine']['platform']}, {summary['machine']['torch_threads']} torch threads.",
        "",
        "| step | seconds |",
        "|---|---|",
        *[f"| {name} | {value:.1f} |" for name, value in s.items()],
        "",
        f"## Held-out scene ({'reduced resolution, Wald' if task == 'pansharpen' else 'IR-VIS'}'s metrics)",
        "",
        *_table(summary["held_out"]),
        "",
    ]
    if summary["held_out_full_resolution"]:
        lines += [
            "Full resolution (no reference; `truth_*` against the synthetic ideal MS):",
            "",
            *_table(summary["held_out_full_resolution"]),
            "",
        ]
    lines += [
        "![before and after](comparison.png)",
        "",
        "## Export and ONNX Runtime",
        "",
        f"`{e['path']}`: ORT vs PyTorch parity {e['parity']} (max abs error {e['max_abs_error']}); "
        f"DFT nodes {e['node_counts'].get('DFT', 0)}.",
        "",
        f"Whole scene in ONNX Runtime: {i['tiles']} tiles in {i['seconds']:.2f} s; max |difference| with "
        f"PyTorch {i['max_abs_difference_vs_torch']:.2e}.",
        "",
        "![fused](infer/fused.png)",
        "",
    ]
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, default=str))
    write_text_atomic(out / "report.md", "\n".join(lines) + "\n")
