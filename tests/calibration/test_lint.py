"""The TensorRT lint on hand-built Q/DQ graphs: each rule fires on its defect and stays quiet otherwise."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from comix.calibration.lint import lint_graph
from comix.calibration.statistics import ActivationStatistics


def _graph(
    zero_dtype=np.int8,
    zero=0,
    act_scales=1,
    weight_axis=0,
    feed_dcn=False,
    q_feeds_relu=False,
    dq_consumer="Conv",
) -> onnx.ModelProto:
    """x -> Q -> DQ -> Conv(W from an INT8 initializer via per-channel DQ) -> y (plus optional defects)."""
    w = np.arange(4 * 2 * 3 * 3, dtype=np.int8).reshape(4, 2, 3, 3) - 30
    inits = [
        numpy_helper.from_array(
            np.full(act_scales, 0.1, np.float32) if act_scales > 1 else np.array(0.1, np.float32),
            "sx",
        ),
        numpy_helper.from_array(
            np.full(act_scales, zero, zero_dtype) if act_scales > 1 else np.array(zero, zero_dtype),
            "zx",
        ),
        numpy_helper.from_array(w, "wq"),
        numpy_helper.from_array(np.full(w.shape[weight_axis], 0.01, np.float32), "sw"),
        numpy_helper.from_array(np.zeros(w.shape[weight_axis], np.int8), "zw"),
        numpy_helper.from_array(np.zeros((1, 18, 5, 5), np.float32), "offset"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="q_x", axis=1),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xdq"], name="dq_x", axis=1),
        helper.make_node(
            "DequantizeLinear", ["wq", "sw", "zw"], ["w"], name="dq_w", axis=weight_axis
        ),
        helper.make_node(
            dq_consumer,
            ["xdq", "w"] if dq_consumer == "Conv" else ["xdq"],
            ["y"],
            name="consumer",
            **({"pads": [1, 1, 1, 1]} if dq_consumer == "Conv" else {}),
        ),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if feed_dcn:
        nodes.append(
            helper.make_node(
                "DeformConv", ["xdq", "w", "offset"], ["d"], name="dcn", pads=[1, 1, 1, 1]
            )
        )
        outputs.append(helper.make_tensor_value_info("d", TensorProto.FLOAT, None))
    if q_feeds_relu:
        nodes.append(helper.make_node("Relu", ["xq"], ["r"], name="relu_of_int8"))
        outputs.append(helper.make_tensor_value_info("r", TensorProto.INT8, None))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        outputs,
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def _rules(model, statistics=None) -> dict[str, str]:
    return {f.rule: f.severity for f in lint_graph(model, statistics).findings}


def test_a_clean_symmetric_graph_passes():
    report = lint_graph(_graph())
    assert report.passed and not report.findings and report.qdq_pairs == 2


@pytest.mark.parametrize(
    "kwargs, rule, severity",
    [
        ({"zero": 3}, "zero-point", "error"),
        ({"zero_dtype": np.uint8, "zero": 0}, "int8-type", "error"),
        ({"weight_axis": 1}, "scale", "error"),  # per-channel along input channels
        ({"act_scales": 2}, "scale", "error"),  # per-channel activation
        ({"feed_dcn": True}, "dcn-int8", "error"),
        ({"q_feeds_relu": True}, "pair", "error"),
        ({"dq_consumer": "Sigmoid"}, "fusion", "warning"),
    ],
)
def test_each_rule_fires_on_its_defect(kwargs, rule, severity):
    found = _rules(_graph(**kwargs))
    assert found.get(rule) == severity, found


def test_fp16_range_from_calibration_statistics():
    model = _graph()
    statistics = ActivationStatistics(
        "max", True, 99.99, 1, {"y": -70000.0, "x": -1.0}, {"y": 5.0, "x": 1.0}, {}
    )
    assert _rules(model, statistics) == {
        "fp16-range": "warning"
    }  # FP32 tensor: keep it FP32 in an FP16 build
    fp16 = _graph()
    fp16.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    fp16.graph.node.append(helper.make_node("Cast", ["y"], ["y16"], to=TensorProto.FLOAT16))
    fp16.graph.value_info.append(helper.make_tensor_value_info("y", TensorProto.FLOAT16, None))
    report = lint_graph(
        fp16, ActivationStatistics("max", True, 99.99, 1, {"y": -70000.0}, {"y": 1.0}, {})
    )
    assert [f.rule for f in report.errors] == ["fp16-range"] and "65504" in report.errors[0].message
