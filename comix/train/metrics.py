"""Segmentation metrics from a confusion matrix: OA, AA, Cohen's kappa, per-class accuracy, IoU, mIoU.

Labels follow the dataset convention: 0 = unlabelled (ignored), classes are 1..K. The confusion matrix
is K x K with rows = reference class, columns = predicted class (both 0-based: class c at index c-1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from comix.errors import BadInputError


def confusion_matrix(reference: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Count (reference, predicted) pairs over labelled pixels.

    reference, predicted: integer arrays of the same shape, classes 1..num_classes, 0 = unlabelled in
    ``reference`` (those pixels are skipped). Returns int64 (num_classes, num_classes).
    """
    reference = np.asarray(reference)
    predicted = np.asarray(predicted)
    if reference.shape != predicted.shape:
        raise BadInputError(
            f"reference {reference.shape} and prediction {predicted.shape} differ in shape"
        )
    labelled = reference != 0
    ref = reference[labelled].astype(np.int64) - 1
    pred = predicted[labelled].astype(np.int64) - 1
    for name, values in (("reference", ref), ("prediction", pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise BadInputError(
                f"{name} has class values outside 1..{num_classes}: "
                f"got min {values.min() + 1}, max {values.max() + 1}"
            )
    counts = np.bincount(ref * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass
class SegmentationMetrics:
    """Scores in [0, 1]; per-class lists are indexed by class - 1 (NaN where a class has no pixels)."""

    overall_accuracy: float
    average_accuracy: float
    kappa: float
    mean_iou: float
    per_class_accuracy: list[float]
    per_class_iou: list[float]
    pixels: int

    def as_dict(self) -> dict:
        return asdict(self)


def metrics_from_confusion(confusion: np.ndarray) -> SegmentationMetrics:
    """OA, AA (mean recall over classes present in the reference), kappa, IoU and mIoU (classes present)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    if total == 0:
        raise BadInputError(
            "no labelled pixels to score: the reference holds only the unlabelled value 0"
        )
    diagonal = np.diag(confusion)
    reference_counts = confusion.sum(axis=1)
    predicted_counts = confusion.sum(axis=0)
    present = reference_counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, diagonal / reference_counts, np.nan)
        union = reference_counts + predicted_counts - diagonal
        iou = np.where(present, diagonal / union, np.nan)
    observed = diagonal.sum() / total
    expected = float((reference_counts * predicted_counts).sum()) / (total * total)
    kappa = (observed - expected) / (1.0 - expected) if expected < 1.0 else 1.0
    return SegmentationMetrics(
        overall_accuracy=float(observed),
        average_accuracy=float(np.nanmean(recall)),
        kappa=float(kappa),
        mean_iou=float(np.nanmean(iou)),
        per_class_accuracy=[float(v) for v in recall],
        per_class_iou=[float(v) for v in iou],
        pixels=int(total),
    )


def segmentation_metrics(
    reference: np.ndarray, predicted: np.ndarray, num_classes: int
) -> SegmentationMetrics:
    """Metrics of a prediction over the labelled pixels of ``reference`` (0 = unlabelled)."""
    return metrics_from_confusion(confusion_matrix(reference, predicted, num_classes))
