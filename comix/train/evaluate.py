"""Whole-scene evaluation: sliding-window prediction through any runtime backend, scored on labelled
pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from comix.atomic import write_text_atomic
from comix.data.scene import Scene
from comix.errors import BadInputError
from comix.runtime.backend import Backend
from comix.runtime.sliding_window import SlidingWindow
from comix.train.metrics import SegmentationMetrics, confusion_matrix, metrics_from_confusion
from comix.viz import save_class_map, save_confusion_matrix

SPLITS = ("test", "train", "all")


def predict_scene(
    backend: Backend,
    scene: Scene,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    zero_x: bool = False,
) -> np.ndarray:
    """Class raster (H, W) with values 1..K for the whole scene (tiles blended; defaults of the runtime)."""
    x = np.zeros_like(scene.x) if zero_x else scene.x
    return SlidingWindow(backend, tile=tile, overlap=overlap, batch=batch)(
        scene.hsi, x
    ).classes.astype(np.int64)


def split_reference(scene: Scene, split: str) -> np.ndarray:
    """Labels (H, W) restricted to the pixels of ``split`` (others 0 = not scored)."""
    if split not in SPLITS:
        raise BadInputError(f"split: got {split!r}, expected one of {list(SPLITS)}")
    if split == "all":
        return scene.labels
    mask = scene.test_mask if split == "test" else scene.train_mask
    return np.where(mask, scene.labels, 0)


def evaluate_scene(
    backend: Backend,
    scene: Scene,
    tile: int | None = None,
    overlap: int | None = None,
    split: str = "test",
    zero_x: bool = False,
) -> tuple[SegmentationMetrics, np.ndarray]:
    """(metrics on the ``split`` pixels, predicted class raster (H, W)) for a model behind ``backend``."""
    reference = split_reference(scene, split)
    prediction = predict_scene(backend, scene, tile=tile, overlap=overlap, zero_x=zero_x)
    return metrics_from_confusion(
        confusion_matrix(reference, prediction, scene.num_classes)
    ), prediction


def write_evaluation(
    folder: str | Path,
    metrics: SegmentationMetrics,
    prediction: np.ndarray,
    scene: Scene,
    split: str,
) -> list[Path]:
    """metrics.json (scores, per-class table, confusion matrix), prediction.png and confusion.png."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    reference = split_reference(scene, split)
    confusion = confusion_matrix(reference, prediction, scene.num_classes)
    document = {
        "scene": scene.name,
        "split": split,
        **metrics.as_dict(),
        "classes": [
            {
                "label": k,
                "name": name,
                "accuracy": metrics.per_class_accuracy[k - 1],
                "iou": metrics.per_class_iou[k - 1],
                "pixels": int(confusion[k - 1].sum()),
            }
            for k, name in enumerate(scene.class_names, start=1)
        ],
        "confusion_matrix": confusion.tolist(),
    }
    metrics_path = write_text_atomic(folder / "metrics.json", json.dumps(document, indent=2))
    title = f"{scene.name}: OA {metrics.overall_accuracy:.3f}, mIoU {metrics.mean_iou:.3f} ({split} pixels)"
    map_path = save_class_map(
        prediction, scene.class_names, folder / "prediction.png", title, reference=reference
    )
    confusion_path = save_confusion_matrix(
        confusion, scene.class_names, folder / "confusion.png", title
    )
    return [metrics_path, map_path, confusion_path]
