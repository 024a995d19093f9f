"""Reading an FP32 CoMiX graph for calibration: its inputs, its DCN nodes, and whether it is already reduced.

Every node gets a stable name here (the exporter names them all; a hand-made graph may not), because
recipes, exclusion lists and sensitivity rankings refer to nodes by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import onnx

from comix.calibration.errors import CalibrationError
from comix.hashing import bytes_sha256
from comix.model_digest import strip_digests
from comix.ops.spec import CUSTOM_DOMAIN
from comix.runtime.integrity import check_model_bytes

QDQ_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}
INTEGER_OPS = {
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
    "MatMulIntegerToFloat",
    "QGemm",
    "QLinearAdd",
    "QLinearMul",
}
DCN_OPS = {("", "DeformConv"), (CUSTOM_DOMAIN, "DeformConv"), (CUSTOM_DOMAIN, "DeformConv3D")}


@dataclass
class GraphInputs:
    """Names and fixed sizes of the two CoMiX inputs (None = symbolic)."""

    hsi: str
    x: str
    bands: int | None
    x_channels: int | None


def load_fp32_model(path: str | os.PathLike) -> tuple[onnx.ModelProto, bytes]:
    """(model, file bytes) of an FP32 CoMiX graph; refuses a missing, unreadable or already reduced graph."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(
            f"model {path}: got no such file, expected an FP32 .onnx written by `comix export`"
        )
    data = path.read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception as error:
        raise CalibrationError(
            f"model {path}: could not be read as ONNX ({type(error).__name__}); expected a "
            "complete .onnx file written by `comix export`"
        ) from None
    if not model.graph.node:
        raise CalibrationError(
            f"model {path}: got a graph with no nodes, expected an exported CoMiX model"
        )
    check_model_bytes(data, str(path))  # a sealed export must be the one exported
    strip_digests(model)  # every graph made from it is stamped when written, never with these
    check_not_reduced(model, str(path))
    name_nodes(model)
    return model, data


def check_not_reduced(model: onnx.ModelProto, where: str) -> None:
    """Refuse a graph that already holds Q/DQ or integer ops, or FP16 tensors: calibrate the FP32 export."""
    quantised = sorted({n.op_type for n in model.graph.node if n.op_type in QDQ_OPS | INTEGER_OPS})
    if quantised:
        raise CalibrationError(
            f"model {where}: got a graph that is already quantised ({', '.join(quantised)} "
            "nodes), expected the FP32 graph from `comix export`"
        )
    fp16 = [t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    fp16 += [
        v.name
        for v in model.graph.input
        if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    ]
    if fp16:
        raise CalibrationError(
            f"model {where}: got a graph that already holds FP16 tensors ({fp16[0]}, ...), "
            "expected the FP32 graph from `comix export`"
        )


def name_nodes(model: onnx.ModelProto) -> None:
    """Give every unnamed node a unique name ``<op_type>_<index>`` (exported graphs name them all)."""
    taken = {node.name for node in model.graph.node if node.name}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def graph_inputs(model: onnx.ModelProto) -> GraphInputs:
    """The (hsi, x) inputs of a CoMiX graph: the first two non-initializer inputs, rank 4."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 2:
        raise CalibrationError(
            f"model: got {len(inputs)} inputs {[v.name for v in inputs]}, expected 2 "
            "(hsi (B, bands, H, W), x (B, C, H, W))"
        )

    def channels(value) -> int | None:
        dims = value.type.tensor_type.shape.dim
        if len(dims) != 4:
            raise CalibrationError(
                f"model input {value.name}: got rank {len(dims)}, expected 4 (B, C, H, W)"
            )
        return dims[1].dim_value if dims[1].HasField("dim_value") else None

    return GraphInputs(inputs[0].name, inputs[1].name, channels(inputs[0]), channels(inputs[1]))


def is_dcn(node: onnx.NodeProto) -> bool:
    return (node.domain, node.op_type) in DCN_OPS


def dcn_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [node for node in model.graph.node if is_dcn(node)]


def model_sha256(data: bytes) -> str:
    return bytes_sha256(data)


def producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    """tensor name -> the node that writes it."""
    return {out: node for node in model.graph.node for out in node.output}


def consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    """tensor name -> the nodes that read it."""
    found: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            if name:
                found.setdefault(name, []).append(node)
    return found


def float_tensors(model: onnx.ModelProto) -> list[str]:
    """Every float32 activation (node outputs and graph inputs with an inferred float type), graph order."""
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in (*model.graph.value_info, *model.graph.output, *model.graph.input)
    }
    initializers = {t.name for t in model.graph.initializer}
    names = [v.name for v in model.graph.input if v.name not in initializers]
    names += [out for node in model.graph.node for out in node.output if out]
    return [name for name in names if types.get(name) == onnx.TensorProto.FLOAT]


def op_census(model: onnx.ModelProto) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))
