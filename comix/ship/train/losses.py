"""Training losses of SHIP.

IR-VIS (the public code, on luminance; tensors (B, 1, H, W) in [0, 1]):

* mask L1 (x3): ``L1(m_vis * Y_vis, F) + L1(F, m_ir * IR)``, ``m_ir`` the thermal-target mask,
  ``m_vis = 1 - m_ir`` (as the code writes it: each term compares the whole fused image with a masked source);
* max L1 (x10): ``L1(F, max(Y_vis, IR))``;
* gradient (x10): ``L1(|grad F|, max(|grad Y_vis|, |grad IR|))``, ``|grad| = |Sobel_x| + |Sobel_y|``.

IR-VIS (ours, from the IR-VIS literature — U2Fusion, SDNet, SwinFusion train with a structural term
against both sources): ``ssim``: ``(1 - SSIM(F, Y_vis)) + (1 - SSIM(F, IR))``, SSIM as
:func:`comix.ship.quality.common.ssim` computes it (Gaussian 11 x 11, sigma 1.5, K1 0.01, K2 0.03,
data range 1, mean over the positions whose window is inside the image). Its weight is in
``comix.ship.train.recipe.IRVIS_LOSS_WEIGHTS`` (docs/ship.md says why).

Pan-sharpening (ours): ``L1(F, GT) + 0.1 * mean spectral angle (radians)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from comix.errors import BadInputError
from comix.ship.quality.common import SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_TRUNCATE

_SOBEL = torch.tensor(
    [
        [[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]],
        [[[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]],
    ]
)


def sobel_magnitude(image: Tensor) -> Tensor:
    """(B, 1, H, W) -> |Sobel_x| + |Sobel_y| (B, 1, H, W), zero padding."""
    gradients = F.conv2d(image, _SOBEL.to(image), padding=1)
    return gradients.abs().sum(dim=1, keepdim=True)


SSIM_WINDOW = (
    2 * int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5) + 1
)  # 11 taps: the smallest image the ssim term takes


def _gaussian_window(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    taps = torch.exp(
        -(torch.arange(-radius, radius + 1, dtype=torch.float64) ** 2) / (2.0 * sigma**2)
    )
    return taps / taps.sum()


def ssim_mean(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """Mean SSIM of (B, 1, H, W) tensors over batch and window positions fully inside the image
    (differentiable)."""
    if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 1:
        raise BadInputError(
            f"ssim_mean: got {tuple(x.shape)} and {tuple(y.shape)}, expected two equal (B, 1, H, W)"
        )
    taps = _gaussian_window().to(x)
    if min(x.shape[-2:]) < taps.numel():
        raise BadInputError(
            f"ssim_mean: got H x W {tuple(x.shape[-2:])}, expected at least {taps.numel()} x {taps.numel()}"
        )

    def blur(values: Tensor) -> Tensor:  # separable, 'valid'
        return F.conv2d(F.conv2d(values, taps.view(1, 1, -1, 1)), taps.view(1, 1, 1, -1))

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    return (
        ((2 * mu_x * mu_y + c1) * (2 * cov + c2))
        / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    ).mean()


def irvis_losses(
    visible_y: Tensor, infrared: Tensor, fused_y: Tensor, mask_ir: Tensor
) -> dict[str, Tensor]:
    """The unweighted terms (module doc): the public code's three and ``ssim``."""
    mask_vis = 1.0 - mask_ir
    return {
        "mask_l1": F.l1_loss(mask_vis * visible_y, fused_y)
        + F.l1_loss(fused_y, mask_ir * infrared),
        "max_l1": F.l1_loss(fused_y, torch.maximum(visible_y, infrared)),
        "gradient": F.l1_loss(
            sobel_magnitude(fused_y),
            torch.maximum(sobel_magnitude(visible_y), sobel_magnitude(infrared)),
        ),
        "ssim": 2.0 - ssim_mean(fused_y, visible_y) - ssim_mean(fused_y, infrared),
    }


def spectral_angle(reference: Tensor, fused: Tensor, eps: float = 1e-8) -> Tensor:
    """Mean angle (radians) between the spectra of (B, C, H, W) tensors."""
    dot = (reference * fused).sum(dim=1)
    norms = reference.norm(dim=1) * fused.norm(dim=1)
    return torch.acos(torch.clamp(dot / (norms + eps), -1 + 1e-7, 1 - 1e-7)).mean()


def pansharpen_losses(reference: Tensor, fused: Tensor) -> dict[str, Tensor]:
    return {"l1": F.l1_loss(fused, reference), "sam": spectral_angle(reference, fused)}


def weighted_total(terms: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    missing = sorted(set(terms) - set(weights))
    if missing:
        raise BadInputError(
            f"loss weights: got none for {missing}, expected one per term {sorted(terms)}"
        )
    return sum(weights[name] * value for name, value in terms.items())
