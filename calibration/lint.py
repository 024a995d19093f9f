"""TensorRT lint for Q/DQ (and FP16) graphs: the rules a strongly typed TensorRT 10.x/11 build relies on.

    report = lint_graph(model, statistics)      # statistics optional: enables the FP16 range rule
    report.errors, report.warnings, report.as_dict()

Rules (``rule`` names in findings):

* ``zero-point`` — every QuantizeLinear/DequantizeLinear has zero point 0 (TensorRT supports symmetric
  quantisation only);
* ``int8-type`` — the quantised type is signed INT8 (TensorRT has no UINT8 Q/DQ);
* ``scale`` — scales are positive and finite; weights per output channel (axis 0 of a Conv weight, the
  last axis of a MatMul/Gemm weight), activations per tensor (a scalar scale);
* ``pair`` — every activation QuantizeLinear feeds only DequantizeLinear nodes, and every
  DequantizeLinear reads a QuantizeLinear or an INT8 initializer (explicit Q/DQ pairs);
* ``dcn-int8`` — no dequantised INT8 value enters a DCN node (our plugins take FP32/FP16 only);
* ``fusion`` — a dequantised activation feeds an op TensorRT fuses Q/DQ into (Conv, ConvTranspose,
  MatMul, Gemm, pooling, Add, Concat and data-movement ops); elsewhere the pair runs unfused (warning);
* ``fp16-range`` — with calibration statistics: no tensor computed in FP16 reaches ``|x|`` > 65 504
  (error), and no float tensor of an INT8 graph does either (warning: keep it FP32 in an FP16 build).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from comix.calibration.graph import consumers, is_dcn, producers
from comix.calibration.recipe import FP16_MAX
from comix.calibration.statistics import ActivationStatistics

FUSING_CONSUMERS = {
    "Conv",
    "ConvTranspose",
    "MatMul",
    "Gemm",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Add",
    "Concat",
    "Reshape",
    "Transpose",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Slice",
    "Identity",
    "Relu",
}
WEIGHT_AXIS = {"Conv": 0, "ConvTranspose": 1, "MatMul": -1, "Gemm": -1}


def weight_axis(node: onnx.NodeProto) -> int:
    """Output-channel axis of ``node``'s weight (input 1): Gemm's depends on transB."""
    if node.op_type == "Gemm":
        return 0 if any(a.name == "transB" and a.i == 1 for a in node.attribute) else -1
    return WEIGHT_AXIS[node.op_type]


@dataclass
class LintFinding:
    rule: str
    severity: str  # "error" or "warning"
    node: str
    message: str


@dataclass
class LintReport:
    findings: list[LintFinding] = field(default_factory=list)
    qdq_pairs: int = 0
    checked_fp16_range: bool = False

    @property
    def errors(self) -> list[LintFinding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[LintFinding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "qdq_pairs": self.qdq_pairs,
            "checked_fp16_range": self.checked_fp16_range,
            "findings": [asdict(f) for f in self.findings],
        }

    def summary(self) -> str:
        state = "passed" if self.passed else "FAILED"
        rules = sorted({f.rule for f in self.findings})
        return (
            f"TensorRT lint {state}: {len(self.errors)} errors, {len(self.warnings)} warnings over "
            f"{self.qdq_pairs} DequantizeLinear nodes"
            + (f" (rules: {', '.join(rules)})" if rules else "")
        )


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    for tensor in model.graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            return numpy_helper.to_array(node.attribute[0].t)
    return None


def lint_graph(
    model: onnx.ModelProto, statistics: ActivationStatistics | None = None
) -> LintReport:
    """Check ``model`` against the rules of the module doc."""
    report = LintReport()
    made_by = producers(model)
    readers = consumers(model)
    initializers = {t.name for t in model.graph.initializer}

    def add(rule: str, severity: str, node: onnx.NodeProto, message: str) -> None:
        report.findings.append(LintFinding(rule, severity, node.name, message))

    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        quantised_input = node.op_type == "DequantizeLinear"
        scale = _constant(model, node.input[1])
        zero = _constant(model, node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if zero is not None:
            if zero.dtype != np.int8:
                add(
                    "int8-type",
                    "error",
                    node,
                    f"{node.op_type} {node.name}: got quantised type {zero.dtype}, "
                    "expected int8 (TensorRT has no UINT8 Q/DQ)",
                )
            if np.any(zero != 0):
                add(
                    "zero-point",
                    "error",
                    node,
                    f"{node.op_type} {node.name}: got zero point(s) "
                    f"{np.unique(zero)[:4].tolist()}, expected 0 (TensorRT quantises symmetrically)",
                )
        if scale is None:
            add(
                "scale",
                "error",
                node,
                f"{node.op_type} {node.name}: scale is not a constant, expected an initializer",
            )
        elif not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            add(
                "scale",
                "error",
                node,
                f"{node.op_type} {node.name}: got non-positive or non-finite scales, "
                "expected positive finite ones",
            )
        if not quantised_input:
            outside = [
                c for c in readers.get(node.output[0], []) if c.op_type != "DequantizeLinear"
            ]
            if outside:
                add(
                    "pair",
                    "error",
                    node,
                    f"QuantizeLinear {node.name} feeds {outside[0].op_type} "
                    f"{outside[0].name}, expected only DequantizeLinear (explicit Q/DQ pairs)",
                )
            continue
        report.qdq_pairs += 1
        source = node.input[0]
        weight = source in initializers
        if not weight and (source not in made_by or made_by[source].op_type != "QuantizeLinear"):
            add(
                "pair",
                "error",
                node,
                f"DequantizeLinear {node.name} reads {source}, expected a QuantizeLinear "
                "output or an INT8 initializer",
            )
        for reader in readers.get(node.output[0], []):
            if is_dcn(reader):
                add(
                    "dcn-int8",
                    "error",
                    node,
                    f"DequantizeLinear {node.name} feeds DCN node {reader.name} "
                    f"({reader.op_type}), expected FP32/FP16 inputs only: our DCN plugins take no INT8",
                )
            elif weight and reader.op_type in WEIGHT_AXIS and scale is not None and scale.size > 1:
                tensor = _constant(model, source)
                axis = _axis(node, tensor.ndim if tensor is not None else 0)
                wanted = weight_axis(reader) % max(tensor.ndim, 1) if tensor is not None else axis
                if axis != wanted:
                    add(
                        "scale",
                        "error",
                        node,
                        f"weight DequantizeLinear {node.name}: got per-channel axis "
                        f"{axis}, expected {wanted} (output channels of {reader.op_type} {reader.name})",
                    )
            elif not weight and reader.op_type not in FUSING_CONSUMERS:
                add(
                    "fusion",
                    "warning",
                    node,
                    f"DequantizeLinear {node.name} feeds {reader.op_type} {reader.name}: "
                    "TensorRT does not fuse Q/DQ there (it runs unfused)",
                )
        if not weight and scale is not None and scale.size > 1:
            add(
                "scale",
                "error",
                node,
                f"activation DequantizeLinear {node.name}: got {scale.size} scales, "
                "expected one per tensor",
            )
    if statistics is not None:
        report.checked_fp16_range = True
        _fp16_range(model, statistics, report)
    return report


def _axis(node: onnx.NodeProto, rank: int) -> int:
    for attribute in node.attribute:
        if attribute.name == "axis":
            return attribute.i % max(rank, 1)
    return 1 % max(rank, 1)


def _fp16_range(
    model: onnx.ModelProto, statistics: ActivationStatistics, report: LintReport
) -> None:
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in (*inferred.graph.value_info, *inferred.graph.output)
    }
    made_by = producers(model)
    inputs = {v.name for v in model.graph.input}
    for name in statistics.maximum:
        if (
            name not in made_by and name not in inputs
        ):  # not in this graph (e.g. a cast removed by the converter)
            continue
        peak = statistics.absmax(name)
        if peak <= FP16_MAX:
            continue
        node = made_by.get(name)
        holder = node if node is not None else onnx.helper.make_node("Identity", [], [], name=name)
        if types.get(name) == onnx.TensorProto.FLOAT16:
            report.findings.append(
                LintFinding(
                    "fp16-range",
                    "error",
                    holder.name,
                    f"tensor {name} is FP16 but "
                    f"reached |x| = {peak:.4g} in calibration, above FP16's 65504",
                )
            )
        else:
            report.findings.append(
                LintFinding(
                    "fp16-range",
                    "warning",
                    holder.name,
                    f"tensor {name} reached "
                    f"|x| = {peak:.4g} in calibration: keep it FP32 in an FP16 build",
                )
            )
