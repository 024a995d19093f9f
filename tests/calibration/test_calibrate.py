"""``comix calibrate`` end to end on a tiny trained network (canonical and portable graphs), and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from calibration_helpers import write_dataset
from onnx import numpy_helper
from typer.testing import CliRunner

from comix.calibration import pipeline
from comix.calibration.fp16 import sampling_path
from comix.calibration.graph import dcn_nodes
from comix.calibration.int8 import quantizable_nodes
from comix.calibration.pipeline import CalibrationRequest, calibrate
from comix.calibration.recipe import TARGETS
from comix.cli.app import app
from comix.metadata import ModelRecord

FAST = {"tiles": 6, "tile": 32}


def _request(model, dataset, output, precision="int8", **kwargs) -> CalibrationRequest:
    return CalibrationRequest(
        model=model,
        precision=precision,
        dataset=dataset,
        output=output,
        cache_dir=output.parent / "cache",
        **{**FAST, **kwargs},
    )


@pytest.fixture(scope="module")
def int8_runs(tmp_path_factory, dataset, request):
    """kind -> CalibrationResult of the TensorRT-form INT8 graph (computed once per graph kind)."""
    results = {}
    for kind in ("canonical", "portable"):
        try:
            model = request.getfixturevalue(f"{kind}_model")
        except pytest.skip.Exception:
            continue
        folder = tmp_path_factory.mktemp(f"int8_{kind}")
        results[kind] = calibrate(_request(model, dataset, folder / "model.int8.onnx"))
    return results


@pytest.mark.slow  # two full calibrations with reports (~40 s on 2 cores)
@pytest.mark.parametrize("kind", ["canonical", "portable"])
def test_int8_graph_is_tensorrt_form_accurate_and_recorded(int8_runs, kind, request):
    if kind not in int8_runs:
        pytest.skip(
            "the canonical graph needs the ONNX Runtime custom-op library (python plugins/build.py)"
        )
    result = int8_runs[kind]
    source = request.getfixturevalue(f"{kind}_model")
    graph = onnx.load(str(result.output))
    assert result.lint.passed, result.lint.findings
    qdq = [n for n in graph.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert qdq, "an INT8 graph has Q/DQ nodes"
    made_by = {o: n for n in graph.graph.node for o in n.output}
    for dcn in dcn_nodes(graph):  # the DCNs read float tensors, never a dequantised one
        assert all(
            made_by.get(name) is None or made_by[name].op_type != "DequantizeLinear"
            for name in dcn.input
        )
    inits = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    for node in graph.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            assert inits[node.input[2]].dtype == np.int8 and not inits[node.input[2]].any()
    # per-channel weight scales are max|w| / 127 per output channel, against the FP32 weights (float64)
    fp32 = onnx.load(str(source))
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in fp32.graph.initializer}
    convs = {n.name: n for n in fp32.graph.node if n.op_type == "Conv"}
    checked = 0
    for node in graph.graph.node:
        if (
            node.op_type == "Conv"
            and node.name in convs
            and made_by[node.input[1]].op_type == "DequantizeLinear"
        ):
            scale = inits[made_by[node.input[1]].input[1]]
            w = weights[convs[node.name].input[1]]
            np.testing.assert_allclose(
                scale, np.abs(w).reshape(w.shape[0], -1).max(axis=1) / 127.0, rtol=1e-6
            )
            checked += 1
    assert checked >= 2
    record = ModelRecord.read_onnx(graph)
    assert record.model_name == "tiny" and record.precision["precision"] == "int8"
    assert record.precision["tiles"] == FAST["tiles"] and record.precision["target"] == "tensorrt"
    assert len(record.precision["source_model_sha256"]) == 64
    assert {k["reason"][:13] for k in record.precision["kept_float"]} == {"deformable co"}
    sidecar = json.loads(result.sidecar.read_text())
    assert (
        sidecar["sensitivity"]
        and sidecar["sensitivity"][0]["sqnr_db"] <= sidecar["sensitivity"][-1]["sqnr_db"]
    )
    assert all(count >= 1 for count in sidecar["calibration_tiles"]["class_coverage"].values())
    int8 = result.accuracy.graph("int8")
    assert int8.delta_points["mean_iou"] >= -2.0 and int8.argmax_agreement_scored >= 0.97
    assert 0 < int8.logit_error["relative_rms"] < 0.1
    assert [p.suffix for p in result.report_paths] == [".json", ".md", ".png"]


def test_fp16_graph_keeps_io_float32_and_the_listed_nodes(portable_model, dataset, tmp_path):
    result = calibrate(
        _request(portable_model, dataset, tmp_path / "model.fp16.onnx", precision="fp16")
    )
    graph = onnx.load(str(result.output))
    assert [v.type.tensor_type.elem_type for v in (*graph.graph.input, *graph.graph.output)] == [
        1,
        1,
        1,
    ]
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)
    reasons = {k["node"]: k["reason"] for k in result.recipe.kept_float}
    assert any(r.startswith("input normalisation") for r in reasons.values())
    assert any(r.startswith("deformable convolution") for r in reasons.values())
    # the portable 3-D lowering's flattened-volume coordinates (Floor of the depth position) stay
    # FP32, and the walk back from the DCN inputs stops at sizes (Shape) instead of entering the
    # feature maps behind them
    path = {node.name: node.op_type for node in sampling_path(onnx.load(str(portable_model)))}
    assert "Floor" in path.values() and "Shape" not in path.values()
    assert all(
        reasons[name].startswith("DCN sampling positions") for name in path if name in reasons
    )
    assert all(name in reasons for name in path)
    fp16 = result.accuracy.graph("fp16")
    assert fp16.argmax_agreement_scored >= 0.999 and fp16.logit_error["relative_rms"] < 0.01
    assert result.lint.passed and ModelRecord.read_onnx(graph).precision["precision"] == "fp16"


def test_rerun_is_served_from_the_cache_and_changed_data_is_not(
    portable_model, dataset, tmp_path, monkeypatch
):
    first = calibrate(_request(portable_model, dataset, tmp_path / "a.onnx", report=False))
    assert not first.statistics_from_cache

    def no_pass(*args, **kwargs):
        raise AssertionError("statistics were recomputed although the inputs did not change")

    monkeypatch.setattr(pipeline, "collect_statistics", no_pass)
    second = calibrate(_request(portable_model, dataset, tmp_path / "b.onnx", report=False))
    assert second.statistics_from_cache and second.cache_path == first.cache_path
    assert onnx.load(str(tmp_path / "a.onnx")).graph == onnx.load(str(tmp_path / "b.onnx")).graph
    with pytest.raises(
        AssertionError, match="recomputed"
    ):  # other tiles: a new key, never the old entry
        calibrate(_request(portable_model, dataset, tmp_path / "c.onnx", report=False, seed=1))


def test_max_drop_moves_the_most_sensitive_nodes_back_to_float(portable_model, dataset, tmp_path):
    result = calibrate(
        _request(portable_model, dataset, tmp_path / "m.onnx", report=False, max_drop=0.0)
    )
    fallback = result.fallback
    assert fallback.met and fallback.steps[0].excluded == 0 and fallback.steps[-1].loss <= 0.0
    ranked = [s["node"] for s in result.sensitivity]
    assert fallback.excluded == ranked[: len(fallback.excluded)]
    graph = onnx.load(str(result.output))
    made_by = {o: n for n in graph.graph.node for o in n.output}
    for node in graph.graph.node:
        if node.name in fallback.excluded:
            assert all(
                made_by.get(i) is None or made_by[i].op_type != "DequantizeLinear"
                for i in node.input
            )
    assert set(fallback.excluded) <= {k["node"] for k in result.recipe.kept_float}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_calibrate_lint_and_eval_of_the_onnx_graph(portable_model, dataset, tmp_path):
    out = tmp_path / "tiny.int8.onnx"
    result = _invoke(
        "calibrate",
        portable_model,
        "--precision",
        "int8",
        "--data",
        dataset,
        "-o",
        out,
        "--tiles",
        6,
        "--tile",
        32,
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "TensorRT lint passed" in result.output
    assert _invoke("lint", out).exit_code == 0
    cpu = tmp_path / "tiny.cpu.onnx"
    assert (
        _invoke(
            "calibrate",
            portable_model,
            "--precision",
            "int8",
            "--target",
            "cpu",
            "--data",
            dataset,
            "-o",
            cpu,
            "--tiles",
            6,
            "--tile",
            32,
            "--no-report",
            "--no-speed-pass",
            "--cache-dir",
            tmp_path / "cache",
            "--quiet",
        ).exit_code
        == 0
    )
    linted = _invoke("lint", cpu, "--json")
    assert linted.exit_code == 1 and "zero-point" in linted.output  # the CPU form is not TensorRT's
    assert json.loads(cpu.with_name(cpu.name + ".calibration.json").read_text())["speed_pass"] == []
    timed = calibrate(
        _request(
            portable_model, dataset, tmp_path / "tiny.cpu.timed.onnx", target="cpu", report=False
        )
    )
    assert (
        timed.statistics_from_cache
    )  # same tiles and form as the run above: only the speed pass is new
    _assert_speed_pass_recorded(timed.output)
    scored = _invoke("eval", out, dataset, "-o", tmp_path / "eval")
    assert scored.exit_code == 0, scored.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    report = json.loads((tmp_path / "tiny.int8.accuracy.json").read_text())
    assert metrics["mean_iou"] == pytest.approx(report["graphs"][1]["mean_iou"], abs=1e-12)


def _assert_speed_pass_recorded(path):
    """The CPU form's speed pass timed every quantisable group on this machine (pieces of a float group after
    it); the nodes whose last trial kept them float carry that measurement as the reason, the others are
    quantised (their Conv/MatMul reads a DequantizeLinear)."""
    sidecar = json.loads(path.with_name(path.name + ".calibration.json").read_text())
    trials = sidecar["speed_pass"]
    assert trials and sidecar["recipe"]["options"]["speed_pass"] is True
    groups = [t for t in trials if " › " not in t["group"]]
    assert sorted(n for t in groups for n in t["nodes"]) == sorted(
        n.name for n in quantizable_nodes(onnx.load(str(sidecar["source_model"])), TARGETS["cpu"])
    )
    last = {name: t for t in trials for name in t["nodes"]}  # the last trial of a node decides
    reasons = {k["node"]: k["reason"] for k in sidecar["recipe"]["kept_float"]}
    graph = onnx.load(str(path))
    made_by = {o: n for n in graph.graph.node for o in n.output}
    nodes = {n.name: n for n in graph.graph.node}
    assert all(t["int8_ms"] > 0 and t["float_ms"] > 0 for t in trials)
    for name, trial in last.items():
        if trial["kept_float"]:
            assert reasons[name].startswith("speed pass: INT8 slower on this CPU")
            assert repr(trial["group"]) in reasons[name] and name in nodes
        else:
            assert name not in reasons
            assert any(
                made_by.get(i) is not None and made_by[i].op_type == "DequantizeLinear"
                for i in nodes[name].input
            ), name


@pytest.mark.parametrize(
    "case, message",
    [
        ("bands", "got 5 HSI bands, expected 12 as the model takes"),
        ("unlabelled", "got only unlabelled pixels"),
        ("quantised", "already quantised"),
        ("corrupt cache", "calibration cache .*corrupt|calibration cache .*unreadable JSON"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(
    case, message, portable_model, dataset, tmp_path
):
    model, data, cache = portable_model, dataset, tmp_path / "cache"
    if case == "bands":
        data = write_dataset(tmp_path / "other", bands=5)
    elif case == "unlabelled":
        data = write_dataset(tmp_path / "empty", unlabelled=True)
    elif case == "quantised":
        model = calibrate(
            _request(portable_model, dataset, tmp_path / "q.onnx", report=False, use_cache=False)
        ).output
    else:
        first = calibrate(_request(portable_model, dataset, tmp_path / "first.onnx", report=False))
        shutil.copy(first.cache_path, first.cache_path.with_suffix(".bak"))
        first.cache_path.write_text('{"format": "comix-calibration-statistics", trunc')
    out = tmp_path / "out.onnx"
    result = _invoke(
        "calibrate",
        model,
        "--precision",
        "int8",
        "--data",
        data,
        "-o",
        out,
        "--tiles",
        6,
        "--tile",
        32,
        "--cache-dir",
        cache,
        "--no-report",
        "--quiet",
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert __import__("re").search(message, lines[0]), lines[0]
    assert not out.exists() and not pipeline.sidecar_path(out).exists()
    if case == "corrupt cache":  # --rebuild-cache recovers
        rebuilt = _invoke(
            "calibrate",
            model,
            "--precision",
            "int8",
            "--data",
            data,
            "-o",
            out,
            "--tiles",
            6,
            "--tile",
            32,
            "--cache-dir",
            cache,
            "--no-report",
            "--quiet",
            "--rebuild-cache",
        )
        assert rebuilt.exit_code == 0 and out.is_file()


def test_an_interrupted_calibration_leaves_no_output(portable_model, dataset, tmp_path):
    def interrupt(stage, done, total):
        if stage == "score":
            raise KeyboardInterrupt  # Ctrl-C while the finished graph is being scored

    out = tmp_path / "out.onnx"
    with pytest.raises(KeyboardInterrupt):
        calibrate(_request(portable_model, dataset, out, use_cache=False), progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.iterdir())
