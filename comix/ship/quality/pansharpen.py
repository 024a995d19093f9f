"""Pan-sharpening quality: reduced resolution (with a reference, Wald's protocol) and full
resolution (without).

Reduced resolution, fused vs reference (B, H, W): PSNR, SSIM (:mod:`comix.ship.quality.common`),
SAM, ERGAS, Q2n (:mod:`comix.ship.quality.hypercomplex`).

* SAM — the mean over pixels of the angle between the two spectra, in degrees (pixels where either spectrum
  is zero are left out).
* ERGAS — ``100 / ratio * sqrt(mean_b (RMSE_b / mean_b)^2)``, ``mean_b`` the reference band's mean.

Full resolution (Alparone et al. 2008), fused (B, H, W), MS (B, H/r, W/r), PAN (1, H, W):

* D_lambda — ``(mean_{l != r} |Q(F_l, F_r) - Q(MS_l, MS_r)|^p)^(1/p)``: change of the inter-band relations;
* D_s — ``(mean_l |Q(F_l, P) - Q(MS_l, P_low)|^q)^(1/q)``, ``P_low`` the PAN degraded to the MS grid by the
  sensor's MTF and the ratio (as Wald's protocol degrades it);
* QNR — ``(1 - D_lambda)^alpha (1 - D_s)^beta``;

with Q the sliding-window UIQI (``block`` 32, p = q = alpha = beta = 1). Lower is better for SAM,
ERGAS, D_lambda and D_s; higher for the rest.
"""

from __future__ import annotations

import numpy as np

from comix.errors import BadInputError
from comix.ship.quality.common import as_bands, check_pair, psnr, ssim, uiqi
from comix.ship.quality.hypercomplex import q2n

REDUCED = ("psnr", "ssim", "sam", "ergas", "q2n")
FULL = ("d_lambda", "d_s", "qnr")
HIGHER_IS_BETTER = {
    "psnr": True,
    "ssim": True,
    "sam": False,
    "ergas": False,
    "q2n": True,
    "d_lambda": False,
    "d_s": False,
    "qnr": True,
}
Q_BLOCK = 32


def sam(reference: np.ndarray, fused: np.ndarray) -> float:
    """Mean spectral angle in degrees (module doc)."""
    ref, fus = check_pair(reference, fused)
    dot = np.sum(ref * fus, axis=0)
    norms = np.sqrt(np.sum(ref**2, axis=0) * np.sum(fus**2, axis=0))
    valid = norms > 0
    if not valid.any():
        return 0.0
    angles = np.arccos(np.clip(dot[valid] / norms[valid], -1.0, 1.0))
    return float(np.degrees(angles.mean()))


def ergas(reference: np.ndarray, fused: np.ndarray, ratio: int = 4) -> float:
    """ERGAS (module doc); ``ratio`` is PAN/MS resolution ratio (4 -> the factor 100/4)."""
    ref, fus = check_pair(reference, fused)
    rmse = np.sqrt(np.mean((ref - fus) ** 2, axis=(1, 2)))
    means = np.mean(ref, axis=(1, 2))
    if np.any(means == 0):
        raise BadInputError("ergas: a reference band has mean 0, expected positive band means")
    return float(100.0 / ratio * np.sqrt(np.mean((rmse / means) ** 2)))


def reduced_resolution(
    reference: np.ndarray, fused: np.ndarray, ratio: int, data_range: float
) -> dict[str, float]:
    """PSNR, SSIM, SAM, ERGAS and Q2n of one fused (B, H, W) image against its reference."""
    ref, fus = check_pair(reference, fused)
    return {
        "psnr": psnr(ref, fus, data_range),
        "ssim": ssim(ref, fus, data_range),
        "sam": sam(ref, fus),
        "ergas": ergas(ref, fus, ratio),
        "q2n": q2n(
            ref, fus, block=min(Q_BLOCK, *ref.shape[1:]), shift=min(Q_BLOCK, *ref.shape[1:])
        ),
    }


def d_lambda(fused: np.ndarray, ms: np.ndarray, block: int = Q_BLOCK, p: float = 1.0) -> float:
    """Spectral distortion (module doc): fused (B, H, W), ms (B, h, w); needs B >= 2."""
    fus, low = as_bands(fused), as_bands(ms)
    bands = fus.shape[0]
    if bands < 2 or low.shape[0] != bands:
        raise BadInputError(
            f"d_lambda: got {bands} fused and {low.shape[0]} MS bands, expected the same count >= 2"
        )
    total = 0.0
    for i in range(bands):
        for j in range(bands):
            if i != j:
                total += abs(uiqi(fus[i], fus[j], block) - uiqi(low[i], low[j], block)) ** p
    return float((total / (bands * (bands - 1))) ** (1.0 / p))


def d_s(
    fused: np.ndarray,
    ms: np.ndarray,
    pan: np.ndarray,
    pan_low: np.ndarray,
    block: int = Q_BLOCK,
    q: float = 1.0,
) -> float:
    """Spatial distortion (module doc): pan (1, H, W) and its degraded ``pan_low`` (1, h, w)."""
    fus, low = as_bands(fused), as_bands(ms)
    high_pan, low_pan = as_bands(pan)[0], as_bands(pan_low)[0]
    if high_pan.shape != fus.shape[1:] or low_pan.shape != low.shape[1:]:
        raise BadInputError(
            f"d_s: got pan {high_pan.shape} / pan_low {low_pan.shape}, expected the fused "
            f"{fus.shape[1:]} / MS {low.shape[1:]} grids"
        )
    total = sum(
        abs(uiqi(f, high_pan, block) - uiqi(m, low_pan, block)) ** q for f, m in zip(fus, low)
    )
    return float((total / fus.shape[0]) ** (1.0 / q))


def full_resolution(
    fused: np.ndarray, ms: np.ndarray, pan: np.ndarray, pan_low: np.ndarray, block: int = Q_BLOCK
) -> dict[str, float]:
    """D_lambda, D_s and QNR of one fused image without a reference."""
    spectral = d_lambda(fused, ms, block)
    spatial = d_s(fused, ms, pan, pan_low, block)
    return {"d_lambda": spectral, "d_s": spatial, "qnr": (1.0 - spectral) * (1.0 - spatial)}
