"""Image-quality metrics of the fusion tasks (NumPy): pan-sharpening at reduced resolution (PSNR, SSIM, SAM,
ERGAS, Q2n) and full resolution (D_lambda, D_s, QNR), infrared-visible fusion (EN, SD, MI, SSIM, VIF, Qabf).
Each is tested against an independent implementation or a worked example (tests/quality)."""

from comix.ship.quality.common import psnr, ssim, uiqi
from comix.ship.quality.hypercomplex import q2n
from comix.ship.quality.irvis import irvis_metrics
from comix.ship.quality.pansharpen import (
    d_lambda,
    d_s,
    ergas,
    full_resolution,
    reduced_resolution,
    sam,
)

__all__ = [
    "d_lambda",
    "d_s",
    "ergas",
    "full_resolution",
    "irvis_metrics",
    "psnr",
    "q2n",
    "reduced_resolution",
    "sam",
    "ssim",
    "uiqi",
]
