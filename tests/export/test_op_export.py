"""Op-level export: one ONNX node per DCN with [D, H, W] attributes, checker/shape inference, ORT parity.

The stand-in module (comix.export.testing.AsymmetricDcnPair) has asymmetric kernel, stride, pads and
dilation, group 2 and offset_group 2 on the 3-D DCN, so an axis swap in the exporter changes the
attributes (checked literally) and the output (checked against PyTorch).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, Simplify
from comix.export.testing import AsymmetricDcnPair
from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D
from comix.runtime.session import SessionFactory, find_custom_op_library

DYNAMIC = {0: {0: "N", 2: "D", 3: "H", 4: "W"}, 1: {0: "N", 2: "H2", 3: "W2"}}
NAMES = (["hsi5d", "x"], ["y3", "y2"])


def _inputs(batch=2, size3=(6, 7, 8), size2=(9, 10), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 2, *size3, generator=generator) * 2,
        torch.randn(batch, 3, *size2, generator=generator) * 2,
    )


def _attributes(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@pytest.fixture(scope="module")
def canonical():
    module = AsymmetricDcnPair().eval()
    model = TorchOnnxExporter(*NAMES, opset=20, dynamic_axes=DYNAMIC)(module, _inputs())
    model = Simplify()(FoldBatchNorm()(model))
    return module, model


@pytest.fixture(scope="module")
def portable():
    module = AsymmetricDcnPair().eval()
    model = TorchOnnxExporter(*NAMES, opset=20, dynamic_axes=DYNAMIC, portable=True)(
        module, _inputs()
    )
    return module, Simplify()(FoldBatchNorm()(model))


def test_canonical_graph_has_one_node_per_dcn_with_dhw_attributes(canonical):
    _, model = canonical
    dc3 = [n for n in model.graph.node if n.op_type == DEFORM_CONV_3D]
    dc2 = [n for n in model.graph.node if n.op_type == "DeformConv"]
    assert len(dc3) == 1 and dc3[0].domain == CUSTOM_DOMAIN
    assert len(dc2) == 1 and dc2[0].domain in ("", "ai.onnx")
    pair = AsymmetricDcnPair
    assert _attributes(dc3[0]) == {
        "kernel_shape": list(pair.KERNEL_3D),
        "strides": list(pair.STRIDE_3D),
        "pads": list(pair.PADS_3D),
        "dilations": list(pair.DILATION_3D),
        "group": 2,
        "offset_group": 2,
    }
    assert _attributes(dc2[0]) == {
        "kernel_shape": list(pair.KERNEL_2D),
        "strides": list(pair.STRIDE_2D),
        "pads": list(pair.PADS_2D),
        "dilations": list(pair.DILATION_2D),
        "group": 1,
        "offset_group": 1,
    }
    assert len(dc3[0].input) == 5 and all(dc3[0].input), "X, W, offset, B, mask all present"
    assert {(o.domain, o.version) for o in model.opset_import} >= {("", 20), (CUSTOM_DOMAIN, 1)}


def test_batchnorm_is_folded_into_the_dcns(canonical):
    _, model = canonical
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]


def test_canonical_graph_passes_checker_and_infers_output_shapes(canonical):
    module, model = canonical
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    hsi5d, x = _inputs(batch=3, size3=(5, 6, 9), size2=(8, 11))
    # make the inputs static and check the inferred output shape of our node against PyTorch
    for graph_input, tensor in zip(inferred.graph.input, (hsi5d, x), strict=True):
        for dim, size in zip(graph_input.type.tensor_type.shape.dim, tensor.shape, strict=True):
            dim.Clear()
            dim.dim_value = size
    static = onnx.shape_inference.infer_shapes(inferred, strict_mode=True)
    with torch.no_grad():
        expected = [tuple(t.shape) for t in module(hsi5d, x)]
    got = [tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in static.graph.output]
    assert got == expected


def test_canonical_2d_part_runs_in_onnxruntime(canonical):
    """ORT runs the standard DeformConv; cut the graph at the 2-D output so no custom node is needed."""
    module, model = canonical
    sub = onnx.utils.Extractor(model).extract_model(["x"], ["y2"])
    assert not [n for n in sub.graph.node if n.domain == CUSTOM_DOMAIN]
    session = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch, size in ((2, (9, 10)), (1, (13, 7))):
        _, x = _inputs(batch=batch, size2=size, seed=batch)
        with torch.no_grad():
            expected = module(torch.zeros(batch, 2, 6, 7, 8), x)[1].numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4


def test_canonical_graph_runs_with_custom_op_library(canonical):
    if find_custom_op_library() is None:
        pytest.skip(
            "ONNX Runtime custom-op library for ai.comix DeformConv3D not built (comix.plugins.build)"
        )
    module, model = canonical
    session = SessionFactory(model, providers=["CPUExecutionProvider"])()
    hsi5d, x = _inputs(batch=2, size3=(5, 6, 9), size2=(8, 11), seed=3)
    with torch.no_grad():
        expected = [t.numpy() for t in module(hsi5d, x)]
    got = session.run(None, {"hsi5d": hsi5d.numpy(), "x": x.numpy()})
    for g, e in zip(got, expected, strict=True):
        assert np.abs(g - e).max() <= 1e-4


def test_portable_graph_has_only_ai_onnx_ops(portable):
    _, model = portable
    domains = {n.domain for n in model.graph.node}
    assert domains <= {"", "ai.onnx"}, domains
    ops = {n.op_type for n in model.graph.node}
    assert "GridSample" in ops and "DeformConv" in ops and DEFORM_CONV_3D not in ops
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize(
    "batch,size3,size2", [(2, (6, 7, 8), (9, 10)), (1, (5, 9, 6), (12, 7)), (3, (2, 3, 3), (3, 2))]
)
def test_portable_graph_matches_pytorch_in_onnxruntime(portable, batch, size3, size2):
    module, model = portable
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    hsi5d, x = _inputs(batch, size3, size2, seed=batch)
    with torch.no_grad():
        expected = [t.numpy() for t in module(hsi5d, x)]
    got = session.run(None, {"hsi5d": hsi5d.numpy(), "x": x.numpy()})
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        assert np.abs(g - e).max() <= 1e-4


def test_export_does_not_change_the_module():
    """Exporting (canonical and portable) leaves the eager module computing exactly what it did before."""
    module, inputs = AsymmetricDcnPair().eval(), _inputs()
    with torch.no_grad():
        before = module(*inputs)
        for portable in (False, True):
            TorchOnnxExporter(*NAMES, opset=20, dynamic_axes=DYNAMIC, portable=portable)(
                module, inputs
            )
        after = module(*inputs)
    for x, y in zip(before, after, strict=True):
        assert torch.equal(x, y)
