"""The product of spectra (a global circular convolution) as one PyTorch operator:
``torch.ops.comix.spectral_product``.

``spectral_product(a, b) = irfft2(rfft2(a) * rfft2(b), s=(H, W))`` for ``a``, ``b`` of shape (N, C, H, W)
(same shape, float): per image and channel, the 2-D circular convolution
``y[h, w] = sum_{p, q} a[p, q] * b[(h - p) mod H, (w - q) mod W]``. SHIP's spatial interaction uses it as
its first-order attention (``comix.ship.model``).

Everything that computes it goes through this op, as the DCN does through ``comix::deform_conv*``:

* **eager, any device**: ``torch.fft`` (:func:`spectral_product_fft`);
* **autograd**: the gradient of a circular convolution is a circular correlation,
  ``dL/da = irfft2(rfft2(g) * conj(rfft2(b)))`` (and symmetrically for ``b``), checked by ``gradcheck``;
* **export**, two lowerings (:class:`SpectralProduct`, chosen when the model is built): the ONNX exporter
  translates the op to ONNX ``DFT`` nodes (opset >= 20, any H x W; ``comix.export.translation``), or — for
  a fixed tile — :func:`spectral_product_matrix` computes it by real matrix products with cosine/sine
  bases, which TensorRT builds without an FFT layer.

The real-matrix form (``F`` the DFT along one axis, ``C = cos``, ``S = sin`` of ``2 pi k n / L``):

    along W (real -> half spectrum, Wf = W // 2 + 1):  Re = x Cw,  Im = -x Sw            (W, Wf) bases
    along H (complex, full):     Re' = Ch Re + Sh Im,  Im' = Ch Im - Sh Re                (H, H) bases
    product:                      P = A * B  (complex, element-wise)
    inverse along H:             Re = (Ch Pr - Sh Pi) / H,  Im = (Ch Pi + Sh Pr) / H
    half spectrum -> real along W:  y = (Re (w Cw)^T - Im (w Sw)^T) / W,  w_k = 1 at k = 0 and k = W/2, else 2

which is exactly what ``irfft2`` computes (it also ignores the imaginary part of the DC and Nyquist bins).
The bases are computed in float64 from ``(n * k) mod L`` (an exact integer, so the angle stays in
[0, 2 pi)) and stored as float32.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn

from comix.errors import BadInputError

NAMESPACE = "comix"
OP_NAME = "spectral_product"
SCHEMA = "(Tensor a, Tensor b) -> Tensor"


class SpectralShapeError(BadInputError):
    """The two operands of a spectral product do not have one (N, C, H, W) shape."""


def check_operands(a: Tensor, b: Tensor) -> None:
    """Raise :class:`SpectralShapeError` (got/expected) unless ``a`` and ``b`` are equal-shape 4-D
    float tensors."""
    if a.dim() != 4 or b.dim() != 4:
        raise SpectralShapeError(
            f"spectral_product: got shapes {tuple(a.shape)} and {tuple(b.shape)}, expected two "
            "4-D (N, C, H, W) tensors"
        )
    if a.shape != b.shape:
        raise SpectralShapeError(
            f"spectral_product: got shapes {tuple(a.shape)} and {tuple(b.shape)}, expected equal "
            "shapes"
        )


def spectral_product_fft(a: Tensor, b: Tensor) -> Tensor:
    """``irfft2(rfft2(a) * rfft2(b))`` in the input's precision (float16 is computed in float32)."""
    height, width = a.shape[-2:]
    compute = torch.float32 if a.dtype in (torch.float16, torch.bfloat16) else a.dtype
    product = torch.fft.rfft2(a.to(compute)) * torch.fft.rfft2(b.to(compute))
    return torch.fft.irfft2(product, s=(height, width)).to(a.dtype)


def _correlate(g: Tensor, other: Tensor) -> Tensor:
    """Circular cross-correlation ``irfft2(rfft2(g) * conj(rfft2(other)))``: the gradient of a circular
    convolution with respect to one operand."""
    height, width = g.shape[-2:]
    return torch.fft.irfft2(
        torch.fft.rfft2(g) * torch.conj(torch.fft.rfft2(other)), s=(height, width)
    )


@lru_cache(maxsize=32)
def _bases(length: int, half: bool) -> tuple[np.ndarray, np.ndarray]:
    """float64 (length, K) cos and sin of ``2 pi n k / length``, K = length // 2 + 1 if ``half``
    else length."""
    columns = length // 2 + 1 if half else length
    n = np.arange(length, dtype=np.int64)[:, None]
    k = np.arange(columns, dtype=np.int64)[None, :]
    angle = (2.0 * math.pi / length) * ((n * k) % length).astype(np.float64)
    return np.cos(angle), np.sin(angle)


