"""Per-layer times from the backends (what ``comix profile`` groups by model part): ONNX Runtime's trace read
right, names traced back to their modules, PyTorch module scopes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from runtime_helpers import make_scene, tiny_net

from comix.model_digest import graph_nodes
from comix.runtime import OnnxRuntimeBackend, TorchBackend, find_custom_op_library
from comix.runtime.backend import Backend, LayerTime
from comix.runtime.ort_profile import node_times, restore_scopes


def _trace() -> list[dict]:
    """A worked example of ONNX Runtime's profile: 3 runs; node a runs once per run, b twice in run 3 only."""
    events = [
        {"cat": "Session", "name": "model_run", "ts": start, "dur": 100}
        for start in (0, 1000, 2000)
    ]
    for start, a_us in ((0, 50), (1000, 30), (2000, 10)):
        events += [
            {"cat": "Node", "name": "a_fence_before", "ts": start + 1, "dur": 99, "args": {}},
            {
                "cat": "Node",
                "name": "a_kernel_time",
                "ts": start + 2,
                "dur": a_us,
                "args": {"op_name": "Conv"},
            },
        ]
    events += [
        {
            "cat": "Node",
            "name": "b_kernel_time",
            "ts": 2050 + i,
            "dur": 4,
            "args": {"op_name": "Add"},
        }
        for i in range(2)
    ]
    events.append(
        {
            "cat": "Node",
            "name": "a_kernel_time",
            "ts": 5000,
            "dur": 999,
            "args": {"op_name": "Conv"},
        }
    )
    return events


def test_node_times_average_the_last_runs_and_ignore_fences_and_outsiders():
    times = {t.name: t for t in node_times(_trace(), runs=2)}
    assert times["a"].kind == "Conv" and times["a"].milliseconds == pytest.approx(
        (30 + 10) / 2 / 1e3
    )
    assert times["a"].calls == 1
    assert times["b"].milliseconds == pytest.approx(8 / 2 / 1e3) and times["b"].calls == 1
    with pytest.raises(ValueError, match="got 3 model runs, expected at least 4"):
        node_times(_trace(), runs=4)


def test_nodes_renamed_by_onnxruntime_get_the_scope_of_their_origin():
    exported = helper.make_model(
        helper.make_graph(
            [
                helper.make_node(
                    "Conv", ["x", "w"], ["conv2d_3"], name="x_stem.conv1.0[Conv2d]/node_conv2d_3"
                ),
                helper.make_node(
                    "Relu", ["conv2d_3"], ["relu"], name="x_stem.conv1.1[ReLU]/node_relu"
                ),
            ],
            "g",
            [],
            [],
        )
    )
    optimized = helper.make_model(
        helper.make_graph(
            [
                helper.make_node("ReorderInput", ["x"], ["reorder_token_1"], name="ReorderInput"),
                helper.make_node(
                    "Conv", ["reorder_token_1", "w"], ["reorder_token_2"], name="conv2d_3_nchwc"
                ),
                helper.make_node(
                    "ReorderOutput", ["reorder_token_2"], ["relu"], name="ReorderOutput_token_7"
                ),
            ],
            "g",
            [],
            [],
        )
    )
    layers = [
        LayerTime(n, k, 1.0)
        for n, k in (
            ("conv2d_3_nchwc", "Conv"),
            ("ReorderOutput_token_7", "ReorderOutput"),
            ("ReorderInput", "ReorderInput"),
            ("already[X]/node", "Add"),
        )
    ]
    nodes = [graph_nodes(m.SerializeToString()) for m in (exported, optimized)]
    names = [layer.name for layer in restore_scopes(layers, *nodes)]
    assert names == [
        "x_stem.conv1.0[Conv2d]/conv2d_3_nchwc",
        "x_stem.conv1.1[ReLU]/ReorderOutput_token_7",
        "ReorderInput",
        "already[X]/node",
    ]


@pytest.mark.parametrize("graph", ["portable", "canonical"])
def test_onnxruntime_layer_times_carry_module_scopes(graph, portable_onnx, canonical_onnx):
    if graph == "canonical" and find_custom_op_library() is None:
        pytest.skip("canonical graph needs the custom-op library (python plugins/build.py)")
    backend = OnnxRuntimeBackend(
        portable_onnx if graph == "portable" else canonical_onnx, threads=1
    )
    hsi, x = make_scene(20, 24)
    layers = backend.layer_times(hsi[None], x[None], runs=2)
    assert layers and all(layer.milliseconds >= 0 for layer in layers)
    kinds = {layer.kind for layer in layers}
    assert "DeformConv" in kinds and ("DeformConv3D" in kinds) == (graph == "canonical")
    scoped = [layer.name for layer in layers if "]/" in layer.name]
    assert len(scoped) >= len(layers) // 2, [layer.name for layer in layers]
    assert any(name.startswith("dcn3d[DeformConv3d]/") for name in scoped)


def test_torch_layer_times_are_module_scopes_with_self_time():
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(20, 24)
    layers = {layer.name: layer for layer in backend.layer_times(hsi[None], x[None], runs=2)}
    assert {
        "dcn3d[DeformConv3d]",
        "dcn3d.offset_conv[Conv3d]",
        "dcn2d[DeformConv2d]",
        "[TinyHsiXNet]",
    } <= set(layers)
    assert (
        layers["dcn3d[DeformConv3d]"].kind == "DeformConv3d"
        and layers["dcn3d[DeformConv3d]"].calls == 1
    )
    assert all(layer.milliseconds >= 0 for layer in layers.values())
    total = sum(layer.milliseconds for layer in layers.values())
    # a module's own time excludes its children's: the model root holds far less than everything
    assert layers["[TinyHsiXNet]"].milliseconds < total


def test_a_backend_without_a_breakdown_says_so():
    class Plain(TorchBackend):
        layer_times = Backend.layer_times  # the interface's default: no breakdown

    assert (
        Plain(tiny_net()).layer_times(
            np.zeros((1, 6, 8, 8), np.float32), np.zeros((1, 1, 8, 8), np.float32), 1
        )
        is None
    )


def test_the_export_pass_names_survive_into_the_graph(portable_onnx):
    names = [node.name for node in onnx.load(str(portable_onnx)).graph.node]
    assert any(name.startswith("dcn2d[DeformConv2d]/") for name in names)
    assert any(name.startswith(("[TinyHsiXNet]/", "head[Conv2d]/")) for name in names)
