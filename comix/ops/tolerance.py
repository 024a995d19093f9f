"""The one tolerance table for DCN outputs against the float64 reference, by storage dtype.

A backend's output ``got`` matches the reference ``expected`` (both (N, O, *oS)) when

* the shapes are equal;
* ``got`` is NaN exactly where ``expected`` is NaN, and +-Inf (same sign) exactly where it is +-Inf
  (see the non-finite rule in :mod:`comix.ops.spec`);
* elsewhere ``|got - expected| <= atol * scale + rtol * |expected|`` with ``scale = max(1, max |expected|)``
  over the finite values, so the absolute part follows the output's magnitude.

float64 is the PyTorch op computed in double; float32 is FP32 storage and arithmetic; float16 is FP16
storage with FP32 accumulation, compared with the reference of the FP16-rounded inputs (its error is
dominated by rounding the output to FP16, 2^-11 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comix.errors import BadInputError


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float  # times max(1, max |expected|)


TOLERANCES = {
    "float64": Tolerance(rtol=1e-10, atol=1e-10),
    "float32": Tolerance(rtol=1e-4, atol=1e-4),
    "float16": Tolerance(rtol=2e-3, atol=2e-3),
}


def dtype_name(dtype) -> str:
    """'float64' / 'float32' / 'float16' for a numpy or torch dtype (or its name)."""
    name = str(dtype).replace("torch.", "")
    if name not in TOLERANCES:
        raise BadInputError(f"dtype: got {dtype}, expected one of {sorted(TOLERANCES)}")
    return name


def assert_matches_reference(got, expected: np.ndarray, dtype, what: str = "output") -> None:
    """Raise AssertionError (got/expected, worst element) unless ``got`` matches ``expected`` for
    ``dtype``."""
    tolerance = TOLERANCES[dtype_name(dtype)]
    got = np.asarray(
        got.detach().cpu().double().numpy() if hasattr(got, "detach") else got, dtype=np.float64
    )
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: got shape {got.shape}, expected {expected.shape}")
    for label, want, have in (
        ("NaN", np.isnan(expected), np.isnan(got)),
        ("+Inf", np.isposinf(expected), np.isposinf(got)),
        ("-Inf", np.isneginf(expected), np.isneginf(got)),
    ):
        if not np.array_equal(want, have):
            first = tuple(int(i) for i in np.argwhere(want != have)[0])
            raise AssertionError(
                f"{what}: {label} at {int(have.sum())} elements, expected {int(want.sum())}; "
                f"first difference at {first}: got {got[first]}, expected {expected[first]}"
            )
    finite = np.isfinite(expected)
    if not finite.any():
        return
    scale = max(1.0, float(np.abs(expected[finite]).max()))
    error = np.where(finite, np.abs(got - np.where(finite, expected, 0.0)), 0.0)
    allowed = tolerance.atol * scale + tolerance.rtol * np.abs(np.where(finite, expected, 0.0))
    excess = error - allowed
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[worst] > 0:
        raise AssertionError(
            f"{what} ({dtype_name(dtype)}): got {got[worst]!r} at {tuple(int(i) for i in worst)}, expected "
            f"{expected[worst]!r} within {allowed[worst]:.3e} (rtol {tolerance.rtol:g}, "
            f"atol {tolerance.atol:g} x scale {scale:.3g}); {int((excess > 0).sum())} of "
            f"{expected.size} elements out of tolerance"
        )
