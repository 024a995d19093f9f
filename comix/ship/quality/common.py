"""Full-reference image-quality measures shared by the fusion tasks (NumPy, float64 inside).

Images are channels-first ``(C, H, W)`` arrays (or ``(H, W)`` for one band). Definitions:

* :func:`psnr` — ``10 log10(R^2 / MSE)`` over all bands together, ``R`` the data range.
* :func:`ssim` — Wang et al. 2004: Gaussian window (sigma 1.5, 11 x 11), K1 = 0.01, K2 = 0.03, population
  statistics, borders of half a window cropped; the mean over bands.
* :func:`uiqi` — Wang & Bovik's universal image quality index on sliding ``block`` x ``block`` windows (only
  windows inside the image), the mean of its map; flat windows follow the original code (1 when both are
  flat and equal, the mean term when only the variance term is undefined).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from comix.errors import BadInputError

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # 2 * int(3.5 * 1.5 + 0.5) + 1 = 11 taps
SSIM_K1, SSIM_K2 = 0.01, 0.03


def as_bands(image: np.ndarray) -> np.ndarray:
    """float64 (C, H, W) view of a (C, H, W) or (H, W) array."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        return array[None]
    if array.ndim != 3:
        raise BadInputError(f"image: got shape {array.shape}, expected (C, H, W) or (H, W)")
    return array


def check_pair(reference: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, img = as_bands(reference), as_bands(image)
    if ref.shape != img.shape:
        raise BadInputError(
            f"images: got shapes {ref.shape} and {img.shape}, expected the same shape"
        )
    return ref, img


def psnr(reference: np.ndarray, image: np.ndarray, data_range: float) -> float:
    ref, img = check_pair(reference, image)
    mse = float(np.mean((ref - img) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def _ssim_band(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    def blur(values: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(values, SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    pad = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    return float(ssim_map[pad:-pad, pad:-pad].mean())


def ssim(reference: np.ndarray, image: np.ndarray, data_range: float) -> float:
    """Mean structural similarity over bands (module doc); images must be at least 12 x 12."""
    ref, img = check_pair(reference, image)
    if min(ref.shape[1:]) < 12:
        raise BadInputError(
            f"ssim: got H x W {ref.shape[1:]}, expected at least 12 x 12 (the 11 x 11 window)"
        )
    return float(np.mean([_ssim_band(r, i, data_range) for r, i in zip(ref, img)]))


def _box_sum(values: np.ndarray, block: int) -> np.ndarray:
    """Sums over every ``block`` x ``block`` window fully inside a 2-D array ('valid')."""
    table = np.pad(values, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    return (
        table[block:, block:]
        - table[:-block, block:]
        - table[block:, :-block]
        + table[:-block, :-block]
    )


def uiqi_map(x: np.ndarray, y: np.ndarray, block: int) -> np.ndarray:
    """UIQI of every sliding ``block`` x ``block`` window of two 2-D arrays (module doc)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise BadInputError(
            f"uiqi: got shapes {x.shape} and {y.shape}, expected two equal 2-D arrays"
        )
    if block > min(x.shape):
        raise BadInputError(
            f"uiqi: got block {block}, expected at most the image's smaller side {min(x.shape)}"
        )
    n = block * block
    sx, sy = _box_sum(x, block), _box_sum(y, block)
    sxx, syy, sxy = _box_sum(x * x, block), _box_sum(y * y, block), _box_sum(x * y, block)
    product = sx * sy
    squares = sx * sx + sy * sy
    numerator = 4.0 * (n * sxy - product) * product
    spread = n * (sxx + syy) - squares
    denominator = spread * squares
    quality = np.ones_like(denominator)
    only_mean = (spread == 0) & (squares != 0)
    quality[only_mean] = 2.0 * product[only_mean] / squares[only_mean]
    defined = denominator != 0
    quality[defined] = numerator[defined] / denominator[defined]
    return quality


def uiqi(x: np.ndarray, y: np.ndarray, block: int = 32) -> float:
    """Mean UIQI of two 2-D arrays over sliding windows (a window larger than the image shrinks to it)."""
    return float(uiqi_map(x, y, min(block, *np.shape(x))).mean())
