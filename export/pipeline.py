"""The export pipeline: trace -> graph passes -> metadata -> write to a temp file -> validate -> rename.

``ExportPipeline(...)(module, sample_inputs, output)`` is op- and model-agnostic (tests drive it with
small stand-in modules); :mod:`comix.export.checkpoint` builds it for a CoMiX checkpoint. A failed validation
leaves nothing under the output name, and the validation report is written beside the model as
``<output>.validation.json``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import torch

from comix.atomic import atomic_path, check_parent, write_text_atomic
from comix.export.exporter import DEFAULT_OPSET, TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, FoldInputNormalization, ScopeNodeNames, Simplify
from comix.export.validate import ParityCheck, ValidationError, ValidationReport, check_graph
from comix.metadata import ModelRecord
from comix.model_digest import stamped_bytes

log = logging.getLogger(__name__)
GraphPass = Callable[[onnx.ModelProto], onnx.ModelProto]


def report_path(output: str | os.PathLike) -> Path:
    """Where the validation JSON of ``output`` lives: ``model.onnx`` -> ``model.onnx.validation.json``."""
    output = Path(output)
    return output.with_name(output.name + ".validation.json")


@dataclass
class ExportResult:
    path: Path
    report: ValidationReport
    report_path: Path | None
    node_counts: dict[str, int] = field(default_factory=dict)


def node_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Count of nodes per ``domain::op_type`` (domain empty for ai.onnx)."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        key = f"{node.domain}::{node.op_type}" if node.domain else node.op_type
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


class ExportPipeline:
    """Export a module built with an export DCN backend to a validated ONNX file.

    ``parity`` is None to skip the ORT comparison (checker and shape inference always run unless
    ``validate`` is False).
    """

    def __init__(
        self,
        input_names: Sequence[str],
        output_names: Sequence[str],
        opset: int = DEFAULT_OPSET,
        dynamic_axes=None,
        portable: bool = False,
        record: ModelRecord | None = None,
        passes: Sequence[GraphPass] | None = None,
        parity: ParityCheck | None = None,
        validate: bool = True,
        output_axes=None,
        graph_kind: str | None = None,
    ) -> None:
        self.exporter = TorchOnnxExporter(
            input_names, output_names, opset, dynamic_axes, portable, output_axes=output_axes
        )
        self.portable = portable
        self.record = record or ModelRecord()
        self.passes = (
            list(passes)
            if passes is not None
            else [ScopeNodeNames(), FoldBatchNorm(), Simplify(), FoldInputNormalization()]
        )
        self.parity = parity
        self.validate = validate
        self.graph_kind = graph_kind  # None: "portable" or "canonical" from ``portable``

    def build(self, module: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> onnx.ModelProto:
        """Trace and run the graph passes; return the in-memory model with metadata."""
        model = self.exporter(module, inputs)
        for graph_pass in self.passes:
            model = graph_pass(model)
        self.record.opset = self.exporter.opset
        self.record.graph_kind = self.graph_kind or ("portable" if self.portable else "canonical")
        return self.record.write_onnx(model)

    def __call__(
        self, module: torch.nn.Module, inputs: Sequence[torch.Tensor], output: str | os.PathLike
    ) -> ExportResult:
        output = check_parent(output)
        model = self.build(module, inputs)
        report = ValidationReport()
        try:
            with atomic_path(output) as temp:
                temp.write_bytes(stamped_bytes(model))
                if self.validate:
                    if self.parity is not None:
                        report = self.parity(
                            temp,
                            ValidationReport(
                                atol=self.parity.atol,
                                min_argmax_agreement=self.parity.min_argmax_agreement,
                            ),
                        )
                    else:
                        check_graph(temp, report)
                        report.parity = "skipped: no parity cases given"
        except ValidationError as error:
            raise ValidationError(
                f"{str(error).splitlines()[0]} (nothing was written to {output})"
            ) from None
        # the model is under its final name only if it passed; its report follows it
        if self.validate:
            write_text_atomic(report_path(output), report.to_json())
        return ExportResult(
            output, report, report_path(output) if self.validate else None, node_counts(model)
        )
