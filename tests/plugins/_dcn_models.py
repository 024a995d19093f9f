"""Hand-built one-node ONNX models for the DCN custom-op tests; inputs come from the shared grid
(comix.ops.cases)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from comix.ops.cases import DcnCase, DcnInputs
from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D

IR_VERSION = 10
ONNX_OPSET = 19


def node_attributes(case: DcnCase, **overrides) -> dict:
    """The node attributes of a grid case (ONNX DeformConv names); an override of None drops that
    attribute."""
    g = case.geometry()
    attrs = {
        "kernel_shape": list(g.kernel),
        "strides": list(g.stride),
        "pads": g.onnx_pads,
        "dilations": list(g.dilation),
        "group": g.group,
        "offset_group": g.offset_group,
        **overrides,
    }
    return {k: v for k, v in attrs.items() if v is not None}


def feed(inputs: DcnInputs) -> dict[str, np.ndarray]:
    """ONNX input name -> float32 array; absent optional inputs are left out."""
    names = ("X", "offset", "W", "B", "mask")
    return {n: a.astype(np.float32) for n, a in zip(names, inputs.arrays()) if a is not None}


def deform_conv_model(
    feed: dict[str, np.ndarray],
    attributes: dict,
    op_type: str = DEFORM_CONV_3D,
    domain: str = CUSTOM_DOMAIN,
) -> bytes:
    """Model with one DCN node; absent optional inputs are empty names (trailing ones dropped)."""
    names = [n if n in feed else "" for n in ("X", "W", "offset", "B", "mask")]
    while names[-1] == "":
        names.pop()
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, feed[n].shape) for n in names if n
    ]
    node = helper.make_node(op_type, names, ["Y"], domain=domain, **attributes)
    graph = helper.make_graph(
        [node], "dcn", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]
    )
    opsets = [
        helper.make_opsetid("", ONNX_OPSET),
        helper.make_opsetid(CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION),
    ]
    return helper.make_model(graph, opset_imports=opsets, ir_version=IR_VERSION).SerializeToString()


def session(model: bytes, library, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.register_custom_ops_library(str(library))
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run(
    library, feed: dict[str, np.ndarray], attributes: dict, threads: int = 0, **model_kwargs
) -> np.ndarray:
    return session(deform_conv_model(feed, attributes, **model_kwargs), library, threads).run(
        None, feed
    )[0]
