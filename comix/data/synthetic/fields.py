"""Seeded, spatially smooth random fields (the texture behind terrain, grass patches, spectral drift)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_field(rng: np.random.Generator, height: int, width: int, scale_px: float) -> np.ndarray:
    """float32 ``(height, width)`` field with zero mean, unit std, correlated over ~``scale_px`` pixels.

    Made by cubic upsampling of white noise on a coarse grid, so it costs O(H*W) whatever the scale.
    """
    scale_px = max(float(scale_px), 1.0)
    coarse_h = int(np.ceil(height / scale_px)) + 3
    coarse_w = int(np.ceil(width / scale_px)) + 3
    coarse = rng.standard_normal((coarse_h, coarse_w)).astype(np.float32)
    field = ndimage.zoom(coarse, scale_px, order=3, prefilter=False)[:height, :width]
    field = field - field.mean()
    std = field.std()
    return (field / std if std > 0 else field).astype(np.float32)


def unit_field(rng: np.random.Generator, height: int, width: int, scale_px: float) -> np.ndarray:
    """Like :func:`smooth_field` but mapped to ``[0, 1]`` through the normal CDF (roughly uniform)."""
    from scipy.special import ndtr

    return ndtr(smooth_field(rng, height, width, scale_px)).astype(np.float32)
