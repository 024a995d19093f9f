"""Make TensorRT's ONNX parser build our DCN plugins, not its own.

Since TensorRT 10.1 the parser imports an ONNX ``DeformConv`` node with NVIDIA's built-in plugin
(``ModulatedDeformConv2d``: FP16 accumulation, square-parameter tests). Two routes to ours:

* TensorRT >= 10.15: the parser flag ``ENABLE_PLUGIN_OVERRIDE`` — a registered plugin named like the
  node's op type wins over the built-in importer. The graph is parsed unchanged.
* older parsers dispatch on the op type alone (domain ignored), so the 2-D nodes are renamed to
  ``ai.comix::DeformConv2D``, which only our plugin library registers (the same plugin under a second
  creator name, ``comix.ops.spec.TRT_DEFORM_CONV_2D_ALIAS``); the parser's plugin fallback then finds it.

The 3-D node (``ai.comix::DeformConv3D``) has no built-in importer and always reaches our plugin.
:func:`prepare_for_parser` returns the graph to parse and a :class:`DcnRoute` saying which route was
taken; the builder checks the parsed network for TensorRT's own plugin and records the route.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import onnx

from comix.ops.spec import (
    CUSTOM_DOMAIN,
    CUSTOM_DOMAIN_VERSION,
    DEFORM_CONV_3D,
    TRT_DEFORM_CONV_2D_ALIAS,
)
from comix.tensorrt.version import Capabilities

ONNX_DEFORM_CONV = "DeformConv"  # the standard ONNX op (domain "")
ROUTE_PARSER_FLAG = "parser-flag ENABLE_PLUGIN_OVERRIDE"
ROUTE_RENAME = f"node rename DeformConv -> {CUSTOM_DOMAIN}::{TRT_DEFORM_CONV_2D_ALIAS[0]}"
ROUTE_NONE = "no 2-D DeformConv nodes"
# Plugins TensorRT's parser uses for DeformConv itself; seeing one in a parsed network means ours lost.
TENSORRT_OWN_DCN_PLUGINS = ("ModulatedDeformConv2d", "DeformableConv2d")


@dataclass
class DcnRoute:
    """How the DCN nodes reach our plugins: ``method`` (one of the ROUTE_* texts), node counts, and
    ``parser_flag`` (set ENABLE_PLUGIN_OVERRIDE on the parser)."""

    method: str
    deform_conv_2d: int
    deform_conv_3d: int
    parser_flag: bool

    def to_dict(self) -> dict:
        return asdict(self)


def is_onnx_deform_conv(node: onnx.NodeProto) -> bool:
    return node.op_type == ONNX_DEFORM_CONV and node.domain in ("", "ai.onnx")


def count_dcn_nodes(model: onnx.ModelProto) -> tuple[int, int]:
    """(2-D ONNX DeformConv nodes, ai.comix DeformConv3D nodes) of the main graph."""
    nodes = model.graph.node
    two = sum(1 for n in nodes if is_onnx_deform_conv(n))
    three = sum(1 for n in nodes if n.domain == CUSTOM_DOMAIN and n.op_type == DEFORM_CONV_3D)
    return two, three


def rename_deform_conv(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose ONNX DeformConv nodes are ``ai.comix::DeformConv2D`` (same inputs and
    attributes); the ai.comix opset import is added when missing. The input model is not changed."""
    renamed = onnx.ModelProto()
    renamed.CopyFrom(model)
    for node in renamed.graph.node:
        if is_onnx_deform_conv(node):
            node.op_type = TRT_DEFORM_CONV_2D_ALIAS[0]
            node.domain = CUSTOM_DOMAIN
    if not any(op.domain == CUSTOM_DOMAIN for op in renamed.opset_import):
        renamed.opset_import.add(domain=CUSTOM_DOMAIN, version=CUSTOM_DOMAIN_VERSION)
    return renamed


def prepare_for_parser(
    model: onnx.ModelProto, caps: Capabilities
) -> tuple[onnx.ModelProto, DcnRoute]:
    """(graph to hand the parser, route). With the parser flag available the graph is returned as is."""
    two, three = count_dcn_nodes(model)
    if two == 0:
        return model, DcnRoute(ROUTE_NONE, 0, three, parser_flag=False)
    if caps.plugin_override:
        return model, DcnRoute(ROUTE_PARSER_FLAG, two, three, parser_flag=True)
    return rename_deform_conv(model), DcnRoute(ROUTE_RENAME, two, three, parser_flag=False)
