"""Resolution changes of pan-sharpening, as separable matrices applied along H and W (exact, NumPy only).

* :func:`mtf_decimate` — the sensor's MTF-matched Gaussian blur and decimation by ``ratio`` in one step
  (Wald's protocol). The Gaussian's std follows from the MTF gain ``gnyq`` at the low-resolution Nyquist
  frequency: ``exp(-pi^2 sigma^2 / (2 r^2)) = gnyq``, i.e. ``sigma = r sqrt(-2 ln gnyq) / pi`` high-resolution
  pixels. Low-resolution pixel ``j`` is centred on high-resolution coordinate ``r j + (r - 1) / 2`` (pixel
  centres aligned, no half-pixel shift); borders are mirrored.
* :func:`bicubic_upsample` — Keys' cubic convolution (a = -0.75), the same half-pixel alignment, edge pixels
  repeated: equal to PyTorch's ``interpolate(mode="bicubic", align_corners=False)`` (tested against it).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from comix.data.errors import DataError

KEYS_A = -0.75


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Symmetric (half-sample) mirroring of integer indices into [0, length)."""
    period = 2 * length
    index = np.mod(index, period)
    return np.where(index >= length, period - 1 - index, index)


@lru_cache(maxsize=64)
def decimation_matrix(length: int, ratio: int, gnyq: float) -> np.ndarray:
    """float64 (length // ratio, length): MTF-Gaussian weights of each low-resolution pixel, rows sum to 1."""
    if not 0.0 < gnyq < 1.0:
        raise DataError(f"MTF gain at Nyquist: got {gnyq}, expected a value in (0, 1)")
    sigma = ratio * np.sqrt(-2.0 * np.log(gnyq)) / np.pi
    radius = int(np.ceil(4.0 * sigma)) + ratio
    out = length // ratio
    matrix = np.zeros((out, length), dtype=np.float64)
    for j in range(out):
        centre = ratio * j + (ratio - 1) / 2.0
        taps = np.arange(int(np.floor(centre)) - radius, int(np.ceil(centre)) + radius + 1)
        weights = np.exp(-0.5 * ((taps - centre) / sigma) ** 2)
        np.add.at(matrix[j], _mirror(taps, length), weights)
    return matrix / matrix.sum(axis=1, keepdims=True)


def _keys(distance: np.ndarray) -> np.ndarray:
    d = np.abs(distance)
    near = ((KEYS_A + 2) * d - (KEYS_A + 3)) * d * d + 1
    far = ((KEYS_A * d - 5 * KEYS_A) * d + 8 * KEYS_A) * d - 4 * KEYS_A
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


@lru_cache(maxsize=64)
def upsampling_matrix(length: int, ratio: int) -> np.ndarray:
    """float64 (length * ratio, length): bicubic weights of each high-resolution pixel (rows sum to 1)."""
    out = length * ratio
    matrix = np.zeros((out, length), dtype=np.float64)
    for i in range(out):
        source = (i + 0.5) / ratio - 0.5
        base = int(np.floor(source))
        taps = np.arange(base - 1, base + 3)
        np.add.at(matrix[i], np.clip(taps, 0, length - 1), _keys(taps - source))
    return matrix


def _separable(cube: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    out = np.einsum("ih,chw->ciw", rows, cube.astype(np.float64, copy=False), optimize=True)
    return np.einsum("ciw,jw->cij", out, cols, optimize=True).astype(np.float32)


def _check(cube: np.ndarray, name: str) -> None:
    if cube.ndim != 3:
        raise DataError(f"{name}: got shape {cube.shape}, expected a (bands, H, W) cube")


def mtf_decimate(cube: np.ndarray, ratio: int, gnyq) -> np.ndarray:
    """(bands, H, W) -> float32 (bands, H // ratio, W // ratio): MTF blur + decimation (module doc).

    ``gnyq`` is one gain for every band or a sequence of one gain per band.
    """
    _check(cube, "mtf_decimate")
    bands, height, width = cube.shape
    if height % ratio or width % ratio:
        raise DataError(
            f"mtf_decimate: got H x W {height}x{width}, expected multiples of the ratio {ratio}"
        )
    gains = np.broadcast_to(np.asarray(gnyq, dtype=np.float64), (bands,))
    out = np.empty((bands, height // ratio, width // ratio), dtype=np.float32)
    for gain in np.unique(gains):
        chosen = np.flatnonzero(gains == gain)
        out[chosen] = _separable(
            cube[chosen],
            decimation_matrix(height, ratio, float(gain)),
            decimation_matrix(width, ratio, float(gain)),
        )
    return out


def bicubic_upsample(cube: np.ndarray, ratio: int) -> np.ndarray:
    """(bands, h, w) -> float32 (bands, h * ratio, w * ratio), bicubic (module doc)."""
    _check(cube, "bicubic_upsample")
    _, height, width = cube.shape
    return _separable(cube, upsampling_matrix(height, ratio), upsampling_matrix(width, ratio))
