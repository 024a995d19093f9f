"""TF32 on or off for PyTorch's CUDA convolutions and matrix products, as one switch with a record.

On Ampere and later GPUs, cuDNN convolutions run in TF32 by default (``torch.backends.cudnn.allow_tf32``
is True): FP32 inputs are rounded to 10-bit mantissas inside the tensor cores, a relative error near
1e-3, far above FP32's. A parity check (our CUDA path against ONNX Runtime's FP32 CPU result, within
1e-3 of a logit) and an FP32 benchmark row would then measure TF32, not FP32. Every parity path turns it
off with :func:`tf32`, and every benchmark row states :func:`tf32_state`.

    with tf32(False):
        logits = backend.run(hsi, x)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def tf32_state() -> dict[str, bool]:
    """Whether TF32 is allowed now: cuDNN convolutions, CUDA matrix products (``cuda.matmul``)."""
    return {
        "cudnn": bool(torch.backends.cudnn.allow_tf32),
        "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
    }


def set_tf32(enabled: bool) -> None:
    """Allow (True) or forbid (False) TF32 in cuDNN convolutions and CUDA matrix products."""
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


@contextmanager
def tf32(enabled: bool) -> Iterator[None]:
    """:func:`set_tf32` for the ``with`` block; the previous state is restored afterwards."""
    before = tf32_state()
    set_tf32(enabled)
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before["cudnn"]
        torch.backends.cuda.matmul.allow_tf32 = before["matmul"]