def dft_bases(height: int, width: int) -> dict[str, np.ndarray]:
    """The constant float64 matrices of :func:`spectral_product_matrix` for an H x W tile.

    ``ch``, ``sh`` (H, H); ``cw``, ``sw`` (W, Wf) forward; ``cw_inv``, ``sw_inv`` (Wf, W) inverse with the
    Hermitian weights and the 1/(H W) normalisation folded in. Computed in NumPy so that, inside an
    export decomposition, they become constants of the graph rather than traced ops.
    """
    ch, sh = _bases(height, half=False)
    cw, sw = _bases(width, half=True)
    weight = np.full(cw.shape[1], 2.0)
    weight[0] = 1.0
    if width % 2 == 0:
        weight[-1] = 1.0
    scale = 1.0 / (height * width)
    return {
        "ch": ch,
        "sh": sh,
        "cw": cw,
        "sw": sw,
        "cw_inv": np.ascontiguousarray((cw * weight * scale).T),
        "sw_inv": np.ascontiguousarray((sw * weight * scale).T),
    }


def spectral_product_matrix(a: Tensor, b: Tensor, bases: dict[str, Tensor]) -> Tensor:
    """The same product by real matrix products with cosine/sine ``bases`` (from :func:`dft_bases`,
    as tensors of ``a``'s dtype) for the tile they were made for; no FFT.
    a, b (N, C, H, W) -> (N, C, H, W)."""

    def forward(x: Tensor) -> tuple[Tensor, Tensor]:
        real, imag = x @ bases["cw"], -(x @ bases["sw"])  # (N, C, H, Wf)
        return bases["ch"] @ real + bases["sh"] @ imag, bases["ch"] @ imag - bases["sh"] @ real

    ar, ai = forward(a)
    br, bi = forward(b)
    pr, pi = ar * br - ai * bi, ar * bi + ai * br
    real = bases["ch"] @ pr - bases["sh"] @ pi  # the 1/H of the inverse is folded into the W bases
    imag = bases["ch"] @ pi + bases["sh"] @ pr
    return real @ bases["cw_inv"] - imag @ bases["sw_inv"]


def _eager(a: Tensor, b: Tensor) -> Tensor:
    return spectral_product_fft(a, b)


spectral_product_op = torch.library.custom_op(
    f"{NAMESPACE}::{OP_NAME}", _eager, mutates_args=(), schema=SCHEMA
)


@spectral_product_op.register_fake
def _fake(a: Tensor, b: Tensor) -> Tensor:
    return torch.empty_like(a)


def _setup_context(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad_output: Tensor):
    a, b = ctx.saved_tensors
    grad_a = _correlate(grad_output, b) if ctx.needs_input_grad[0] else None
    grad_b = _correlate(grad_output, a) if ctx.needs_input_grad[1] else None
    return grad_a, grad_b


spectral_product_op.register_autograd(_backward, setup_context=_setup_context)

# The overload as it appears in a torch.export graph (key of the translation table).
OVERLOAD = torch.ops.comix.spectral_product.default
LOWERINGS = ("dft", "matrix")


def spectral_product(a: Tensor, b: Tensor) -> Tensor:
    """Checked front end of the op: a, b (N, C, H, W) float, same shape -> (N, C, H, W)."""
    check_operands(a, b)
    return spectral_product_op(a, b)


class SpectralProduct(nn.Module):
    """``forward(a, b)``: the spectral product through the op (``lowering="dft"``, any H x W) or through real
    matrix products for one fixed ``tile`` (``lowering="matrix"``; the bases are non-persistent
    buffers, so the state dict is the same either way and one checkpoint serves both).

    The lowering is chosen when the model is built (an export of the DFT-free graph builds the model with
    ``"matrix"`` and the export tile), not by patching the graph afterwards.
    """

    def __init__(self, lowering: str = "dft", tile: tuple[int, int] | None = None) -> None:
        super().__init__()
        if lowering not in LOWERINGS:
            raise BadInputError(
                f"spectral product lowering: got {lowering!r}, expected one of {list(LOWERINGS)}"
            )
        self.lowering = lowering
        self.tile = None if tile is None else (int(tile[0]), int(tile[1]))
        if lowering == "matrix":
            if self.tile is None or min(self.tile) < 1:
                raise BadInputError(
                    f"spectral product: the matrix lowering needs a fixed tile (H, W), got {tile!r}"
                )
            for key, value in dft_bases(*self.tile).items():
                self.register_buffer(
                    key, torch.from_numpy(value.astype(np.float32)), persistent=False
                )

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        if self.lowering == "dft":
            return spectral_product(a, b)
        check_operands(a, b)
        if tuple(a.shape[-2:]) != self.tile:
            raise SpectralShapeError(
                f"spectral_product: got H x W {tuple(a.shape[-2:])}, expected the fixed tile "
                f"{self.tile} of the matrix lowering"
            )
        bases = {
            key: getattr(self, key).to(a.dtype)
            for key in ("ch", "sh", "cw", "sw", "cw_inv", "sw_inv")
        }
        return spectral_product_matrix(a, b, bases)

    def extra_repr(self) -> str:
        return f"lowering={self.lowering!r}" + (f", tile={self.tile}" if self.tile else "")
