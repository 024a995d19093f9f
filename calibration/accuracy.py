"""Accuracy report: several graphs of one model (FP32, FP16, INT8 ...) scored on the same held-out pixels.

    report = accuracy_report({"fp32": backend_a, "int8": backend_b}, scene)   # first = reference
    write_accuracy_report(report, "out/model.int8.accuracy")                   # .json, .md, .png

Every graph runs the whole scene through the same sliding window (:class:`comix.runtime.SlidingWindow`,
runtime defaults), so the only difference between the numbers is the graph. Per graph: OA, AA, kappa,
mIoU, per-class accuracy and IoU, and against the reference: deltas in points, argmax agreement on the
held-out pixels and over the whole scene, and logit error statistics on the held-out pixels (max, mean,
RMS and 99th percentile of |logit - reference logit|, and RMS error over reference RMS).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from comix.atomic import write_text_atomic
from comix.data.scene import Scene
from comix.errors import BadInputError
from comix.runtime.backend import Backend
from comix.runtime.sliding_window import SlidingWindow
from comix.train.evaluate import split_reference
from comix.train.metrics import confusion_matrix, metrics_from_confusion
from comix.viz import save_figure


@dataclass
class GraphScore:
    """One graph's scores (fractions in [0, 1]) and its differences from the reference graph."""

    name: str
    overall_accuracy: float
    average_accuracy: float
    kappa: float
    mean_iou: float
    per_class_accuracy: list[float]
    per_class_iou: list[float]
    seconds: float
    argmax_agreement_scored: float = 1.0  # on the scored (held-out) pixels
    argmax_agreement_scene: float = 1.0  # on every pixel of the scene
    logit_error: dict[str, float] = field(default_factory=dict)
    delta_points: dict[str, float] = field(default_factory=dict)  # OA/AA/mIoU x 100, kappa x 100
    per_class_iou_delta_points: list[float] = field(default_factory=list)


@dataclass
class AccuracyReport:
    scene: str
    split: str
    pixels: int
    class_names: list[str]
    reference: str
    graphs: list[GraphScore]

    def as_dict(self) -> dict:
        return asdict(self)

    def graph(self, name: str) -> GraphScore:
        return next(g for g in self.graphs if g.name == name)


def _logit_error(logits: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """|logits - reference| statistics over the pixels of ``mask``; both (K, H, W)."""
    diff = np.abs(logits[:, mask].astype(np.float64) - reference[:, mask].astype(np.float64))
    rms_ref = float(np.sqrt(np.mean(reference[:, mask].astype(np.float64) ** 2)))
    rms = float(np.sqrt(np.mean(diff**2)))
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "rms": rms,
        "p99_abs": float(np.percentile(diff, 99)),
        "relative_rms": rms / rms_ref if rms_ref > 0 else 0.0,
    }


def accuracy_report(
    backends: Mapping[str, Backend],
    scene: Scene,
    split: str = "test",
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    progress=None,
) -> AccuracyReport:
    """Score every backend on ``split`` pixels of ``scene``; the first one is the reference."""
    if not backends:
        raise BadInputError("accuracy report: got no graphs, expected at least one")
    reference_labels = split_reference(scene, split)
    mask = reference_labels > 0
    if not mask.any():
        raise BadInputError(
            f"accuracy report: scene '{scene.name}' has no labelled {split} pixels, expected some "
            "held-out pixels to score on"
        )
    scores, reference_logits, reference_classes = [], None, None
    for index, (name, backend) in enumerate(backends.items()):
        backend.check_scene(scene.hsi, scene.x)
        start = time.perf_counter()
        result = SlidingWindow(backend, tile=tile, overlap=overlap, batch=batch)(scene.hsi, scene.x)
        seconds = time.perf_counter() - start
        classes = result.classes.astype(np.int64)
        metrics = metrics_from_confusion(
            confusion_matrix(reference_labels, classes, scene.num_classes)
        )
        score = GraphScore(
            name,
            metrics.overall_accuracy,
            metrics.average_accuracy,
            metrics.kappa,
            metrics.mean_iou,
            metrics.per_class_accuracy,
            metrics.per_class_iou,
            seconds,
        )
        if reference_logits is None:
            reference_logits, reference_classes, base = result.logits, classes, score
        else:
            score.argmax_agreement_scored = float(np.mean(classes[mask] == reference_classes[mask]))
            score.argmax_agreement_scene = float(np.mean(classes == reference_classes))
            score.logit_error = _logit_error(result.logits, reference_logits, mask)
        score.delta_points = {
            key: 100.0 * (getattr(score, key) - getattr(base, key))
            for key in ("overall_accuracy", "average_accuracy", "kappa", "mean_iou")
        }
        score.per_class_iou_delta_points = [
            100.0 * (a - b) if np.isfinite(a) and np.isfinite(b) else float("nan")
            for a, b in zip(score.per_class_iou, base.per_class_iou)
        ]
        scores.append(score)
        if progress is not None:
            progress(index + 1, len(backends))
    return AccuracyReport(
        scene.name, split, int(mask.sum()), list(scene.class_names), scores[0].name, scores
    )


