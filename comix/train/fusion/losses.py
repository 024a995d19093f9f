"""Training losses of SHIP.

IR-VIS (the public code, on luminance; tensors (B, 1, H, W) in [0, 1]):

* mask L1 (x3): ``L1(m_vis * Y_vis, F) + L1(F, m_ir * IR)``, ``m_ir`` the thermal-target mask, ``m_vis = 1 - m_ir``
  (as the code writes it: each term compares the whole fused image with a masked source);
* max L1 (x10): ``L1(F, max(Y_vis, IR))``;
* gradient (x10): ``L1(|grad F|, max(|grad Y_vis|, |grad IR|))``, ``|grad| = |Sobel_x| + |Sobel_y|``.

Pan-sharpening (ours): ``L1(F, GT) + 0.1 * mean spectral angle (radians)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_SOBEL = torch.tensor([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]],
                       [[[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]]])


def sobel_magnitude(image: Tensor) -> Tensor:
    """(B, 1, H, W) -> |Sobel_x| + |Sobel_y| (B, 1, H, W), zero padding."""
    gradients = F.conv2d(image, _SOBEL.to(image), padding=1)
    return gradients.abs().sum(dim=1, keepdim=True)


def irvis_losses(visible_y: Tensor, infrared: Tensor, fused_y: Tensor, mask_ir: Tensor) -> dict[str, Tensor]:
    """The three unweighted terms (module doc)."""
    mask_vis = 1.0 - mask_ir
    return {"mask_l1": F.l1_loss(mask_vis * visible_y, fused_y) + F.l1_loss(fused_y, mask_ir * infrared),
            "max_l1": F.l1_loss(fused_y, torch.maximum(visible_y, infrared)),
            "gradient": F.l1_loss(sobel_magnitude(fused_y),
                                  torch.maximum(sobel_magnitude(visible_y), sobel_magnitude(infrared)))}


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
        raise ValueError(f"loss weights: got none for {missing}, expected one per term {sorted(terms)}")
    return sum(weights[name] * value for name, value in terms.items())
