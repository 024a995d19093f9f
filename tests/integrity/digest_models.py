"""Hand-built ONNX models for the digest tests: initializers, a sparse initializer, node attributes (a
Constant node's tensor too), metadata entries; and byte positions inside them to corrupt."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def small_model(seed: int = 0, metadata: dict[str, str] | None = None) -> bytes:
    """y = Relu(x @ W + b) * c, with W, b as initializers, c from a Constant node, a sparse initializer."""
    rng = np.random.default_rng(seed)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "S"),
        numpy_helper.from_array(np.array([0, 2], np.int64), "S_indices"),
        [3],
    )
    constant = helper.make_node(
        "Constant",
        [],
        ["c"],
        value=numpy_helper.from_array(np.array([2.0, 3.0, 4.0], np.float32), "c_value"),
    )
    nodes = [
        constant,
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["xwb"]),
        helper.make_node("Relu", ["xwb"], ["r"]),
        helper.make_node("Mul", ["r", "c"], ["m"]),
        helper.make_node("Add", ["m", "S"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[weight, bias],
        sparse_initializer=[sparse],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def find(data: bytes, needle: bytes) -> int:
    """Offset of the only occurrence of ``needle`` in ``data``."""
    first = data.find(needle)
    assert first >= 0 and data.find(needle, first + 1) < 0, f"{needle!r} is not unique in the model"
    return first


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def initializer_payload_offset(data: bytes, name: str = "W") -> int:
    """A byte inside the raw_data of initializer ``name``."""
    model = onnx.load_from_string(data)
    tensor = next(t for t in model.graph.initializer if t.name == name)
    return find(data, tensor.raw_data) + len(tensor.raw_data) // 2


def attribute_payload_offset(data: bytes) -> int:
    """A byte inside the Constant node's tensor attribute (graph, not weights)."""
    model = onnx.load_from_string(data)
    node = next(n for n in model.graph.node if n.op_type == "Constant")
    raw = node.attribute[0].t.raw_data
    return find(data, raw) + 1
