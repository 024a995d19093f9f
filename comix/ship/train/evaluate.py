"""Score a fusion model — or a classic method, or a calibrated graph — behind any runtime backend.

``score_fusion(backend, data)`` runs every sample through :func:`comix.ship.runtime.fuse.fuse_image`
(the same tiling as whole-scene inference) and averages the task's metrics (:mod:`comix.ship.quality`):

* pan-sharpening with a reference (Wald's protocol): PSNR, SSIM, SAM, ERGAS, Q2n;
* pan-sharpening at full resolution: D_lambda, D_s, QNR (and, for synthetic data whose ideal MS is known, the
  reduced-resolution metrics against it, prefixed ``truth_``);
* IR-VIS: EN, SD, MI, SSIM, VIF, Qabf.

This is the image-quality counterpart of :func:`comix.train.evaluate.evaluate_scene`: a precision tool (FP16 /
INT8) scores its graph and the FP32 one with it and reports :func:`metric_deltas`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from comix.runtime.backend import Backend
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.data.resample import mtf_decimate
from comix.ship.data.sensors import SENSORS
from comix.ship.quality import irvis as irvis_quality
from comix.ship.quality import pansharpen as pansharpen_quality
from comix.ship.runtime.fuse import fuse_image
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, require_task

DEFAULT_GNYQ_PAN = SENSORS["quickbird"].gnyq_pan


@dataclass
class FusionScores:
    """Mean metrics over the samples, the per-sample metrics, and (when kept) the fused images."""

    task: str
    metrics: dict[str, float]
    per_sample: list[dict[str, float]] = field(default_factory=list)
    fused: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "metrics": self.metrics,
            "per_sample": self.per_sample,
            "seconds": self.seconds,
        }


def higher_is_better(metric: str) -> bool:
    name = metric.removeprefix("truth_")
    table = {**pansharpen_quality.HIGHER_IS_BETTER, **irvis_quality.HIGHER_IS_BETTER}
    return table.get(name, True)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]} if rows else {}


def _pan_low(data: PansharpenSet, index: int) -> np.ndarray:
    gnyq = (
        SENSORS[data.metadata["sensor"]].gnyq_pan
        if data.metadata.get("sensor") in SENSORS
        else DEFAULT_GNYQ_PAN
    )
    return mtf_decimate(data.pan[index], data.ratio, gnyq)


def score_pansharpen(
    backend: Backend,
    data: PansharpenSet,
    tile: int | None = None,
    overlap: int | None = None,
    keep: bool = False,
) -> FusionScores:
    """Metrics of ``backend`` on a pan-sharpening set (reduced resolution when it has a reference)."""
    require_task(
        backend.info.task,
        FUSION_PANSHARPEN,
        backend.info.name or "model",
        "pan-sharpening evaluation",
    )
    rows, fused_images, seconds = [], [], 0.0
    for n in range(len(data)):
        result = fuse_image(backend, data.lms[n], data.pan[n], tile=tile, overlap=overlap)
        fused, seconds = result.logits, seconds + result.seconds
        if data.gt is not None:
            row = pansharpen_quality.reduced_resolution(
                data.gt[n], fused, data.ratio, data.data_range
            )
        else:
            row = pansharpen_quality.full_resolution(
                fused, data.ms[n], data.pan[n], _pan_low(data, n)
            )
            if data.truth is not None:
                truth = pansharpen_quality.reduced_resolution(
                    data.truth[n], fused, data.ratio, data.data_range
                )
                row.update({f"truth_{key}": value for key, value in truth.items()})
        rows.append(row)
        if keep:
            fused_images.append(fused)
    return FusionScores(FUSION_PANSHARPEN, _mean(rows), rows, fused_images, seconds)


def score_irvis(
    backend: Backend,
    data: IrVisSet,
    tile: int | None = None,
    overlap: int | None = None,
    keep: bool = False,
) -> FusionScores:
    """EN, SD, MI, SSIM, VIF and Qabf of ``backend`` on IR-VIS pairs."""
    require_task(backend.info.task, FUSION_IRVIS, backend.info.name or "model", "IR-VIS evaluation")
    rows, fused_images, seconds = [], [], 0.0
    for visible, infrared in zip(data.visible, data.infrared):
        result = fuse_image(backend, visible, infrared, tile=tile, overlap=overlap)
        fused, seconds = np.clip(result.logits, 0.0, 1.0), seconds + result.seconds
        rows.append(irvis_quality.irvis_metrics(visible, infrared, fused))
        if keep:
            fused_images.append(fused)
    return FusionScores(FUSION_IRVIS, _mean(rows), rows, fused_images, seconds)


def score_fusion(
    backend: Backend,
    data: PansharpenSet | IrVisSet,
    tile: int | None = None,
    overlap: int | None = None,
    keep: bool = False,
) -> FusionScores:
    """The task's metrics of any backend on a data set (module doc)."""
    if isinstance(data, PansharpenSet):
        return score_pansharpen(backend, data, tile, overlap, keep)
    if isinstance(data, IrVisSet):
        return score_irvis(backend, data, tile, overlap, keep)
    raise TypeError(f"data: got {type(data).__name__}, expected a PansharpenSet or an IrVisSet")


def metric_deltas(
    candidate: dict[str, float], reference: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Per metric: candidate, reference, ``change`` (candidate - reference) and ``loss`` (how much
    worse, >= 0 when worse, in the metric's own units): what an FP16 / INT8 graph reports against FP32."""
    out = {}
    for name in reference:
        if name in candidate:
            change = candidate[name] - reference[name]
            out[name] = {
                "candidate": candidate[name],
                "reference": reference[name],
                "change": change,
                "loss": -change if higher_is_better(name) else change,
            }
    return out
