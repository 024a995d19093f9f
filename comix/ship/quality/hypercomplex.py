"""Q2n (Garzelli & Nencini 2009): the universal image quality index of multiband images as 2^n-ons.

Each pixel's B bands (zero-padded to the next power of two) are one hypercomplex number. On each
``block`` x ``block`` block (step ``shift``; the image mirrored at its bottom/right to fit whole blocks) both
images are standardised band-wise with the *reference* block's mean and standard deviation (+1), and

    Q = |cov(z, z')| / (var z + var z') * 2 ...
      = 4 |sigma_zz'| |mu_z| |mu_z'| / ((sigma_z^2 + sigma_z'^2)(|mu_z|^2 + |mu_z'|^2))

with ``sigma_zz' = E[z conj(z')] - mu_z conj(mu_z')`` in hypercomplex arithmetic; Q2n is the mean over blocks.
The product is the Cayley-Dickson construction with the pan-sharpening toolbox's convention,
``(a, b)(c, d) = (a c - conj(d) b, conj(a) conj(d) + c conj(b))`` (halves a, b, c, d; complex
multiplication at 2 components), so values are comparable with published tables.
"""

from __future__ import annotations

import numpy as np

from comix.errors import BadInputError
from comix.ship.quality.common import check_pair

EPS = np.finfo(np.float64).eps


def conjugate(values: np.ndarray) -> np.ndarray:
    """Hypercomplex conjugate along the last axis (negate all but the real part)."""
    out = -values
    out[..., 0] = values[..., 0]
    return out


def multiply(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hypercomplex product along the last axis (length a power of two; module doc for the convention)."""
    n = x.shape[-1]
    if n == 1:
        return x * y
    half = n // 2
    a, b = x[..., :half], conjugate(x[..., half:])
    c, d = y[..., :half], conjugate(y[..., half:])
    if n == 2:
        return np.concatenate([a * c - d * b, a * d + c * b], axis=-1)
    first = multiply(a, c) - multiply(d, conjugate(b))
    second = multiply(conjugate(a), d) + multiply(c, b)
    return np.concatenate([first, second], axis=-1)


def _block_quality(reference: np.ndarray, fused: np.ndarray) -> float:
    """Q of one block; arrays (pixels, N) with N a power of two, already standardised."""
    count = reference.shape[0]
    unbiased = count / (count - 1)
    mean_r, mean_f = reference.mean(axis=0), fused.mean(axis=0)
    norm_r2, norm_f2 = float(np.sum(mean_r**2)), float(np.sum(mean_f**2))
    mean_term = 2.0 * np.sqrt(norm_r2 * norm_f2) / (norm_r2 + norm_f2)
    variances = unbiased * (
        np.mean(np.sum(reference**2, axis=1))
        + np.mean(np.sum(fused**2, axis=1))
        - norm_r2
        - norm_f2
    )
    if variances == 0:
        return float(mean_term)
    covariance = unbiased * (
        multiply(reference, conjugate(fused)).mean(axis=0)
        - multiply(mean_r[None], conjugate(mean_f[None]))[0]
    )
    return float(np.sqrt(np.sum(covariance**2)) * mean_term * 2.0 / variances)


def _standardise(reference: np.ndarray, fused: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band-wise (x - mean_ref) / std_ref + 1 on a block, (N, h, w) each
    (std with ddof 1, as MATLAB's std2)."""
    out_r, out_f = np.empty_like(reference), np.empty_like(fused)
    for band in range(reference.shape[0]):
        mean = reference[band].mean()
        std = reference[band].std(ddof=1) or EPS
        out_r[band] = (reference[band] - mean) / std + 1.0
        out_f[band] = fused[band] - mean + 1.0 if mean == 0 else (fused[band] - mean) / std + 1.0
    return out_r, out_f


def _mirror_pad(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return (
        np.pad(values, ((0, 0), (0, rows), (0, cols)), mode="symmetric") if rows or cols else values
    )


def q2n(reference: np.ndarray, fused: np.ndarray, block: int = 32, shift: int = 32) -> float:
    """Q2n of a fused (B, H, W) image against its reference (module doc); 1 is perfect."""
    ref, fus = check_pair(reference, fused)
    bands, height, width = ref.shape
    padded_bands = 1 << int(np.ceil(np.log2(bands)))
    if padded_bands > bands:
        zeros = np.zeros((padded_bands - bands, height, width))
        ref, fus = np.concatenate([ref, zeros]), np.concatenate([fus, zeros])
    steps_h, steps_w = int(np.ceil(height / shift)), int(np.ceil(width / shift))
    extra_h, extra_w = (steps_h - 1) * shift + block - height, (steps_w - 1) * shift + block - width
    if extra_h > height or extra_w > width:
        raise BadInputError(
            f"q2n: got H x W {height}x{width}, expected at least the block {block} (or a smaller block)"
        )
    ref, fus = (
        _mirror_pad(ref, max(extra_h, 0), max(extra_w, 0)),
        _mirror_pad(fus, max(extra_h, 0), max(extra_w, 0)),
    )
    values = []
    for i in range(steps_h):
        for j in range(steps_w):
            window = np.s_[:, i * shift : i * shift + block, j * shift : j * shift + block]
            r, f = _standardise(ref[window], fus[window])
            values.append(
                _block_quality(r.reshape(padded_bands, -1).T, f.reshape(padded_bands, -1).T)
            )
    return float(np.mean(values))
