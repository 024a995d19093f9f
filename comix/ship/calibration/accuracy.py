"""Image-quality report of a fusion model's graphs (FP32, FP16, INT8 ...) on the same held-out fusion data.

    report = fusion_accuracy_report({"fp32": a, "int8": b}, data, budget_metric="psnr")   # first = reference
    write_fusion_report(report, "out/ship.int8.accuracy")                                   # .json, .md, .png

The fusion counterpart of :mod:`comix.calibration.accuracy`. Every graph is scored by
:func:`comix.ship.train.evaluate.score_fusion` (the task's metrics, the runtime's tiling and blending), so the
only difference between the rows is the graph. Against the reference: :func:`metric_deltas` per
metric (``change`` and the sign-aware ``loss``, > 0 = worse, in the metric's own units), and the
fidelity of the fused images to the reference graph's (PSNR in dB with the data range as peak, max /
RMS absolute difference in data units, RMS over the reference's RMS), the image counterpart of
argmax agreement and logit error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from comix.atomic import write_text_atomic
from comix.errors import BadInputError
from comix.runtime.backend import Backend
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.train.evaluate import higher_is_better, metric_deltas, score_fusion
from comix.viz import save_figure


@dataclass
class FusionGraphScore:
    name: str
    metrics: dict[str, float]
    seconds: float
    deltas: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # metric -> candidate, reference, change, loss
    fidelity: dict[str, float] = field(default_factory=dict)  # fused image vs the reference graph's


@dataclass
class FusionAccuracyReport:
    data: str
    task: str
    samples: int
    pixels: int
    data_range: float
    reference: str
    budget_metric: str
    graphs: list[FusionGraphScore]
    error_maps: dict[str, np.ndarray] = field(
        default_factory=dict, repr=False
    )  # first sample, not serialised

    def as_dict(self) -> dict:
        document = asdict(self)
        document.pop("error_maps")
        return document

    def graph(self, name: str) -> FusionGraphScore:
        return next(g for g in self.graphs if g.name == name)


def fidelity(
    images: list[np.ndarray], reference: list[np.ndarray], data_range: float
) -> dict[str, float]:
    """PSNR (dB, peak ``data_range``), max and RMS |difference| and RMS over the reference's RMS,
    over all samples."""
    squared, count, peak, energy = 0.0, 0, 0.0, 0.0
    for image, ref in zip(images, reference):
        diff = image.astype(np.float64) - ref.astype(np.float64)
        squared += float(np.sum(diff * diff))
        energy += float(np.sum(ref.astype(np.float64) ** 2))
        count += diff.size
        peak = max(peak, float(np.abs(diff).max()))
    mse = squared / count
    if not math.isfinite(mse):  # non-finite outputs: no meaningful PSNR
        psnr = float("nan")
    else:
        psnr = 10.0 * math.log10(data_range**2 / mse) if mse > 0 else float("inf")
    return {
        "psnr_db": psnr,
        "max_abs": peak,
        "rms": math.sqrt(mse),
        "relative_rms": math.sqrt(squared / energy) if energy > 0 else 0.0,
    }


def data_range_of(data: PansharpenSet | IrVisSet) -> float:
    return float(data.data_range) if isinstance(data, PansharpenSet) else 1.0


def fusion_accuracy_report(
    backends: Mapping[str, Backend],
    data: PansharpenSet | IrVisSet,
    budget_metric: str,
    name: str = "",
    tile: int | None = None,
    overlap: int | None = None,
    progress=None,
) -> FusionAccuracyReport:
    """Score every backend on ``data``; the first one is the reference (module doc)."""
    if not backends:
        raise BadInputError("accuracy report: got no graphs, expected at least one")
    peak = data_range_of(data)
    scores, reference_images, maps = [], None, {}
    for index, (graph, backend) in enumerate(backends.items()):
        result = score_fusion(backend, data, tile, overlap, keep=True)
        score = FusionGraphScore(graph, result.metrics, result.seconds)
        if reference_images is None:
            reference_images, base = result.fused, result
        else:
            score.deltas = metric_deltas(result.metrics, base.metrics)
            score.fidelity = fidelity(result.fused, reference_images, peak)
            maps[graph] = np.abs(result.fused[0] - reference_images[0]).mean(axis=0)
        scores.append(score)
        if progress is not None:
            progress(index + 1, len(backends))
    pixels = int(sum(image.shape[1] * image.shape[2] for image in reference_images))
    return FusionAccuracyReport(
        name or data.name,
        base.task,
        len(data),
        pixels,
        peak,
        scores[0].name,
        budget_metric,
        scores,
        maps,
    )


def _arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def format_fusion_table(report: FusionAccuracyReport) -> str:
    """Markdown: one row per graph (metrics, then fidelity to the reference), then a row of losses
    per graph."""
    names = list(report.graphs[0].metrics)
    lines = [
        f"Held-out image quality on `{report.data}` ({report.task}, {report.samples} sample(s), "
        f"{report.pixels} pixels); reference `{report.reference}`; budget metric `{report.budget_metric}`.",
        "",
        "| graph | "
        + " | ".join(f"{n} {_arrow(n)}" for n in names)
        + " | PSNR vs reference (dB) | max \\|Δ\\| | RMS Δ (relative) | seconds |",
        "|---|" + "---|" * (len(names) + 4),
    ]
    for g in report.graphs:
        f = g.fidelity
        lines.append(
            f"| {g.name} | "
            + " | ".join(f"{g.metrics[n]:.4f}" for n in names)
            + " | "
            + (
                f"{f['psnr_db']:.2f} | {f['max_abs']:.3g} | {f['rms']:.3g} ({f['relative_rms']:.2%}) | "
                if f
                else "— | — | — | "
            )
            + f"{g.seconds:.1f} |"
        )
    others = report.graphs[1:]
    if others:
        lines += [
            "",
            "Loss against the reference in each metric's own units (> 0 = worse, sign-aware):",
            "",
            "| graph | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for g in others:
            lines.append(
                f"| {g.name} | " + " | ".join(f"{g.deltas[n]['loss']:+.4g}" for n in names) + " |"
            )
    return "\n".join(lines) + "\n"


def save_fusion_plot(report: FusionAccuracyReport, path: str | Path) -> Path:
    """Left: relative change (%) of every metric per graph; right: |graph - reference| of the first sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = report.graphs[1:]
    names = list(report.graphs[0].metrics)
    fig, axes = plt.subplots(
        1, 1 + len(others), figsize=(5.5 + 3.6 * len(others), 3.8), constrained_layout=True
    )
    axes = np.atleast_1d(axes)
    width = 0.8 / max(1, len(others))
    positions = np.arange(len(names))
    for i, graph in enumerate(others):
        changes = [
            100.0 * graph.deltas[n]["change"] / abs(graph.deltas[n]["reference"])
            if graph.deltas[n]["reference"]
            else 0.0
            for n in names
        ]
        axes[0].bar(
            positions + (i - (len(others) - 1) / 2) * width, changes, width, label=graph.name
        )
    axes[0].axhline(0.0, color="black", linewidth=0.8)
    axes[0].set_xticks(positions, [f"{n} {_arrow(n)}" for n in names], rotation=30, ha="right")
    axes[0].set_ylabel(f"change vs {report.reference} (%)")
    axes[0].set_title(f"{report.task}: metric change")
    if others:
        axes[0].legend()
    for axis, graph in zip(axes[1:], others):
        shown = axis.imshow(report.error_maps.get(graph.name, np.zeros((1, 1))), cmap="magma")
        axis.set_title(f"|{graph.name} - {report.reference}| (sample 0)", fontsize=9)
        axis.axis("off")
        fig.colorbar(shown, ax=axis, shrink=0.8, label="data units")
    return save_figure(fig, path, dpi=110)


def write_fusion_report(report: FusionAccuracyReport, stem: str | Path) -> list[Path]:
    """``stem.json``, ``stem.md`` and ``stem.png`` (each written atomically)."""
    stem = Path(stem)
    paths = [
        write_text_atomic(
            stem.with_name(stem.name + ".json"), json.dumps(report.as_dict(), indent=2)
        ),
        write_text_atomic(stem.with_name(stem.name + ".md"), format_fusion_table(report)),
    ]
    paths.append(save_fusion_plot(report, stem.with_name(stem.name + ".png")))
    return paths