def format_table(report: AccuracyReport) -> str:
    """Markdown tables: one row per graph, then per-class IoU deltas in points."""
    lines = [
        f"Held-out accuracy on `{report.scene}` ({report.pixels} {report.split} pixels); reference "
        f"`{report.reference}`; deltas in points (x100).",
        "",
        "| graph | OA | AA | kappa | mIoU | ΔmIoU | argmax agreement (held-out / scene) | max \\|Δlogit\\| | "
        "RMS Δlogit (relative) | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in report.graphs:
        error = g.logit_error
        lines.append(
            f"| {g.name} | {g.overall_accuracy:.4f} | {g.average_accuracy:.4f} | {g.kappa:.4f} | "
            f"{g.mean_iou:.4f} | {g.delta_points['mean_iou']:+.2f} | "
            f"{g.argmax_agreement_scored:.4%} / {g.argmax_agreement_scene:.4%} | "
            + (
                f"{error['max_abs']:.3g} | {error['rms']:.3g} ({error['relative_rms']:.2%}) | "
                if error
                else "— | — | "
            )
            + f"{g.seconds:.1f} |"
        )
    others = report.graphs[1:]
    if others:
        lines += [
            "",
            "| class | "
            + " | ".join(
                f"IoU {report.reference}" if i == 0 else f"ΔIoU {g.name}"
                for i, g in enumerate(report.graphs)
            )
            + " |",
            "|---|" + "---|" * len(report.graphs),
        ]
        base = report.graphs[0]
        for k, name in enumerate(report.class_names):
            cells = [f"{base.per_class_iou[k]:.4f}"] + [
                f"{g.per_class_iou_delta_points[k]:+.2f}" for g in others
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_delta_plot(report: AccuracyReport, path: str | Path) -> Path:
    """Grouped bars: per-class IoU change (points) of every graph against the reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = report.graphs[1:]
    names = report.class_names
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(names) + 2), 4.0), constrained_layout=True)
    width = 0.8 / max(1, len(others))
    positions = np.arange(len(names))
    for i, graph in enumerate(others):
        deltas = np.nan_to_num(np.asarray(graph.per_class_iou_delta_points, dtype=float))
        ax.bar(
            positions + (i - (len(others) - 1) / 2) * width,
            deltas,
            width,
            label=f"{graph.name} (ΔmIoU {graph.delta_points['mean_iou']:+.2f})",
        )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(positions, names, rotation=40, ha="right")
    ax.set_ylabel(f"IoU change vs {report.reference} (points)")
    ax.set_title(f"{report.scene}: per-class IoU change on {report.pixels} {report.split} pixels")
    if others:
        ax.legend()
    return save_figure(fig, path, dpi=120)


def write_accuracy_report(report: AccuracyReport, stem: str | Path) -> list[Path]:
    """``stem.json``, ``stem.md`` and ``stem.png`` (each written atomically)."""
    stem = Path(stem)
    paths = [
        write_text_atomic(
            stem.with_name(stem.name + ".json"), json.dumps(report.as_dict(), indent=2)
        ),
        write_text_atomic(stem.with_name(stem.name + ".md"), format_table(report)),
    ]
    paths.append(save_delta_plot(report, stem.with_name(stem.name + ".png")))
    return paths
