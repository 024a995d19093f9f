"""Export pipeline: metadata written and read back, validation report beside the model, atomic writes,
BatchNorm folding exact, schema shape inference."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from comix.export.passes import FoldBatchNorm
from comix.export.pipeline import ExportPipeline, report_path
from comix.export.testing import TinyHsiXNet
from comix.export.validate import ParityCheck, ValidationError
from comix.metadata import ModelRecord
from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D
from comix.runtime.session import SessionFactory, find_custom_op_library

NAMES = (["hsi", "x"], ["logits"])
DYNAMIC = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}


def _inputs(batch, height, width, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 6, height, width, generator=generator), 10 + 5 * torch.randn(
        batch, 1, height, width, generator=generator
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A static portable export of TinyHsiXNet through the whole pipeline (with parity)."""
    folder = tmp_path_factory.mktemp("pipeline")
    model = TinyHsiXNet().eval()
    record = ModelRecord(
        model_name="tiny",
        class_names=["a", "b", "c", "d"],
        wavelengths_nm=[400.0 + i for i in range(6)],
        x_modality="lidar_dsm",
        training_tile=[16, 20],
        checkpoint_sha256="ab" * 32,
    )
    pipeline = ExportPipeline(
        *NAMES,
        portable=True,
        record=record,
        parity=ParityCheck(model, [_inputs(2, 16, 20, seed=1)]),
    )
    result = pipeline(model, _inputs(2, 16, 20), folder / "tiny.onnx")
    return result


def test_validation_report_is_stored_beside_the_model(exported):
    assert exported.path.is_file()
    report = json.loads(report_path(exported.path).read_text())
    assert (
        report["checker"] == "passed"
        and report["shape_inference"] == "passed"
        and report["parity"] == "passed"
    )
    assert report["max_abs_error"] <= 1e-4 and report["min_argmax_agreement_measured"] == 1.0
    assert report["cases"][0]["shapes"] == [[2, 6, 16, 20], [2, 1, 16, 20]]


def test_metadata_round_trips(exported):
    model = onnx.load(str(exported.path))
    meta = ModelRecord.read_onnx(model)
    assert meta.model_name == "tiny" and meta.class_names == ["a", "b", "c", "d"]
    assert (
        meta.wavelengths_nm[0] == 400.0
        and meta.x_modality == "lidar_dsm"
        and meta.training_tile == [16, 20]
    )
    assert (
        meta.graph_kind == "portable" and meta.opset == 20 and meta.tools["torch"].startswith("2.")
    )
    assert meta.checkpoint_sha256 == "ab" * 32
    keys = {p.key for p in model.metadata_props}
    assert {
        "comix.model_name",
        "comix.class_names",
        "comix.exporter",
        "comix.tools",
        "comix.schema_version",
    } <= keys


def test_failed_validation_leaves_nothing_under_the_final_name(tmp_path):
    reference = TinyHsiXNet(seed=1).eval()  # different weights: parity must fail
    pipeline = ExportPipeline(
        *NAMES, portable=True, parity=ParityCheck(reference, [_inputs(1, 12, 12)])
    )
    with pytest.raises(ValidationError, match=r"max abs error .* \(expected <= 0.0001\)"):
        pipeline(TinyHsiXNet().eval(), _inputs(1, 12, 12), tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == [], "no model, no report, no temp file"


def test_output_in_a_missing_folder_is_a_clear_error(tmp_path):
    pipeline = ExportPipeline(*NAMES, portable=True)
    with pytest.raises(FileNotFoundError, match="does not exist, expected an existing folder"):
        pipeline(TinyHsiXNet().eval(), _inputs(1, 8, 8), tmp_path / "nope" / "m.onnx")


def _conv_bn_model(op_type: str, domain: str, kernel: list[int]):
    """X -> (Conv | DeformConv | DeformConv3D) -> BatchNormalization -> Y, all parameters initializers."""
    rng = np.random.default_rng(0)
    nd = len(kernel)
    k = int(np.prod(kernel))
    w = rng.normal(size=(4, 3, *kernel)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    stats = [
        rng.uniform(0.5, 1.5, 4),
        rng.normal(size=4),
        rng.normal(size=4),
        rng.uniform(0.5, 2, 4),
    ]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")] + [
        numpy_helper.from_array(v.astype(np.float32), n)
        for v, n in zip(stats, ["g", "beta", "mean", "var"], strict=True)
    ]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, *([5] * nd)])]
    if op_type == "Conv":
        conv = helper.make_node("Conv", ["X", "W", "B"], ["c"], domain=domain)
    else:
        inputs.append(
            helper.make_tensor_value_info("off", TensorProto.FLOAT, [1, k * nd, *([5 - 2] * nd)])
        )
        conv = helper.make_node(
            op_type, ["X", "W", "off", "B"], ["c"], domain=domain, kernel_shape=kernel
        )
    bn = helper.make_node(
        "BatchNormalization", ["c", "g", "beta", "mean", "var"], ["Y"], epsilon=1e-3
    )
    output = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4, *([3] * nd)])
    graph = helper.make_graph([conv, bn], "g", inputs, [output], inits)
    opsets = [helper.make_opsetid("", 19)] + (
        [helper.make_opsetid(CUSTOM_DOMAIN, 1)] if domain else []
    )
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


@pytest.mark.parametrize(
    "op_type,domain,kernel",
    [("Conv", "", [3, 3]), ("DeformConv", "", [3, 3]), (DEFORM_CONV_3D, CUSTOM_DOMAIN, [3, 3, 3])],
)
def test_batchnorm_folding_is_exact(op_type, domain, kernel):
    model = _conv_bn_model(op_type, domain, kernel)
    folded = FoldBatchNorm()(onnx.ModelProto.FromString(model.SerializeToString()))
    assert [n.op_type for n in folded.graph.node] == [op_type]
    onnx.checker.check_model(folded, full_check=True)
    if domain and find_custom_op_library() is None:
        pytest.skip(
            "DeformConv3D numbers need the ONNX Runtime custom-op library (python plugins/build.py)"
        )
    rng = np.random.default_rng(1)
    feeds = {
        i.name: rng.normal(size=[d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in model.graph.input
    }
    run = lambda m: SessionFactory(m, providers=["CPUExecutionProvider"])().run(None, feeds)[0]  # noqa: E731
    np.testing.assert_allclose(run(folded), run(model), atol=1e-5)


def test_schema_infers_deform_conv3d_output_shape_with_asymmetric_geometry():
    node = helper.make_node(
        DEFORM_CONV_3D,
        ["X", "W", "off"],
        ["Y"],
        domain=CUSTOM_DOMAIN,
        kernel_shape=[3, 2, 1],
        strides=[2, 1, 3],
        pads=[1, 0, 0, 0, 1, 2],
        dilations=[1, 2, 1],
    )
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", 4, 9, 8, 10]),
            helper.make_tensor_value_info("W", TensorProto.FLOAT, [6, 4, 3, 2, 1]),
            helper.make_tensor_value_info("off", TensorProto.FLOAT, ["n", 18, 4, 7, 4]),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 19), helper.make_opsetid(CUSTOM_DOMAIN, 1)]
    )
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    # D: (9+1+0-3)//2+1 = 4; H: (8+0+1-3)//1+1 = 7; W: (10+0+2-1)//3+1 = 4
    assert [d.dim_param or d.dim_value for d in dims] == ["n", 6, 4, 7, 4]
