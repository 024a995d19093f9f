"""Compare two backends (or two precisions of one model) on the same tiles: ``comix compare A B --data ...``.

Both backends get identical tiles (raw units, drawn from a scene at fixed positions). Per output —
``logits`` and the derived ``probabilities`` (softmax over classes) — the pass/fail verdict is
Polygraphy's own comparator (``SimpleCompareFunc``: per-output atol/rtol, a chosen error statistic:
elementwise, max, mean or median), fed our outputs because Polygraphy's runners cannot load ONNX
Runtime custom-op libraries. Next to it we report error statistics (max/mean/median/p99 abs, max rel),
NaN/Inf counts of each side (any non-finite output fails), and the task metric — argmax agreement,
which must reach ``min_agreement``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError

OUTPUTS = ("logits", "probabilities")
ERROR_STATS = ("elemwise", "max", "mean", "median")
DEFAULT_TOLERANCES = {
    "logits": (1e-3, 1e-3),
    "probabilities": (1e-3, 0.0),
}  # (atol, rtol): FP32 vs FP32
DEFAULT_MIN_AGREEMENT = 0.999


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over axis 1 in float64 (stable: max subtracted). NaN in -> NaN out."""
    values = logits.astype(np.float64)
    values = values - np.max(values, axis=1, keepdims=True)
    exp = np.exp(values)
    return exp / np.sum(exp, axis=1, keepdims=True)


def parse_tolerances(specs: list[str] | None, kind: str) -> dict[str, float]:
    """``["1e-3"]`` -> every output; ``["logits:1e-2", "probabilities:1e-3"]`` -> per output."""
    values: dict[str, float] = {}
    for spec in specs or []:
        name, _, number = spec.rpartition(":")
        if name and name not in OUTPUTS:
            raise RuntimeInputError(
                f"--{kind}: got output {name!r}, expected one of {list(OUTPUTS)}"
            )
        try:
            value = float(number)
        except ValueError:
            raise RuntimeInputError(
                f"--{kind}: got {spec!r}, expected VALUE or OUTPUT:VALUE"
            ) from None
        if not value >= 0:
            raise RuntimeInputError(f"--{kind}: got {value}, expected >= 0")
        for target in [name] if name else OUTPUTS:
            values[target] = value
    return values


@dataclass
class OutputComparison:
    """Statistics of |A - B| for one output, and the verdicts."""

    name: str
    shape: list[int]
    atol: float
    rtol: float
    error_stat: str
    max_abs: float
    mean_abs: float
    median_abs: float
    p99_abs: float
    max_rel: float
    nonfinite_a: int
    nonfinite_b: int
    within_tolerance: bool  # Polygraphy's verdict
    passed: bool  # within tolerance and no NaN/Inf on either side


@dataclass
class ComparisonReport:
    a: str
    b: str
    tiles: int
    tile: list[int]
    outputs: list[OutputComparison] = field(default_factory=list)
    argmax_agreement: float = 0.0
    min_agreement: float = DEFAULT_MIN_AGREEMENT
    pixels: int = 0
    pixels_disagreeing: int = 0
    seconds_a: float = 0.0
    seconds_b: float = 0.0

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs) and self.argmax_agreement >= self.min_agreement

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _run(backend: Backend, hsi: np.ndarray, x: np.ndarray, batch: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    parts = [
        backend.run(hsi[i : i + batch], x[i : i + batch]) for i in range(0, hsi.shape[0], batch)
    ]
    return np.concatenate(parts, axis=0), time.perf_counter() - start


def _statistics(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    finite = np.isfinite(a) & np.isfinite(b)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))[finite]
    if diff.size == 0:
        return dict.fromkeys(("max_abs", "mean_abs", "median_abs", "p99_abs", "max_rel"), math.nan)
    rel = diff / np.maximum(np.abs(b.astype(np.float64)[finite]), np.finfo(np.float32).tiny)
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "median_abs": float(np.median(diff)),
        "p99_abs": float(np.quantile(diff, 0.99)),
        "max_rel": float(rel.max()),
    }


