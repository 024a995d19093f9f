"""Clipping thresholds and histograms against independent float64 references and worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from comix.calibration import thresholds
from comix.calibration.recipe import HISTOGRAM_BINS
from comix.calibration.statistics import TensorHistogram


def _kl_reference(hist: np.ndarray, i: int, levels: int) -> float:
    """Loop form of the entropy calibrator's divergence for threshold bin ``i`` (float64, no vectorising)."""
    p = [float(v) for v in hist[:i]]
    p[-1] += float(sum(hist[i:]))
    q = [0.0] * i
    edges = [int(np.floor(j * i / levels)) for j in range(levels + 1)]
    for j in range(levels):
        chunk = range(edges[j], edges[j + 1])
        mass = sum(float(hist[b]) for b in chunk)
        filled = sum(1 for b in chunk if hist[b] > 0)
        for b in chunk:
            q[b] = mass / filled if hist[b] > 0 and filled else 0.0
    sp, sq = sum(p), sum(q)
    total = 0.0
    for a, b in zip(p, q):
        if a > 0:
            total += (a / sp) * np.log((a / sp) / (b / sq if b > 0 else 1e-10))
    return total


def test_entropy_threshold_is_the_brute_force_minimum_and_clips_outliers():
    rng = np.random.default_rng(0)
    values = np.abs(
        np.concatenate([rng.normal(0, 1, 200_000), [40.0, -55.0]])
    )  # a few far outliers
    bins, width = 512, float(values.max()) / 512
    hist = np.bincount(np.minimum((values / width).astype(int), bins - 1), minlength=bins)
    levels = 64
    candidates = [*range(levels, bins, 1), bins]
    reference = min(candidates, key=lambda i: _kl_reference(hist, i, levels))
    found = thresholds.entropy_threshold(hist, width, levels, candidates=bins)
    assert found == pytest.approx(reference * width)
    assert 2.5 < found < 10.0, "outliers at 40-55 sigma must be clipped, the Gaussian body kept"


def test_entropy_with_few_candidates_is_nearly_as_good_as_every_candidate():
    rng = np.random.default_rng(1)
    values = np.abs(rng.laplace(0, 1, 100_000))
    bins, width = 2048, float(values.max()) / 2048
    hist = np.bincount(np.minimum((values / width).astype(int), bins - 1), minlength=bins)
    fine = thresholds.entropy_threshold(hist, width, 128, candidates=bins)
    coarse = thresholds.entropy_threshold(hist, width, 128, candidates=256)
    kl_fine = _kl_reference(hist, round(fine / width), 128)
    kl_coarse = _kl_reference(hist, round(coarse / width), 128)
    assert kl_fine <= kl_coarse <= 1.05 * kl_fine + 1e-4


def test_percentile_threshold_matches_numpy_percentile_within_one_bin():
    rng = np.random.default_rng(2)
    values = np.abs(rng.standard_t(3, 500_000))
    width = float(values.max()) / 4096
    hist = np.bincount(np.minimum((values / width).astype(int), 4095), minlength=4096)
    for q in (99.0, 99.9, 99.99):
        assert (
            abs(thresholds.percentile_threshold(hist, width, q) - np.percentile(values, q)) <= width
        )


def test_histogram_growth_and_merging_keep_every_value():
    rng = np.random.default_rng(3)
    histogram = TensorHistogram(0.0, np.zeros(HISTOGRAM_BINS, dtype=np.int64))
    batches = [
        np.abs(rng.normal(0, scale, 10_000)) for scale in (1.0, 3.0, 40.0)
    ]  # range grows 40x
    for batch in batches:
        histogram.add(batch, float(batch.max()))
    everything = np.concatenate(batches)
    assert histogram.counts.sum() == everything.size
    assert histogram.counts.size <= 4 * HISTOGRAM_BINS
    assert histogram.counts.size * histogram.width >= everything.max()
    # same counts as a float64 histogram over the final bin edges
    edges = np.arange(histogram.counts.size + 1) * histogram.width
    expected, _ = np.histogram(np.minimum(everything, edges[-1] - histogram.width / 2), edges)
    assert (
        np.abs(expected - histogram.counts).sum() <= 0.001 * everything.size
    )  # edge rounding only
