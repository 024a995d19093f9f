"""Graph passes: module scopes kept in node names, and the input normalisation folded into the first 1x1
convolution (exact against a float64 reference of the unfolded graph, applied only where it is exact)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import (
    FoldBatchNorm,
    FoldInputNormalization,
    ScopeNodeNames,
    Simplify,
    scoped_name,
)
from comix.export.testing import TinyHsiXNet
from comix.profile.parts import split_scoped_name

C, K, H, W = 5, 3, 6, 7  # K: output channels
PADS = [0, 0, 0, 0, 0, 0, 2, 1]  # N, C, H, W begins then ends: pad H by 2 and W by 1 at the end


def _normalise_pad_project(
    pad_value: float | None = None, kernel: int = 1, reuse_sub: bool = False, seed: int = 0
) -> onnx.ModelProto:
    """x (1, C, H, W) -> Sub(mean) -> Div(std) -> Pad -> Conv(k x k, bias) -> y, like CoMiX's HSI input."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(3, 2, (1, C, 1, 1)).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.uniform(0.5, 2, (1, C, 1, 1)).astype(np.float32), "std"),
        numpy_helper.from_array(np.array(PADS, np.int64), "pads"),
        numpy_helper.from_array(rng.normal(0, 1, (K, C, kernel, kernel)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 1, (K,)).astype(np.float32), "b"),
    ]
    pad_inputs = ["normalised", "pads"]
    if pad_value is not None:
        inits.append(numpy_helper.from_array(np.array(pad_value, np.float32), "value"))
        pad_inputs.append("value")
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["centred"], name="norm/sub"),
        helper.make_node("Div", ["centred", "std"], ["normalised"], name="norm/div"),
        helper.make_node("Pad", pad_inputs, ["padded"], mode="constant", name="pad"),
        helper.make_node(
            "Conv", ["padded", "w", "b"], ["y"], kernel_shape=[kernel, kernel], name="project"
        ),
    ]
    out = [1, K, H + PADS[6] - kernel + 1, W + PADS[7] - kernel + 1]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)]
    if reuse_sub:
        outputs.append(helper.make_tensor_value_info("centred", TensorProto.FLOAT, [1, C, H, W]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, W])],
        outputs,
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=10)


def _reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The unfolded formula in float64: conv1x1(pad0((x - mean) / std)) + b."""
    p = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    normalised = (x.astype(np.float64) - p["mean"]) / p["std"]
    padded = np.pad(normalised, [(0, 0), (0, 0), (0, PADS[6]), (0, PADS[7])])
    return np.einsum("oc,nchw->nohw", p["w"][:, :, 0, 0], padded) + p["b"].reshape(1, K, 1, 1)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x}
    )[0]


def test_folding_the_normalisation_is_exact_and_removes_the_full_band_passes():
    model = _normalise_pad_project()
    x = np.random.default_rng(1).normal(3, 4, (1, C, H, W)).astype(np.float32)
    want = _reference(model, x)
    folded = FoldInputNormalization()(onnx.ModelProto.FromString(model.SerializeToString()))
    onnx.checker.check_model(folded, full_check=True)
    assert [n.op_type for n in folded.graph.node] == ["Conv", "Pad", "Add"]
    assert all(n.name.startswith("project/fold_") for n in folded.graph.node)
    np.testing.assert_allclose(_run(folded, x), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        _run(model, x), want, rtol=1e-5, atol=1e-5
    )  # the reference is the unfolded graph


@pytest.mark.parametrize("variant", ["pad value 1", "3x3 conv", "normalised input used twice"])
def test_folding_leaves_graphs_where_it_would_not_be_exact(variant):
    model = {
        "pad value 1": lambda: _normalise_pad_project(pad_value=1.0),
        "3x3 conv": lambda: _normalise_pad_project(kernel=3),
        "normalised input used twice": lambda: _normalise_pad_project(reuse_sub=True),
    }[variant]()
    before = [n.op_type for n in model.graph.node]
    assert [n.op_type for n in FoldInputNormalization()(model).graph.node] == before


@pytest.fixture(scope="module")
def tiny_export():
    torch.manual_seed(0)
    module = TinyHsiXNet().eval()
    sample = (torch.randn(1, 6, 12, 14), torch.randn(1, 1, 12, 14))
    raw = TorchOnnxExporter(["hsi", "x"], ["logits"])(module, sample)
    return module, sample, raw


def test_node_names_carry_their_module_through_folding_and_simplification(tiny_export):
    _, _, raw = tiny_export
    model = Simplify()(
        FoldBatchNorm()(ScopeNodeNames()(onnx.ModelProto.FromString(raw.SerializeToString())))
    )
    scopes = {split_scoped_name(n.name) for n in model.graph.node}
    assert ("dcn3d", "DeformConv3d") in scopes and ("dcn2d", "DeformConv2d") in scopes
    assert ("dcn3d.offset_conv", "Conv3d") in scopes and ("head", "Conv2d") in scopes
    deform = [n for n in model.graph.node if n.op_type == "DeformConv"]
    assert deform and all(n.name.startswith("dcn2d[DeformConv2d]/") for n in deform)
    assert len({n.name for n in model.graph.node}) == len(model.graph.node), "names stay unique"


def test_scoped_names_round_trip():
    name = scoped_name("hsi_stages.0.0.dcn", "DeformConv3d", "node_deform_conv3d")
    assert name == "hsi_stages.0.0.dcn[DeformConv3d]/node_deform_conv3d"
    assert split_scoped_name(name) == ("hsi_stages.0.0.dcn", "DeformConv3d")
    assert split_scoped_name("fused " + name) == ("hsi_stages.0.0.dcn", "DeformConv3d")
    assert split_scoped_name(scoped_name("", "ComixNet", "node_pad")) == ("", "ComixNet")
    assert split_scoped_name("node_Shape_0") is None
