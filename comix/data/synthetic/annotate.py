"""Sparse ground truth like the public benchmarks: labelled patches ("polygons") inside homogeneous
areas, most pixels unlabelled, and a train/test split by whole patches (so train and test pixels
come from different places, as in Houston 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class AnnotationPlan:
    """How much to label and how to split.

    Attributes:
        labelled_fraction: target share of all pixels that get a label (spread evenly over classes).
        train_share: target share of each class's labelled pixels in the train set.
        patch_size: (min, max) side of a labelled patch in pixels.
        edge_margin: pixels kept unlabelled next to a class boundary (mixed pixels), as annotators do.
    """

    labelled_fraction: float = 0.06
    train_share: float = 0.3
    patch_size: tuple[int, int] = (6, 24)
    edge_margin: int = 1


def annotate(
    dense: np.ndarray,
    num_classes: int,
    rng: np.random.Generator,
    plan: AnnotationPlan = AnnotationPlan(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw labelled patches over a dense class map.

    Args:
        dense: int ``(H, W)`` full class map ``1..K``.

    Returns:
        ``(labels int64 (H, W) with 0 = unlabelled, train_mask bool (H, W), test_mask bool (H, W))``.
    """
    height, width = dense.shape
    patch_id = np.zeros(dense.shape, dtype=np.int64)
    patch_class: list[int] = [0]
    target = plan.labelled_fraction * height * width / num_classes
    low, high = plan.patch_size
    for class_id in range(1, num_classes + 1):
        core = dense == class_id
        if plan.edge_margin > 0:
            core = ndimage.binary_erosion(core, iterations=plan.edge_margin)
        candidates = np.flatnonzero(core)
        if candidates.size == 0:
            continue
        budget = min(target, 0.5 * candidates.size)
        labelled = 0
        for centre in rng.permutation(candidates)[:400]:
            if labelled >= budget:
                break
            cy, cx = divmod(int(centre), width)
            box_h, box_w = rng.integers(low, high + 1, size=2)
            top, left = max(cy - box_h // 2, 0), max(cx - box_w // 2, 0)
            region = np.s_[top : min(top + box_h, height), left : min(left + box_w, width)]
            take = core[region] & (patch_id[region] == 0)
            if take.sum() < 4:
                continue
            patch_class.append(class_id)
            patch_id[region][take] = len(patch_class) - 1
            labelled += int(take.sum())
    _halve_lone_patches(patch_id, patch_class)
    classes = np.asarray(patch_class, dtype=np.int64)
    labels = classes[patch_id]
    train_patch = _split_patches(patch_id, classes, plan.train_share, rng)
    train = train_patch[patch_id] & (labels > 0)
    return labels, train, (labels > 0) & ~train


def _halve_lone_patches(patch_id: np.ndarray, patch_class: list[int]) -> None:
    """A class with a single patch (small scenes) gets it cut in two along its longer side, so the
    class has both train and test pixels. Appends to ``patch_class`` and relabels ``patch_id`` in place."""
    classes = np.asarray(patch_class)
    for class_id in np.unique(classes[1:]):
        members = np.flatnonzero(classes == class_id)
        if members.size != 1:
            continue
        rows, cols = np.nonzero(patch_id == members[0])
        if rows.size < 2:
            continue
        along_rows = np.ptp(rows) >= np.ptp(cols)
        coordinate = rows if along_rows else cols
        second = coordinate > np.median(coordinate)
        if not second.any() or second.all():
            second = np.arange(rows.size) >= rows.size // 2
        patch_class.append(int(class_id))
        patch_id[rows[second], cols[second]] = len(patch_class) - 1


def _split_patches(
    patch_id: np.ndarray, classes: np.ndarray, train_share: float, rng: np.random.Generator
) -> np.ndarray:
    """bool ``(patches,)``: per class, whole patches go to train (in random order) until the class's
    train share is reached; every class with two or more patches keeps at least one test patch."""
    sizes = np.bincount(patch_id.reshape(-1), minlength=classes.size)
    train = np.zeros(classes.size, dtype=bool)
    for class_id in np.unique(classes[1:]):
        patches = rng.permutation(np.flatnonzero(classes == class_id))
        total, taken = sizes[patches].sum(), 0
        for index, patch in enumerate(patches):
            if taken >= train_share * total or (index == len(patches) - 1 and index > 0):
                break
            train[patch] = True
            taken += sizes[patch]
    return train
