"""Infrared-visible fusion quality, as the IR-VIS literature reports it (no reference image exists).

Images are single-band (the luminance of an RGB visible or fused image, BT.601) on the 8-bit scale [0, 255]
(inputs in [0, 1] are multiplied by 255), as the common evaluation code reads 8-bit files:

* EN — Shannon entropy (bits) of the fused image's 256-bin histogram;
* SD — standard deviation of the fused image;
* MI — mutual information (bits, 256 x 256 joint histogram) of fused with visible plus fused with infrared;
* SSIM — SSIM(fused, visible) + SSIM(fused, infrared) (:func:`comix.ship.quality.common.ssim`, data
  range 255);
* VIF — pixel-domain visual information fidelity (Sheikh & Bovik, four scales, noise variance 2) of the fused
  image w.r.t. visible plus w.r.t. infrared;
* Qabf — Xydeas & Petrovic's gradient-based edge preservation (Sobel; Gamma_g 0.9994, kappa_g -15,
  sigma_g 0.5, Gamma_a 0.9879, kappa_a -22, sigma_a 0.8; weights = source gradient magnitude, L = 1).

Higher is better for all six.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from comix.errors import BadInputError
from comix.ship.quality.common import as_bands, ssim

METRICS = ("en", "sd", "mi", "ssim", "vif", "qabf")
HIGHER_IS_BETTER = dict.fromkeys(METRICS, True)
LUMA = np.asarray([0.299, 0.587, 0.114])


def to_gray255(image: np.ndarray) -> np.ndarray:
    """(3, H, W) RGB or (1, H, W) / (H, W) gray in [0, 1] -> float64 (H, W) on [0, 255]."""
    bands = as_bands(image)
    gray = np.tensordot(LUMA, bands, axes=1) if bands.shape[0] == 3 else bands[0]
    return np.clip(gray, 0.0, 1.0) * 255.0


def _histogram_bins(image: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(image), 0, 255).astype(np.int64)


def entropy(image: np.ndarray) -> float:
    counts = np.bincount(_histogram_bins(image).ravel(), minlength=256).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    joint = np.zeros((256, 256))
    np.add.at(joint, (_histogram_bins(a).ravel(), _histogram_bins(b).ravel()), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / (pa[:, None] * pb[None, :])[nz])).sum())


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def _valid_filter(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlation keeping only fully-inside positions (MATLAB ``filter2(w, x, 'valid')``)."""
    size = window.shape[0]
    full = ndimage.correlate(image, window, mode="constant")
    start = size // 2
    return full[
        start : start + image.shape[0] - size + 1, start : start + image.shape[1] - size + 1
    ]


def vif(reference: np.ndarray, distorted: np.ndarray, sigma_nsq: float = 2.0) -> float:
    """Pixel-domain VIF of ``distorted`` w.r.t. ``reference`` (2-D arrays)."""
    ref, dist = np.asarray(reference, np.float64), np.asarray(distorted, np.float64)
    numerator = denominator = 0.0
    eps = 1e-10
    for scale in range(1, 5):
        size = 2 ** (4 - scale + 1) + 1
        window = _gaussian_window(size, size / 5.0)
        if scale > 1:
            ref = _valid_filter(ref, window)[::2, ::2]
            dist = _valid_filter(dist, window)[::2, ::2]
        mu1, mu2 = _valid_filter(ref, window), _valid_filter(dist, window)
        sigma1_sq = _valid_filter(ref * ref, window) - mu1 * mu1
        sigma2_sq = _valid_filter(dist * dist, window) - mu2 * mu2
        sigma12 = _valid_filter(ref * dist, window) - mu1 * mu2
        sigma1_sq, sigma2_sq = np.maximum(sigma1_sq, 0), np.maximum(sigma2_sq, 0)
        g = sigma12 / (sigma1_sq + eps)
        sv_sq = sigma2_sq - g * sigma12
        g = np.where(sigma1_sq < eps, 0.0, g)
        sv_sq = np.where(sigma1_sq < eps, sigma2_sq, sv_sq)
        sigma1_sq = np.where(sigma1_sq < eps, 0.0, sigma1_sq)
        g = np.where(sigma2_sq < eps, 0.0, g)
        sv_sq = np.where(sigma2_sq < eps, 0.0, sv_sq)
        sv_sq = np.where(g < 0, sigma2_sq, sv_sq)
        g = np.maximum(g, 0)
        sv_sq = np.maximum(sv_sq, eps)
        numerator += np.sum(np.log10(1.0 + g * g * sigma1_sq / (sv_sq + sigma_nsq)))
        denominator += np.sum(np.log10(1.0 + sigma1_sq / sigma_nsq))
    return float(numerator / denominator)


SOBEL_X = np.asarray([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T
QABF = {
    "gamma_g": 0.9994,
    "kappa_g": -15.0,
    "sigma_g": 0.5,
    "gamma_a": 0.9879,
    "kappa_a": -22.0,
    "sigma_a": 0.8,
}


def _gradients(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel magnitude and orientation (atan(gy / gx), in (-pi/2, pi/2]; pi/2 where gx = 0)."""
    gx = ndimage.correlate(image, SOBEL_X, mode="nearest")
    gy = ndimage.correlate(image, SOBEL_Y, mode="nearest")
    magnitude = np.sqrt(gx * gx + gy * gy)
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.where(gx == 0, np.pi / 2, np.arctan(gy / np.where(gx == 0, 1.0, gx)))
    return magnitude, angle


def _edge_preservation(
    source: tuple[np.ndarray, np.ndarray], fused: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    g_s, a_s = source
    g_f, a_f = fused
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(g_s > g_f, g_f / g_s, np.where(g_s == g_f, g_f * 0 + 1.0, g_s / g_f))
    relative = np.nan_to_num(relative, nan=1.0)
    orientation = 1.0 - np.abs(a_s - a_f) / (np.pi / 2)
    c = QABF
    q_g = c["gamma_g"] / (1.0 + np.exp(c["kappa_g"] * (relative - c["sigma_g"])))
    q_a = c["gamma_a"] / (1.0 + np.exp(c["kappa_a"] * (orientation - c["sigma_a"])))
    return q_g * q_a


def qabf(visible: np.ndarray, infrared: np.ndarray, fused: np.ndarray) -> float:
    """Edge-preservation score of ``fused`` from the two sources (2-D arrays; module doc)."""
    grad_a, grad_b, grad_f = _gradients(visible), _gradients(infrared), _gradients(fused)
    q_af, q_bf = _edge_preservation(grad_a, grad_f), _edge_preservation(grad_b, grad_f)
    weight_a, weight_b = grad_a[0], grad_b[0]
    total = float(np.sum(weight_a + weight_b))
    return float(np.sum(q_af * weight_a + q_bf * weight_b) / total) if total > 0 else 0.0


def irvis_metrics(visible: np.ndarray, infrared: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """EN, SD, MI, SSIM, VIF and Qabf of one fused image (module doc); inputs in [0, 1], (C, H, W)."""
    a, b, f = to_gray255(visible), to_gray255(infrared), to_gray255(fused)
    if not a.shape == b.shape == f.shape:
        raise BadInputError(
            f"irvis_metrics: got {a.shape}, {b.shape}, {f.shape}, expected one H x W"
        )
    return {
        "en": entropy(f),
        "sd": float(f.std()),
        "mi": mutual_information(f, a) + mutual_information(f, b),
        "ssim": ssim(a, f, 255.0) + ssim(b, f, 255.0),
        "vif": vif(a, f) + vif(b, f),
        "qabf": qabf(a, b, f),
    }
