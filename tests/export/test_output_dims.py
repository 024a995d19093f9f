"""Output dims are named like the inputs: CoMiX's pad-to-32-and-crop gives the logits' H, W as the exporter's
expression ``Min(s12, 4*(((s12 + (PythonMod(-s12, 32)) - 1)//4)) + 4)``; ``name_dims`` names them."""

from __future__ import annotations

from onnx import TensorProto, helper

from comix.export.checkpoint import DYNAMIC_AXES, OUTPUT_AXES
from comix.export.exporter import name_dims

EXPRESSION = "Min(s12, 4*(((s12 + (PythonMod(-s12, 32)) - 1)//4)) + 4)"


def _model():
    inputs = [
        helper.make_tensor_value_info("hsi", TensorProto.FLOAT, ["s0", 6, "s12", "s13"]),
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["s0", 1, "s12", "s13"]),
    ]
    output = helper.make_tensor_value_info(
        "logits", TensorProto.FLOAT, ["s0", 4, EXPRESSION, EXPRESSION.replace("s12", "s13")]
    )
    inner = helper.make_tensor_value_info(
        "inner", TensorProto.FLOAT, ["s0", 4, "((s12 - 1)//4) + 1", "s13"]
    )
    graph = helper.make_graph(
        [helper.make_node("Identity", ["hsi"], ["logits"])],
        "g",
        inputs,
        [output],
        value_info=[inner],
    )
    return helper.make_model(graph)


def _dims(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_output_expressions_get_the_input_names():
    model = _model()
    name_dims(model, DYNAMIC_AXES, OUTPUT_AXES)
    assert [_dims(v) for v in model.graph.input] == [
        ["batch", 6, "height", "width"],
        ["batch", 1, "height", "width"],
    ]
    assert _dims(model.graph.output[0]) == ["batch", 4, "height", "width"]
    # inside the graph, derived expressions keep the original symbol; whole symbols are renamed
    assert _dims(model.graph.value_info[0]) == ["batch", 4, "((s12 - 1)//4) + 1", "width"]


def test_without_output_axes_only_whole_symbols_are_renamed():
    model = _model()
    name_dims(model, DYNAMIC_AXES)
    assert _dims(model.graph.output[0])[2] == EXPRESSION


def test_static_output_dims_are_left_alone():
    model = _model()
    model.graph.output[0].type.tensor_type.shape.dim[2].dim_value = 64
    name_dims(model, DYNAMIC_AXES, OUTPUT_AXES)
    assert _dims(model.graph.output[0]) == ["batch", 4, 64, "width"]
