"""The DeformConv route: the parser flag from TensorRT 10.15, the node rename to our alias before it."""

from __future__ import annotations

import onnx
import pytest

from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D, TRT_DEFORM_CONV_2D_ALIAS
from comix.tensorrt.onnx_prep import (
    ROUTE_NONE,
    ROUTE_PARSER_FLAG,
    ROUTE_RENAME,
    count_dcn_nodes,
    prepare_for_parser,
)
from comix.tensorrt.version import Capabilities

# the fields our plugin creators accept (plugins/tensorrt/README.md; listed by TensorRT's registry in
# tests/plugins/test_tensorrt_lean.py): TensorRT's parser hands a plugin the node's attributes as fields
PLUGIN_FIELDS = {"kernel_shape", "strides", "pads", "dilations", "group", "offset_group"}


@pytest.mark.parametrize("version", ["10.3.0", "10.13.3"])
def test_old_parsers_get_the_2d_nodes_renamed_to_our_alias(tiny_canonical, version):
    model = onnx.load(str(tiny_canonical))
    before = model.SerializeToString()
    prepared, route = prepare_for_parser(model, Capabilities.for_version(version))
    assert model.SerializeToString() == before, "the input graph must not change"
    assert route.method == ROUTE_RENAME and not route.parser_flag
    assert (route.deform_conv_2d, route.deform_conv_3d) == (1, 1)
    renamed = [n for n in prepared.graph.node if n.op_type == TRT_DEFORM_CONV_2D_ALIAS[0]]
    original = [n for n in model.graph.node if n.op_type == "DeformConv" and n.domain == ""]
    assert len(renamed) == 1 and renamed[0].domain == CUSTOM_DOMAIN
    assert list(renamed[0].input) == list(original[0].input)
    assert list(renamed[0].attribute) == list(original[0].attribute)
    assert {a.name for a in renamed[0].attribute} <= PLUGIN_FIELDS
    assert count_dcn_nodes(prepared) == (0, 1)
    assert any(o.domain == CUSTOM_DOMAIN for o in prepared.opset_import)
    assert [n.op_type for n in prepared.graph.node if n.domain == CUSTOM_DOMAIN].count(
        DEFORM_CONV_3D
    ) == 1


@pytest.mark.parametrize("version", ["10.15.1", "11.1.0"])
def test_new_parsers_get_the_flag_and_the_graph_unchanged(tiny_canonical, version):
    model = onnx.load(str(tiny_canonical))
    prepared, route = prepare_for_parser(model, Capabilities.for_version(version))
    assert prepared is model
    assert route.method == ROUTE_PARSER_FLAG and route.parser_flag
    assert {
        a.name for n in model.graph.node if n.op_type == "DeformConv" for a in n.attribute
    } <= PLUGIN_FIELDS


def test_graph_without_2d_dcn_needs_no_route():
    node = onnx.helper.make_node("Relu", ["a"], ["b"])
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1])],
    )
    model = onnx.helper.make_model(graph)
    prepared, route = prepare_for_parser(model, Capabilities.for_version("10.3"))
    assert prepared is model and route.method == ROUTE_NONE
