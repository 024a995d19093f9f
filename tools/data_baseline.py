"""Sanity check of the synthetic scenes: how hard are they for per-pixel classifiers?

Generates a scene (default: Houston-like, 349 x 1905, 144 bands), trains a random forest on the
training pixels and reports held-out overall accuracy (OA), average accuracy (AA) and kappa for:

1. spectra only (per pixel),
2. spectra + DSM height (per pixel),
3. spectra + DSM, both averaged over a 5x5 neighbourhood, plus the DSM's height above its local
   minimum — a crude stand-in for what a spatial model can exploit.

A well-made scene is clearly imperfect for (1), clearly better with (2), and better again with (3).

Usage: python tools/data_baseline.py [--preset houston_like|trento_like] [--seed 0] [--height H --width W]
       [--spectral-source earthlib|houston2013 --houston-folder ../shared/data/houston2013_pixels]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from comix.data.synthetic import make_preset
from comix.train.baselines import pixel_features


def _scores(
    truth: np.ndarray, predicted: np.ndarray, num_classes: int
) -> tuple[float, float, float]:
    matrix = confusion_matrix(truth, predicted, labels=np.arange(1, num_classes + 1))
    present = matrix.sum(axis=1) > 0
    per_class = np.diag(matrix)[present] / matrix.sum(axis=1)[present]
    return (
        float(np.trace(matrix) / matrix.sum()),
        float(per_class.mean()),
        float(cohen_kappa_score(truth, predicted)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="houston_like")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument(
        "--max-train", type=int, default=6000, help="cap on training pixels (speed)"
    )
    parser.add_argument(
        "--spectral-source", default="earthlib", choices=("earthlib", "houston2013")
    )
    parser.add_argument(
        "--houston-folder", default=None, help="houston2013_pixels folder (for houston2013)"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    generated = make_preset(
        args.preset,
        seed=args.seed,
        height=args.height,
        width=args.width,
        spectral_source=args.spectral_source,
        houston_folder=args.houston_folder,
    )
    scene = generated.scene
    elapsed = time.perf_counter() - start
    print(
        f"scene {scene.name}: {scene.height} x {scene.width}, {scene.num_bands} bands, "
        f"{scene.num_classes} classes, X = {list(scene.x_channel_names)}; "
        f"generated in {elapsed:.1f} s"
    )
    train_counts, test_counts = (
        scene.class_counts(scene.train_mask)[1:],
        scene.class_counts(scene.test_mask)[1:],
    )
    print(
        f"train pixels {train_counts.sum()}, test pixels {test_counts.sum()}, "
        f"shadowed share of the scene {generated.shadow.mean():.1%}"
    )

    rng = np.random.default_rng(args.seed)
    train_idx = np.flatnonzero(scene.train_mask.reshape(-1))
    if train_idx.size > args.max_train:
        train_idx = np.sort(rng.choice(train_idx, args.max_train, replace=False))
    test_idx = np.flatnonzero(scene.test_mask.reshape(-1))
    labels = scene.labels.reshape(-1)
    rows = []
    for name, spatial, with_dsm in (
        ("spectral only (per pixel)", False, False),
        ("spectral + DSM (per pixel)", False, True),
        ("spectral + DSM, 5x5 mean + local height", True, True),
    ):
        features = pixel_features(scene, spatial, with_dsm)
        forest = RandomForestClassifier(n_estimators=args.trees, n_jobs=2, random_state=args.seed)
        forest.fit(features[train_idx], labels[train_idx])
        predicted = forest.predict(features[test_idx])
        rows.append((name, *_scores(labels[test_idx], predicted, scene.num_classes), predicted))
    print()
    print(
        f"{'features (random forest, ' + str(args.trees) + ' trees)':<44}{'OA':>8}{'AA':>8}{'kappa':>8}"
    )
    for name, oa, aa, kappa, _ in rows:
        print(f"{name:<44}{oa:>8.1%}{aa:>8.1%}{kappa:>8.3f}")
    print()
    print("per-class test accuracy:")
    header = "".join(f"{n[:11]:>12}" for n in ("spectral", "+DSM", "+spatial"))
    print(f"{'class':<18}{header}")
    truth = labels[test_idx]
    for k, class_name in enumerate(scene.class_names, start=1):
        mask = truth == k
        if mask.any():
            cells = "".join(f"{np.mean(row[-1][mask] == k):>12.1%}" for row in rows)
            print(f"{class_name:<18}{cells}")


if __name__ == "__main__":
    main()