def polygraphy_verdicts(
    outputs_a: dict[str, np.ndarray],
    outputs_b: dict[str, np.ndarray],
    atol: dict[str, float],
    rtol: dict[str, float],
    error_stat: str,
) -> dict[str, bool]:
    """Polygraphy's pass/fail per output (B is the reference: |a - b| <= atol + rtol * |b| by
    ``error_stat``)."""
    from polygraphy.comparator import Comparator, RunResults
    from polygraphy.comparator import compare as polygraphy_compare
    from polygraphy.comparator.struct import IterationResult
    from polygraphy.logger import G_LOGGER

    simple = (
        getattr(polygraphy_compare, "SimpleCompareFunc", None)
        or polygraphy_compare.CompareFunc.simple
    )
    severity = G_LOGGER.module_severity
    G_LOGGER.module_severity = G_LOGGER.CRITICAL  # our report replaces its log lines
    try:
        results = RunResults(
            [
                ("A", [IterationResult(outputs_a, runner_name="A")]),
                ("B", [IterationResult(outputs_b, runner_name="B")]),
            ]
        )
        accuracy = Comparator.compare_accuracy(
            results,
            compare_func=simple(
                atol=atol, rtol=rtol, check_error_stat=error_stat, check_shapes=True
            ),
        )
    finally:
        G_LOGGER.module_severity = severity
    verdict = accuracy[0][("A", "B")][0]
    return {name: bool(verdict[name]) for name in outputs_a}


def compare_backends(
    a: Backend,
    b: Backend,
    hsi: np.ndarray,
    x: np.ndarray,
    *,
    names: tuple[str, str] = ("A", "B"),
    atol: dict[str, float] | None = None,
    rtol: dict[str, float] | None = None,
    error_stat: str = "elemwise",
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    batch: int = 4,
) -> ComparisonReport:
    """Run both backends on tiles ``hsi`` (N, bands, th, tw), ``x`` (N, C, th, tw) and compare; B is
    the reference."""
    if error_stat not in ERROR_STATS:
        raise RuntimeInputError(
            f"--error-stat: got {error_stat!r}, expected one of {list(ERROR_STATS)}"
        )
    if not 0.0 <= min_agreement <= 1.0:
        raise RuntimeInputError(
            f"--min-agreement: got {min_agreement}, expected a fraction in [0, 1]"
        )
    for backend in (a, b):
        backend.check_scene(hsi[0], x[0])
    logits_a, seconds_a = _run(a, hsi, x, batch)
    logits_b, seconds_b = _run(b, hsi, x, batch)
    if logits_a.shape != logits_b.shape:
        raise RuntimeInputError(
            f"outputs: got logits {logits_a.shape} from {names[0]} and {logits_b.shape} from "
            f"{names[1]}, expected the same shape (same model?)"
        )
    outputs_a = {"logits": logits_a, "probabilities": softmax(logits_a).astype(np.float32)}
    outputs_b = {"logits": logits_b, "probabilities": softmax(logits_b).astype(np.float32)}
    atol = {**{k: v[0] for k, v in DEFAULT_TOLERANCES.items()}, **(atol or {})}
    rtol = {**{k: v[1] for k, v in DEFAULT_TOLERANCES.items()}, **(rtol or {})}
    verdicts = polygraphy_verdicts(outputs_a, outputs_b, atol, rtol, error_stat)
    report = ComparisonReport(
        a=names[0],
        b=names[1],
        tiles=int(hsi.shape[0]),
        tile=list(hsi.shape[2:]),
        min_agreement=min_agreement,
        seconds_a=seconds_a,
        seconds_b=seconds_b,
    )
    for name in OUTPUTS:
        va, vb = outputs_a[name], outputs_b[name]
        nonfinite_a, nonfinite_b = (
            int(np.size(va) - np.isfinite(va).sum()),
            int(np.size(vb) - np.isfinite(vb).sum()),
        )
        report.outputs.append(
            OutputComparison(
                name=name,
                shape=list(va.shape),
                atol=atol[name],
                rtol=rtol[name],
                error_stat=error_stat,
                **_statistics(va, vb),
                nonfinite_a=nonfinite_a,
                nonfinite_b=nonfinite_b,
                within_tolerance=verdicts[name],
                passed=verdicts[name] and nonfinite_a == 0 and nonfinite_b == 0,
            )
        )
    classes_a, classes_b = logits_a.argmax(axis=1), logits_b.argmax(axis=1)
    report.pixels = int(classes_a.size)
    report.pixels_disagreeing = int(np.count_nonzero(classes_a != classes_b))
    report.argmax_agreement = 1.0 - report.pixels_disagreeing / max(report.pixels, 1)
    return report
