"""Hand-built one-node ONNX models and random inputs for the DCN custom-op tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from comix.ops.geometry import DeformConvGeometry
from comix.ops.spec import CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, DEFORM_CONV_3D

IR_VERSION = 10
ONNX_OPSET = 19


@dataclass
class DcnCase:
    """One test case: sizes, geometry and which optional inputs are given."""

    name: str
    batch: int
    channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...] | int = 1
    pads: Sequence[int] | int = 0  # ONNX pads: begins then ends
    dilation: tuple[int, ...] | int = 1
    group: int = 1
    offset_group: int = 1
    bias: bool = True
    mask: bool = True
    offset_scale: float = 1.5
    attributes: dict = field(default_factory=dict)  # extra/overriding node attributes

    @property
    def ndim(self) -> int:
        return len(self.size)

    def geometry(self) -> DeformConvGeometry:
        return DeformConvGeometry.build(self.ndim, self.kernel, self.stride, self.pads, self.dilation,
                                        self.group, self.offset_group)

    def node_attributes(self) -> dict:
        g = self.geometry()
        attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "pads": g.onnx_pads,
                 "dilations": list(g.dilation), "group": g.group, "offset_group": g.offset_group}
        attrs.update(self.attributes)
        return {k: v for k, v in attrs.items() if v is not None}

    def inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        g = self.geometry()
        out = g.output_size(self.size)
        points = math.prod(self.kernel)
        feed = {
            "X": rng.standard_normal((self.batch, self.channels, *self.size)).astype(np.float32),
            "W": rng.standard_normal((self.out_channels, self.channels // self.group, *self.kernel)).astype(np.float32),
            "offset": (rng.standard_normal((self.batch, self.offset_group * points * self.ndim, *out))
                       * self.offset_scale).astype(np.float32),
        }
        if self.bias:
            feed["B"] = rng.standard_normal(self.out_channels).astype(np.float32)
        if self.mask:
            feed["mask"] = rng.random((self.batch, self.offset_group * points, *out)).astype(np.float32)
        return feed


def deform_conv_model(feed: dict[str, np.ndarray], attributes: dict, op_type: str = DEFORM_CONV_3D,
                      domain: str = CUSTOM_DOMAIN) -> bytes:
    """Model with one DCN node; absent optional inputs are empty names (trailing ones dropped)."""
    names = [n if n in feed else "" for n in ("X", "W", "offset", "B", "mask")]
    while names[-1] == "":
        names.pop()
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, feed[n].shape) for n in names if n]
    node = helper.make_node(op_type, names, ["Y"], domain=domain, **attributes)
    graph = helper.make_graph([node], "dcn", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    opsets = [helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=IR_VERSION).SerializeToString()


def session(model: bytes, library, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.register_custom_ops_library(str(library))
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run(library, feed: dict[str, np.ndarray], attributes: dict, threads: int = 0, **model_kwargs) -> np.ndarray:
    return session(deform_conv_model(feed, attributes, **model_kwargs), library, threads).run(None, feed)[0]
