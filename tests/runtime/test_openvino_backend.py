"""The OpenVINO backend and the graph-level lowering of the 3-D DCN it relies on.

The lowering (:mod:`comix.runtime.dcn3d_lowering`) is checked on its own in ONNX Runtime
(no custom op) against the float64 reference on the shared grid; OpenVINO then runs the grid's 2-D
cases (ONNX DeformConv through our conversion to its DeformableConvolution) and the lowered 3-D
cases; a whole exported network runs through the registry and the CLI and is compared with ONNX Runtime.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from runtime_helpers import make_scene

from comix.ops.cases import DcnCase, case_named, cases_for, reference_output
from comix.ops.tolerance import assert_matches_reference
from comix.runtime.dcn3d_lowering import fix_input_shapes, lower_deform_conv3d
from comix.runtime.errors import RuntimeInputError
from comix.runtime.registry import open_backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from _dcn_models import deform_conv_model, feed, node_attributes

needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None,
    reason="openvino is not installed (pip install '.[openvino]')",
)


def _graph(case: DcnCase) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    given = feed(case.inputs("float32"))
    kind = {} if case.ndim == 3 else {"op_type": "DeformConv", "domain": ""}
    return onnx.load_from_string(deform_conv_model(given, node_attributes(case), **kind)), given


def _static(case: DcnCase) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    model, given = _graph(case)
    shapes = {name: array.shape for name, array in given.items()}
    if case.ndim == 3:
        return lower_deform_conv3d(model, shapes), given
    return fix_input_shapes(model, shapes), given


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases_for("onnx-lowering")])
def test_lowered_3d_op_matches_the_float64_reference_in_onnx_runtime(case: DcnCase) -> None:
    lowered, given = _static(case)
    assert not any(n.domain == "ai.comix" for n in lowered.graph.node)
    session = ort.InferenceSession(lowered.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, given)[0]
    assert_matches_reference(out, reference_output(case, "float32"), "float32", case.id)


def test_lowering_refuses_a_geometry_it_does_not_cover_in_one_sentence() -> None:
    model, given = _graph(case_named("3d-asym_stride_pad_dil"))
    with pytest.raises(RuntimeInputError, match="expected stride 1 and 'same' padding") as error:
        lower_deform_conv3d(model, {n: a.shape for n, a in given.items()})
    assert "\n" not in str(error.value)


@needs_openvino
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases_for("openvino")])
def test_openvino_matches_the_float64_reference_on_the_grid(case: DcnCase) -> None:
    import openvino as ov
    from openvino.frontend.onnx import ConversionExtension

    from comix.runtime.openvino_backend import _convert_deform_conv

    graph, given = _static(case)
    core = ov.Core()
    core.add_extension(ConversionExtension("DeformConv", _convert_deform_conv))
    core.set_property("CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    compiled = core.compile_model(core.read_model(graph.SerializeToString(), b""), "CPU")
    out = compiled([given[i.get_any_name()] for i in compiled.inputs])[compiled.output(0)]
    assert_matches_reference(np.asarray(out), reference_output(case, "float32"), "float32", case.id)


@needs_openvino
@pytest.mark.parametrize("graph", ["canonical", "portable"])
def test_a_network_gives_onnx_runtimes_logits(graph, canonical_onnx, portable_onnx) -> None:
    path = canonical_onnx if graph == "canonical" else portable_onnx
    hsi, x = make_scene(40, 52, seed=3)
    hsi, x = hsi[None], x[None]
    reference = open_backend(path, "onnxruntime", threads=1).run(hsi, x)
    backend = open_backend(path, "openvino", threads=1)
    assert backend.name == "openvino" and backend.info.bands == hsi.shape[1]
    out = backend.run(hsi, x)
    np.testing.assert_allclose(out, reference, atol=2e-4, rtol=1e-4)
    assert (out.argmax(1) == reference.argmax(1)).mean() == 1.0
    times = backend.layer_times(hsi, x, runs=2)
    assert times and all(t.milliseconds >= 0 for t in times)


@needs_openvino
def test_infer_with_openvino_gives_the_classes_of_onnx_runtime(tmp_path, canonical_onnx) -> None:
    from typer.testing import CliRunner

    from comix.cli.app import app

    hsi, x = make_scene(70, 90, seed=5)
    np.save(tmp_path / "hsi.npy", hsi.transpose(1, 2, 0))
    np.save(tmp_path / "x.npy", x.transpose(1, 2, 0))
    classes = {}
    for backend in ("onnxruntime", "openvino"):
        out = tmp_path / f"{backend}.npy"
        result = CliRunner().invoke(
            app,
            [
                "infer",
                str(canonical_onnx),
                "--hsi",
                str(tmp_path / "hsi.npy"),
                "--x",
                str(tmp_path / "x.npy"),
                "-o",
                str(out),
                "--backend",
                backend,
                "--tile",
                "32",
                "--quiet",
                "--threads",
                "1",
            ],
        )
        assert result.exit_code == 0, result.output
        classes[backend] = np.load(out)
    assert (classes["openvino"] == classes["onnxruntime"]).mean() >= 0.9999


def test_openvino_is_in_the_registry_with_what_to_install() -> None:
    from comix.runtime.registry import BACKENDS

    entry = BACKENDS["openvino"]
    assert entry.suffixes == (".onnx",) and not entry.auto_for
    assert "[openvino]" in entry.install
