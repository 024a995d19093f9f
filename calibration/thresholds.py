"""Clipping thresholds from absolute-value histograms: max, percentile and entropy (KL divergence).

The histogram of ``|x|`` has ``bins`` equal bins over ``[0, bins * width)``. ``entropy`` is the
method TensorRT's entropy calibrator popularised (Migacz, GTC 2017): for every candidate threshold
``i * width`` (i = levels .. bins) the clipped distribution P (outliers added to the last bin) is
compared with Q, P squeezed into ``levels`` int8 levels and expanded back over P's non-empty bins;
the threshold with the smallest KL(P || Q) wins.
"""

from __future__ import annotations

import numpy as np


def max_threshold(amax: float) -> float:
    return float(amax)


def percentile_threshold(hist: np.ndarray, width: float, percentile: float) -> float:
    """Smallest bin edge below which ``percentile`` % of the values lie."""
    total = hist.sum()
    if total == 0:
        return 0.0
    cdf = np.cumsum(hist) / total
    index = int(np.searchsorted(cdf, percentile / 100.0))
    return float(min(index + 1, hist.size) * width)


def entropy_threshold(
    hist: np.ndarray, width: float, levels: int = 128, candidates: int = 256
) -> float:
    """Threshold minimising KL(P || Q) over candidates ``i * width``, ``levels <= i <= bins``.

    At most ``candidates`` thresholds are tried, evenly spaced (every bin for a 2048-bin histogram would
    cost ~1 s per tensor in NumPy; 256 candidates move the threshold by at most 0.4 % of the range)."""
    hist = np.asarray(hist, dtype=np.float64)
    bins = hist.size
    if hist.sum() == 0:
        return 0.0
    if bins <= levels:
        return float(bins * width)
    best_i, best_kl = bins, np.inf
    nonzero = (hist > 0).astype(np.float64)
    step = max(1, (bins - levels) // candidates)
    for i in [*range(levels, bins, step), bins]:
        p = hist[:i].copy()
        p[i - 1] += hist[i:].sum()
        # Q: the i bins merged into `levels` chunks, each chunk's mass spread over its non-empty bins
        edges = np.floor(np.arange(levels + 1) * i / levels).astype(np.int64)
        chunk = np.repeat(np.arange(levels), np.diff(edges))
        mass = np.bincount(chunk, weights=hist[:i], minlength=levels)
        filled = np.bincount(chunk, weights=nonzero[:i], minlength=levels)
        q = np.where(nonzero[:i] > 0, mass[chunk] / np.maximum(filled[chunk], 1), 0.0)
        kl = _kl(p, q)
        if kl < best_kl:
            best_i, best_kl = i, kl
    return float(best_i * width)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(P || Q) of unnormalised histograms; bins where P > 0 but Q = 0 get a small epsilon in Q."""
    p = p / p.sum()
    total_q = q.sum()
    if total_q == 0:
        return np.inf
    q = q / total_q
    mask = p > 0
    q = np.where(mask & (q == 0), 1e-10, q)
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
