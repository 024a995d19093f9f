"""A DCN with a mask and no bias exports with a real zero-bias initializer (comix.export.translation).

TensorRT cannot hand a plugin an empty optional input, so our TensorRT plugins read the 4th input as B
whenever a node has more than 3 (plugins/tensorrt/README.md): a node X, W, offset, "", mask would reach
them with the mask in B's place. The exporter therefore emits a zero bias (O,) when the mask is given and
the bias is not; without a mask an absent bias stays absent. The graph must still match PyTorch.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, Simplify
from comix.ops import DeformConv2d, DeformConv3d
from comix.ops.spec import DEFORM_CONV_3D
from comix.runtime.session import SessionFactory, find_custom_op_library


class _NoBias(torch.nn.Module):
    """(hsi5d (N, 2, D, H, W), x (N, 3, H, W)) -> four outputs: DCNs without bias, with a mask (m3, m2) and
    without one (u3, u2); no BatchNorm, so nothing else gives them a bias."""

    OUT = {"m3": 5, "m2": 6, "u3": 4, "u2": 3}

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        for prefix, mask in (("m", "sigmoid"), ("u", "none")):
            setattr(
                self,
                f"{prefix}3",
                DeformConv3d(
                    2,
                    self.OUT[f"{prefix}3"],
                    (3, 2, 3),
                    padding=(1, 0, 1, 1, 1, 1),
                    bias=False,
                    mask_activation=mask,
                ),
            )
            setattr(
                self,
                f"{prefix}2",
                DeformConv2d(
                    3,
                    self.OUT[f"{prefix}2"],
                    (3, 2),
                    padding=(1, 0, 1, 1),
                    bias=False,
                    mask_activation=mask,
                ),
            )
        for name in self.OUT:  # deform for real: a fresh offset branch is zero
            with torch.no_grad():
                getattr(self, name).offset_conv.weight.normal_(0.0, 0.3)

    def forward(self, hsi5d, x):
        return self.m3(hsi5d), self.m2(x), self.u3(hsi5d), self.u2(x)


def _inputs(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(2, 2, 5, 6, 7, generator=generator), torch.randn(
        2, 3, 8, 9, generator=generator
    )


@pytest.fixture(scope="module")
def exported():
    module = _NoBias().eval()
    model = TorchOnnxExporter(["hsi5d", "x"], ["ym3", "ym2", "yu3", "yu2"], opset=20)(
        module, _inputs()
    )
    return module, Simplify()(FoldBatchNorm()(model))


def _dcn_nodes(model: onnx.ModelProto) -> dict:
    """Layer name (m3, m2, u3, u2) -> its DCN node, found by the weight it reads."""
    nodes = [n for n in model.graph.node if n.op_type in (DEFORM_CONV_3D, "DeformConv")]
    return {n.input[1].split(".")[0]: n for n in nodes}


def test_mask_without_bias_gets_a_zero_bias_initializer(exported):
    _, model = exported
    initializers = {t.name: t for t in model.graph.initializer}
    nodes = _dcn_nodes(model)
    assert sorted(nodes) == sorted(_NoBias.OUT), (
        f"DCN nodes: got {sorted(nodes)}, expected {sorted(_NoBias.OUT)}"
    )
    assert (nodes["m3"].op_type, nodes["m2"].op_type) == (DEFORM_CONV_3D, "DeformConv")
    for name in ("m3", "m2"):
        node = nodes[name]
        assert len(node.input) == 5 and all(node.input), (
            f"{name}: got inputs {list(node.input)}, expected 5 named"
        )
        assert node.input[3] in initializers, f"{name}: B {node.input[3]!r} is not an initializer"
        bias = numpy_helper.to_array(initializers[node.input[3]])
        expected = (_NoBias.OUT[name],)
        assert bias.dtype == np.float32 and bias.shape == expected, (
            f"{name}: got B {bias.dtype} {bias.shape}"
        )
        assert not bias.any(), f"{name}: got B {bias}, expected zeros"


def test_without_mask_an_absent_bias_stays_absent(exported):
    nodes = _dcn_nodes(exported[1])
    for name in ("u3", "u2"):
        assert not any(nodes[name].input[3:]), (
            f"{name}: got inputs {list(nodes[name].input)}, expected X, W, offset"
        )


def test_zero_bias_graph_matches_pytorch(exported):
    if find_custom_op_library() is None:
        pytest.skip(
            "ONNX Runtime custom-op library for ai.comix DeformConv3D not built (comix.plugins.build)"
        )
    module, model = exported
    hsi5d, x = _inputs(seed=1)
    with torch.no_grad():
        expected = [t.numpy() for t in module(hsi5d, x)]
    session = SessionFactory(model, providers=["CPUExecutionProvider"])()
    got = session.run(None, {"hsi5d": hsi5d.numpy(), "x": x.numpy()})
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        assert np.abs(g - e).max() <= 1e-4, (
            f"got max |ORT - PyTorch| {np.abs(g - e).max():.2e}, expected <= 1e-4"
        )
