"""The ``--target cpu`` speed pass: grouping, the greedy choice (against a known cost model) and the
end to end record (groups timed on this machine, float nodes with their measurement, the rest quantised)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from comix.calibration.int8 import quantizable_nodes
from comix.calibration.latency import paired_ratio
from comix.calibration.recipe import TARGETS
from comix.calibration.speed import (
    SpeedTrial,
    describe,
    float_reasons,
    module_pieces,
    node_groups,
    select_float_groups,
)

CPU = TARGETS["cpu"]


def _graph_with(convs: dict[str, int]) -> onnx.ModelProto:
    """A chain of Conv nodes named by ``convs`` (name -> weight rank 4 or 5) plus one MatMul."""
    nodes, inits, value = [], [], "x"
    for index, (name, rank) in enumerate(convs.items()):
        weight = numpy_helper.from_array(np.ones((2,) * rank, "float32"), f"w{index}")
        inits.append(weight)
        nodes.append(helper.make_node("Conv", [value, weight.name], [f"y{index}"], name=name))
        value = f"y{index}"
    inits.append(numpy_helper.from_array(np.ones((2, 2), "float32"), "m"))
    nodes.append(
        helper.make_node(
            "MatMul", [value, "m"], ["out"], name="ffm.0.attention.qkv[Linear]/node_mm"
        )
    )
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph)


def test_groups_are_model_part_times_kind_and_cover_every_quantisable_node_once():
    model = _graph_with(
        {
            "hsi_stages.0.0.dcn.offset_conv[Conv3d]/node_a": 5,
            "hsi_stages.0.0.mlp.fc1[Conv3d]/node_b": 5,
            "hsi_stem.band_projection.project[Conv2d]/node_c": 4,
            "x_stages.0.0.mlp.fc1[Conv2d]/node_d": 4,
            "decoder.fuse.1[BatchNorm2d]/node_e": 4,
        }
    )
    groups = node_groups(model, CPU)
    assert groups == {
        "HSI branch (3-D conv)": [
            "hsi_stages.0.0.dcn.offset_conv[Conv3d]/node_a",
            "hsi_stages.0.0.mlp.fc1[Conv3d]/node_b",
        ],
        "HSI branch (conv)": ["hsi_stem.band_projection.project[Conv2d]/node_c"],
        "X branch (conv)": ["x_stages.0.0.mlp.fc1[Conv2d]/node_d"],
        "decoder (conv)": ["decoder.fuse.1[BatchNorm2d]/node_e"],
        "FFM (matmul)": ["ffm.0.attention.qkv[Linear]/node_mm"],
    }
    members = [name for names in groups.values() for name in names]
    assert sorted(members) == sorted(n.name for n in quantizable_nodes(model, CPU))
    skipped = node_groups(model, CPU, skip={"x_stages.0.0.mlp.fc1[Conv2d]/node_d"})
    assert "X branch (conv)" not in skipped and len(skipped) == 4


def test_greedy_choice_against_a_known_cost_model():
    """Latency = 100 ms + per-group INT8 penalty (ms, negative = INT8 faster) for groups still INT8.
    Float must win by more than the margin (1.5 ms of 100) to be kept; each trial is timed against
    the decisions so far."""
    penalty = {"slow": 12.0, "fast": -5.0, "noise": 1.0, "slow too": 3.0}
    groups = {name: [f"{name}/n{i}" for i in range(2)] for name in penalty}
    built: list[list[str]] = []

    def build(excluded: list[str]) -> onnx.ModelProto:
        built.append(list(excluded))
        model = onnx.ModelProto()
        model.doc_string = json.dumps(excluded)
        return model

    def latency(model: onnx.ModelProto) -> float:
        excluded = set(json.loads(model.doc_string))
        return 100.0 + sum(p for g, p in penalty.items() if not set(groups[g]) <= excluded)

    measured: list[dict] = []

    def measure(graphs):
        measured.append({name: latency(graph) for name, graph in graphs.items()})
        return {**measured[-1], "ratio": measured[-1]["float"] / measured[-1]["int8"]}

    kept, trials = select_float_groups(groups, build, measure, margin=0.015)
    assert [t.group for t in trials if t.kept_float] == ["slow", "slow too"]
    assert kept == groups["slow"] + groups["slow too"]
    assert (
        built[0] == [] and built[2] == groups["slow"] + groups["fast"]
    )  # the second trial sees the first choice
    assert measured[1] == {"int8": 100.0 + (-5 + 1 + 3), "float": 100.0 + (1 + 3)}
    assert trials[0].int8_ms == pytest.approx(111.0) and trials[0].float_ms == pytest.approx(99.0)
    assert trials[0].ratio == pytest.approx(99.0 / 111.0)
    reasons = float_reasons(trials)
    assert set(reasons) == set(kept)
    assert (
        "group 'slow'" in reasons["slow/n0"]
        and "99.0 ms with it float vs 111.0 ms INT8, ratio 0.892" in reasons["slow/n0"]
    )


def _cost_model(penalty: dict[str, float]):
    """(build, measure, built, measured) for latency = 100 ms + the INT8 penalty (ms; negative = INT8
    faster) of every node still INT8; a graph records its excluded nodes in its doc string."""
    built: list[list[str]] = []
    measured: list[dict] = []

    def build(excluded: list[str]) -> onnx.ModelProto:
        built.append(list(excluded))
        model = onnx.ModelProto()
        model.doc_string = json.dumps(excluded)
        return model

    def latency(model: onnx.ModelProto) -> float:
        excluded = set(json.loads(model.doc_string))
        return 100.0 + sum(cost for node, cost in penalty.items() if node not in excluded)

    def measure(graphs):
        measured.append({name: latency(graph) for name, graph in graphs.items()})
        return {**measured[-1], "ratio": measured[-1]["float"] / measured[-1]["int8"]}

    return build, measure, built, measured


def test_module_pieces_split_a_group_by_the_first_two_items_of_the_module_path():
    nodes = [
        "hsi_stem.conv1.1[BatchNorm3d]/node_Conv_1",
        "hsi_stem.conv2.1[BatchNorm3d]/node_Conv_2",
        "hsi_stages.0.0.mlp.fc1[Conv3d]/node_conv3d_3",
        "hsi_stages.0.1.mlp.fc2[Conv3d]/node_conv3d_4",
        "node_without_scope",
    ]
    assert module_pieces(nodes) == {
        "hsi_stem.conv1": [nodes[0]],
        "hsi_stem.conv2": [nodes[1]],
        "hsi_stages.0": nodes[2:4],
        "unscoped": [nodes[4]],
    }


def test_a_float_group_is_split_and_its_pieces_that_int8_speeds_up_go_back():
    """One slow layer (the stem's, +12 ms in INT8) made the whole 3-D group slower (+12 - 2 - 2 - 1 = +7);
    split by module, only the stem stays float, and the next group is timed against that finer choice.
    A piece within the margin (-1 ms) goes back to INT8, as a group within the margin stays INT8."""
    stem = "hsi_stem.conv1.1[BatchNorm3d]/node_a"
    stage0 = ["hsi_stages.0.0.mlp.fc1[Conv3d]/node_b", "hsi_stages.0.0.mlp.fc2[Conv3d]/node_c"]
    stage1 = "hsi_stages.1.0.mlp.fc1[Conv3d]/node_d"
    decoder = "decoder.fuse.0[Conv2d]/node_e"
    penalty = {stem: 12.0, stage0[0]: -2.0, stage0[1]: -2.0, stage1: -1.0, decoder: 2.0}
    groups = {"HSI branch (3-D conv)": [stem, *stage0, stage1], "decoder (conv)": [decoder]}
    build, measure, built, measured = _cost_model(penalty)
    progress: list[tuple[int, int]] = []

    kept, trials = select_float_groups(
        groups, build, measure, margin=0.015, progress=lambda *a: progress.append(a)
    )

    assert [(t.group, t.kept_float) for t in trials] == [
        ("HSI branch (3-D conv)", True),
        ("HSI branch (3-D conv) › hsi_stem.conv1", True),
        ("HSI branch (3-D conv) › hsi_stages.0", False),
        ("HSI branch (3-D conv) › hsi_stages.1", False),
        ("decoder (conv)", True),
    ]
    assert kept == [stem, decoder]
    # the stages.0 piece: INT8 with only stem and stages.1 float, against the group float
    assert measured[2] == {"int8": 100.0 - 4.0 + 2.0, "float": 100.0 + 2.0}
    assert trials[2].ratio == pytest.approx(102.0 / 98.0)
    # the decoder is timed against the refined graph (stem float, the stages INT8)
    assert built[-1] == [stem, decoder] and measured[-1]["int8"] == pytest.approx(100.0 - 5.0 + 2.0)
    assert progress == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    reasons = float_reasons(trials)
    assert set(reasons) == {stem, decoder}
    assert "group 'HSI branch (3-D conv) › hsi_stem.conv1'" in reasons[stem]
    assert describe(trials) == (
        "2 of 5 quantisable nodes float: HSI branch (3-D conv) in 1 of 3 modules (hsi_stem.conv1); "
        "decoder (conv)"
    )


def test_describe_says_when_no_int8_node_is_left():
    trials = [SpeedTrial("X branch (conv)", ["a", "b"], 2.0, 1.0, 0.5, kept_float=True)]
    assert describe(trials) == (
        "2 of 2 quantisable nodes float: X branch (conv); every group ran faster in float here, so the "
        "graph has no INT8 node"
    )
    trials[0].kept_float = False
    assert describe(trials) == "0 of 2 quantisable nodes float"


def test_trial_reason_names_the_measurement():
    trial = SpeedTrial(
        "HSI branch (3-D conv)", ["a"], int8_ms=67.5, float_ms=47.6, ratio=0.7, kept_float=True
    )
    assert trial.reason() == (
        "speed pass: INT8 slower on this CPU (group 'HSI branch (3-D conv)': one tile 47.6 ms "
        "with it float vs 67.5 ms INT8, ratio 0.700)"
    )
    assert trial.as_dict()["nodes"] == ["a"]


def test_paired_ratio_is_the_median_of_per_round_ratios():
    """Load that doubles both times of a round leaves its ratio alone; the ratio of medians would
    not be 0.5 here."""
    timed = {
        "int8": {"times_ms": [10.0, 40.0, 12.0, 50.0, 11.0]},
        "float": {"times_ms": [5.0, 20.0, 6.0, 25.0, 30.0]},
    }
    assert paired_ratio(timed, "float", "int8") == pytest.approx(0.5)
    assert paired_ratio(timed, "int8", "float") == pytest.approx(2.0)
