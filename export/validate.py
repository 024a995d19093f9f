"""Validate an exported model: ONNX checker, shape inference, ONNX Runtime vs PyTorch parity.

``ParityCheck(reference, cases)(model_path) -> ValidationReport``. Each case is a tuple of input
tensors; the reference is the eager PyTorch module. Reported per case and overall: max abs logit
error, max relative error and argmax agreement over the class axis (axis 1). For an image output (a
fusion model) ``min_argmax_agreement=None`` leaves the argmax out of the verdict
(it is still reported). A graph with ``ai.comix`` nodes is checked in ONNX Runtime only when our
custom-op library is found; otherwise parity is marked skipped with the reason
(checker and shape inference still run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from comix.errors import BadInputError, FailedError
from comix.export.schema import register_deform_conv3d_schema
from comix.runtime.errors import CustomOpLibraryMissing
from comix.runtime.session import SessionFactory

DEFAULT_ATOL = 1e-4  # FP32 logits; see docs/export.md
DEFAULT_MIN_ARGMAX_AGREEMENT = 1.0


class ValidationError(FailedError):
    """The exported model failed a check (message says which, got/expected)."""


@dataclass
class CaseResult:
    shapes: list[list[int]]
    max_abs_error: float
    max_rel_error: float
    argmax_agreement: float
    ort_seconds: float


@dataclass
class ValidationReport:
    checker: str = "not run"
    shape_inference: str = "not run"
    parity: str = "not run"  # "passed", "failed" or "skipped: <reason>"
    atol: float = DEFAULT_ATOL
    min_argmax_agreement: float | None = DEFAULT_MIN_ARGMAX_AGREEMENT
    max_abs_error: float | None = None
    min_argmax_agreement_measured: float | None = None
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.checker == "passed"
            and self.shape_inference == "passed"
            and self.parity != "failed"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def check_graph(model: onnx.ModelProto | str | Path, report: ValidationReport) -> None:
    """ONNX checker (full) and strict shape inference; raise :class:`ValidationError` on failure."""
    register_deform_conv3d_schema()
    proto = onnx.load(str(model)) if not isinstance(model, onnx.ModelProto) else model
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as error:
        report.checker = f"failed: {error}"
        raise ValidationError(f"onnx.checker failed: {str(error).splitlines()[0]}") from None
    report.checker = "passed"
    try:
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except Exception as error:
        report.shape_inference = f"failed: {error}"
        raise ValidationError(
            f"ONNX shape inference failed: {str(error).splitlines()[0]}"
        ) from None
    report.shape_inference = "passed"


class ParityCheck:
    """Compare ONNX Runtime with a PyTorch reference on given input cases (first output of each)."""

    def __init__(
        self,
        reference: Callable[..., torch.Tensor],
        cases: Sequence[Sequence[torch.Tensor]],
        atol: float = DEFAULT_ATOL,
        min_argmax_agreement: float | None = DEFAULT_MIN_ARGMAX_AGREEMENT,
    ) -> None:
        if not cases:
            raise BadInputError("cases: got none, expected at least one tuple of input tensors")
        self.reference = reference
        self.cases = [tuple(case) for case in cases]
        self.atol = atol
        self.min_argmax_agreement = min_argmax_agreement

    def __call__(
        self, model: onnx.ModelProto | str | Path, report: ValidationReport | None = None
    ) -> ValidationReport:
        report = report or ValidationReport(
            atol=self.atol, min_argmax_agreement=self.min_argmax_agreement
        )
        check_graph(model, report)
        try:
            session = SessionFactory(
                model if isinstance(model, onnx.ModelProto) else Path(model),
                providers=["CPUExecutionProvider"],
            )()
        except CustomOpLibraryMissing as error:
            report.parity = f"skipped: {error}"
            return report
        names = [i.name for i in session.get_inputs()]
        for case in self.cases:
            if len(case) != len(names):
                raise BadInputError(
                    f"parity case: got {len(case)} inputs, expected {len(names)} ({names})"
                )
            with torch.no_grad():
                expected = self.reference(*case)
            if isinstance(expected, (tuple, list)):
                expected = expected[0]
            expected = expected.detach().float().numpy()
            start = time.perf_counter()
            got = session.run(
                None, {n: t.detach().numpy() for n, t in zip(names, case, strict=True)}
            )[0]
            seconds = time.perf_counter() - start
            report.cases.append(compare(got, expected, [list(t.shape) for t in case], seconds))
        report.max_abs_error = max(c.max_abs_error for c in report.cases)
        report.min_argmax_agreement_measured = min(c.argmax_agreement for c in report.cases)
        argmax_ok = (
            self.min_argmax_agreement is None
            or report.min_argmax_agreement_measured >= self.min_argmax_agreement
        )
        ok = report.max_abs_error <= self.atol and argmax_ok
        report.parity = "passed" if ok else "failed"
        if not ok:
            wanted = (
                ""
                if self.min_argmax_agreement is None
                else f", argmax agreement {report.min_argmax_agreement_measured:.4%} "
                f"(expected >= {self.min_argmax_agreement:.2%})"
            )
            raise ValidationError(
                f"ONNX Runtime vs PyTorch parity failed: max abs error {report.max_abs_error:.3g} "
                f"(expected <= {self.atol:g}){wanted}"
            )
        return report


def compare(
    got: np.ndarray, expected: np.ndarray, shapes: list[list[int]], seconds: float = 0.0
) -> CaseResult:
    """Error statistics of ``got`` vs ``expected`` (N, classes, ...); argmax over axis 1."""
    if got.shape != expected.shape:
        raise ValidationError(
            f"ONNX Runtime output shape: got {got.shape}, expected {expected.shape}"
        )
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    rel = diff / np.maximum(np.abs(expected.astype(np.float64)), 1e-6)
    agree = (
        float(np.mean(got.argmax(1) == expected.argmax(1)))
        if got.ndim >= 2 and got.shape[1] > 1
        else 1.0
    )
    return CaseResult(
        shapes=shapes,
        max_abs_error=float(diff.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)),
        argmax_agreement=agree,
        ort_seconds=seconds,
    )
