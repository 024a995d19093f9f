"""Train/test splits on a labelled ``(H, W)`` map: seeded stratified draws and given masks."""

from __future__ import annotations

import numpy as np

from comix.data.errors import DataError


def stratified_split(
    labels: np.ndarray,
    train_fraction: float | None = None,
    train_per_class: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class random split of the labelled pixels.

    Args:
        labels: int ``(H, W)``, 0 = unlabelled.
        train_fraction: share of each class's pixels for training (at least 1 pixel, at most n - 1).
        train_per_class: fixed count per class; a class with no more pixels than that gets half
            (rounded down) of its pixels for training, so it keeps test pixels.
        seed: the draw's seed (same seed -> same masks).

    Returns:
        ``(train_mask, test_mask)``, bool ``(H, W)``, disjoint, covering every labelled pixel.
    """
    if (train_fraction is None) == (train_per_class is None):
        raise DataError(
            f"stratified_split: got train_fraction={train_fraction}, train_per_class={train_per_class}, "
            "expected exactly one"
        )
    rng = np.random.default_rng(seed)
    flat = labels.reshape(-1)
    train = np.zeros(flat.shape, dtype=bool)
    for value in np.unique(flat[flat > 0]):
        indices = np.flatnonzero(flat == value)
        count = indices.size
        if train_fraction is not None:
            n_train = min(max(1, int(round(train_fraction * count))), max(count - 1, 1))
        else:
            n_train = train_per_class if count > train_per_class else count // 2
        train[rng.permutation(indices)[:n_train]] = True
    train = train.reshape(labels.shape)
    return train, (labels > 0) & ~train


def masks_from_rasters(
    labels: np.ndarray, train_raw: np.ndarray | None, test_raw: np.ndarray, unlabelled: int
) -> tuple[np.ndarray, np.ndarray]:
    """Given train/test rasters (label rasters or 0/1 masks): a pixel is in a set where its raster is
    not ``unlabelled`` and the pixel is labelled. Without a train raster, train = labelled minus test.
    """
    test = (test_raw != unlabelled) & (labels > 0)
    train = (
        (train_raw != unlabelled) & (labels > 0) if train_raw is not None else (labels > 0) & ~test
    )
    overlap = int(np.sum(train & test))
    if overlap:
        raise DataError(
            f"given train and test masks overlap on {overlap} labelled pixels, expected disjoint masks"
        )
    return train, test
