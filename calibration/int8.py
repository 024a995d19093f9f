"""INT8 graphs with explicit QuantizeLinear/DequantizeLinear pairs, on ONNX Runtime's QDQ quantizer.

ONNX Runtime's ``QDQQuantizer`` does the mechanical part (Q/DQ insertion, per-channel weight scales,
bias handling); the ranges come from our own calibration pass (:mod:`comix.calibration.statistics`),
so the canonical graph with ``ai.comix`` nodes calibrates too. The form follows the target
(:data:`comix.calibration.recipe.TARGETS`).

The DCN nodes are never quantised: TensorRT's INT8 path does not reach plugins of ours, and their
bilinear/trilinear sampling needs the fraction of the position (an INT8 input would be sampled as
dequantised values anyway, paying Q/DQ for nothing). Their offset/mask convolutions are quantised by
default (``dcn_offsets="int8"``) or kept float (``"float"``): docs/calibration.md gives both measurements.
"""

from __future__ import annotations

import numpy as np
import onnx

from comix.calibration.graph import consumers, dcn_nodes, is_dcn, producers
from comix.calibration.quiet import quiet
from comix.calibration.recipe import Int8Target
from comix.calibration.statistics import ActivationStatistics

DCN_REASON = (
    "deformable convolution: sampled at fractional positions in FP32/FP16 by our kernels; TensorRT "
    "feeds plugins no INT8 here"
)
OFFSET_REASON = "predicts DCN sampling offsets/mask (--dcn-offsets float)"
# ops between an offset/mask conv and the DCN input it feeds (slicing, reshaping, the mask's sigmoid)
_PASS_THROUGH = {
    "Sigmoid",
    "Slice",
    "Split",
    "Reshape",
    "Transpose",
    "Identity",
    "Mul",
    "Add",
    "Concat",
    "Softmax",
    "Cast",
    "Unsqueeze",
    "Squeeze",
    "Gather",
}
OFFSET_MODES = ("int8", "float")


def offset_convs(model: onnx.ModelProto) -> list[str]:
    """Names of the Conv nodes whose output reaches a DCN's offset (input 2) or mask (input 4)."""
    made_by = producers(model)
    found: list[str] = []
    for dcn in dcn_nodes(model):
        stack = [dcn.input[i] for i in (2, 4) if len(dcn.input) > i and dcn.input[i]]
        seen: set[str] = set()
        while stack:
            node = made_by.get(stack.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            if node.op_type == "Conv":
                if node.name not in found:
                    found.append(node.name)
            elif node.op_type in _PASS_THROUGH:
                stack += [name for name in node.input if name in made_by]
    return found


def quantizable_nodes(model: onnx.ModelProto, target: Int8Target) -> list[onnx.NodeProto]:
    """Nodes of the target's op types with a float weight-like input (what gets Q/DQ)."""
    return [
        node for node in model.graph.node if node.op_type in target.op_types and not is_dcn(node)
    ]


def activation_tensors(model: onnx.ModelProto, target: Int8Target) -> list[str]:
    """Inputs and outputs of the quantisable nodes that are activations (not initializers)."""
    initializers = {t.name for t in model.graph.initializer}
    names: list[str] = []
    for node in quantizable_nodes(model, target):
        for name in (*node.input, *node.output):
            if name and name not in initializers and name not in names:
                names.append(name)
    return names


def quantize_int8(
    model: onnx.ModelProto,
    statistics: ActivationStatistics,
    target: Int8Target,
    exclude: dict[str, str] | None = None,
    float_readers: list[str] | None = None,
) -> tuple[onnx.ModelProto, list[dict]]:
    """(Q/DQ graph, nodes left float with their reasons). ``exclude``: node name -> reason; ``float_readers``:
    nodes (beside the DCNs) whose inputs must be the float tensors, never a dequantised one."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData
    from onnxruntime.quantization.qdq_quantizer import QDQQuantizer

    import comix.export.schema  # noqa: F401 - DeformConv3D's schema, for shape inference

    exclude = dict(exclude or {})
    kept = [{"node": n.name, "op_type": n.op_type, "reason": DCN_REASON} for n in dcn_nodes(model)]
    kept += [
        {"node": name, "op_type": _op_type(model, name), "reason": reason}
        for name, reason in exclude.items()
    ]
    inferred = onnx.shape_inference.infer_shapes(model)
    ranges = TensorsData(
        CalibrationMethod.MinMax,
        {
            name: TensorData(
                lowest=np.array(low, dtype=np.float32), highest=np.array(high, dtype=np.float32)
            )
            for name, (low, high) in statistics.ranges().items()
        },
    )
    activation = QuantType.QInt8 if target.activation_type == "int8" else QuantType.QUInt8
    extra = {
        "ActivationSymmetric": target.activation_symmetric,
        "WeightSymmetric": True,
        "QuantizeBias": target.quantize_bias,
        "DedicatedQDQPair": target.name
        == "tensorrt",  # TensorRT fuses a pair into one consumer only
        "OpTypesToExcludeOutputQuantization": list(target.op_types)
        if target.name == "tensorrt"
        else [],
        # output channels of a MatMul weight are its last axis (3-D in the portable DCN lowering)
        "QDQOpTypePerChannelSupportToAxis": {"MatMul": -1},
    }
    quantizer = QDQQuantizer(
        inferred,
        True,
        target.reduce_range,
        QuantType.QInt8,
        activation,
        ranges,
        [],
        sorted(exclude) + [n.name for n in dcn_nodes(model)],
        list(target.op_types),
        extra,
    )
    with quiet():
        quantized = quantizer.quantize_model()
    del quantized.graph.value_info[:]  # stale after Q/DQ insertion; runtimes infer their own
    keep_dcn_inputs_float(quantized)
    if float_readers:
        keep_inputs_float(quantized, float_readers)
    return quantized, kept


def keep_dcn_inputs_float(model: onnx.ModelProto) -> int:
    """Rewire every DCN input that reads a Q/DQ pair back to the pair's float source; returns the count.

    ONNX Runtime's quantiser hands the dequantised tensor to *every* reader of a quantised activation,
    so a DCN that shares its input with its (quantised) offset conv would sample quantisation noise and
    TensorRT would keep an unfused DequantizeLinear before our plugin. The DCN reads the float tensor."""
    return keep_inputs_float(model, [node.name for node in dcn_nodes(model)])


def keep_inputs_float(model: onnx.ModelProto, names: list[str]) -> int:
    """Rewire every input of the named nodes that reads a Q->DQ pair back to the pair's float source; returns
    the count (see :func:`keep_dcn_inputs_float` for why)."""
    made_by = producers(model)
    wanted = set(names)
    rewired = 0
    for node in (n for n in model.graph.node if n.name in wanted):
        for index, name in enumerate(node.input):
            dq = made_by.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = made_by.get(dq.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                node.input[index] = q.input[0]
                rewired += 1
    return rewired


def _op_type(model: onnx.ModelProto, name: str) -> str:
    return next((n.op_type for n in model.graph.node if n.name == name), "?")


def qdq_consumers(model: onnx.ModelProto) -> dict[str, list[str]]:
    """DequantizeLinear output -> names of the nodes reading it (for the lint and the report)."""
    readers = consumers(model)
    return {
        node.output[0]: [c.name for c in readers.get(node.output[0], [])]
        for node in model.graph.node
        if node.op_type == "DequantizeLinear"
    }
