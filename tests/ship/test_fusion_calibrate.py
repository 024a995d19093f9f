"""``comix calibrate`` for SHIP fusion graphs: the precision rules (by inspecting graphs),
stratified crops, the image-quality report against independent scoring, the task refusals, and both
tasks end to end (slow)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "calibration"))
from calibration_helpers import write_dataset
from fusion_calibration_helpers import (
    LAYERNORM,
    SPECTRAL,
    export_tiny_ship,
    overflowing_chain,
    spectral_layernorm_graph,
)
from typer.testing import CliRunner

from comix.calibration.fp16 import convert_fp16, fp32_nodes
from comix.calibration.lint import lint_graph
from comix.calibration.pipeline import CalibrationRequest, calibrate, sidecar_path
from comix.calibration.statistics import ActivationStatistics
from comix.cli.app import app
from comix.metadata import ModelRecord
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.ort_backend import OnnxRuntimeBackend
from comix.ship.calibration.accuracy import fusion_accuracy_report
from comix.ship.calibration.rules import (
    FP16_GROUPS,
    fragile_groups,
    fusion_fp32_nodes,
    fusion_int8_exclusions,
    layernorm_nodes,
    spectral_nodes,
)
from comix.ship.calibration.tiles import fusion_calibration_tiles, stratum_coverage
from comix.ship.data.make import FusionDataPlan, make_fusion_data
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.train.evaluate import score_fusion

# which way each metric improves, written here independently of comix.ship.quality's tables
UP = {
    "psnr": True,
    "ssim": True,
    "sam": False,
    "ergas": False,
    "q2n": True,
    "en": True,
    "sd": True,
    "mi": True,
    "vif": True,
    "qabf": True,
}


@pytest.fixture(scope="module")
def fusion_data(tmp_path_factory):
    """Synthetic fusion data of both tasks at the smallest size (a few seconds)."""
    folder = tmp_path_factory.mktemp("fusion_data")
    return {
        task: make_fusion_data(
            folder / task, FusionDataPlan(task=task, size=64, train_scenes=1, test_scenes=1)
        )
        for task in ("pansharpen", "irvis")
    }


# ---------------------------------------------------------------- precision rules on a hand-built graph


def test_the_fragile_parts_are_found_by_structure():
    model = spectral_layernorm_graph()
    assert (
        spectral_nodes(model) == SPECTRAL
    )  # transforms and the product between them, not the LayerNorm after
    assert layernorm_nodes(model) == LAYERNORM
    groups = fragile_groups(model)
    assert (
        groups["exp"] == ["coupling_exp"]
        and groups["softmax"] == ["softmax"]
        and groups["division"] == ["ln_div"]
    )
    assert groups["output"] == ["residual"]
    assert fusion_int8_exclusions(model).keys() == {"fwd_ms", "fwd_pan", "inverse"}  # MatMuls only
    kept = fusion_fp32_nodes(model)  # the default rule: Fourier product and LayerNorm statistics
    assert set(kept) == set(SPECTRAL + LAYERNORM)
    assert kept["product"] == FP16_GROUPS["fourier"] and kept["ln_sqrt"] == FP16_GROUPS["layernorm"]
    everything = fusion_fp32_nodes(model, tuple(FP16_GROUPS))
    assert set(everything) == set(SPECTRAL + LAYERNORM + ["coupling_exp", "residual"])


def test_fp16_fusion_graph_keeps_the_rule_in_fp32():
    model = spectral_layernorm_graph()
    keep = fp32_nodes(model, None, fusion_fp32_nodes(model))
    graph, kept = convert_fp16(model, keep)
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in onnx.shape_inference.infer_shapes(graph).graph.value_info
    }
    by_name = {n.name: n for n in graph.graph.node}
    for name in SPECTRAL + LAYERNORM + ["softmax"]:
        for tensor in (*by_name[name].input, *by_name[name].output):
            if tensor in types:
                assert types[tensor] == onnx.TensorProto.FLOAT, (name, tensor)
    assert types["detail"] == onnx.TensorProto.FLOAT16  # a Conv outside the rule is FP16
    assert {k["node"] for k in kept} >= set(SPECTRAL + LAYERNORM)


def test_kept_fp32_chains_do_not_round_trip_through_fp16():
    model = overflowing_chain()
    graph, _ = convert_fp16(model, {"up1": "test", "up2": "test", "down": "test"})
    casts = [n for n in graph.graph.node if n.op_type == "Cast"]
    made_by = {o: n for n in graph.graph.node for o in n.output}
    for node in (n for n in graph.graph.node if n.name in ("up2", "down")):
        assert made_by[node.input[0]].op_type != "Cast", (
            node.name
        )  # reads its FP32 producer directly
    x = np.random.default_rng(0).uniform(0.5, 2.0, (1, 2, 4, 4)).astype(np.float32)
    y = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x, "g": np.zeros((1, 1, 4, 4), np.float32)}
    )[0]
    # 9e4 * x would be inf in FP16 storage; kept FP32, only the final FP16 Relu rounds (11-bit mantissa)
    np.testing.assert_allclose(y, x, rtol=2**-10)
    assert len(casts) <= 2
    # the TensorRT lint's FP16 range rule sees no FP16 tensor above 65 504
    # (no stale FP16 types of removed casts)
    peaks = {"x": 2.0, "a": 600.0, "b": 1.8e5, "c": 2.0, "y": 2.0}
    statistics = ActivationStatistics("max", True, 100.0, 1, dict.fromkeys(peaks, 0.0), peaks)
    assert lint_graph(graph, statistics).passed
    unkept, _ = convert_fp16(model, {})
    assert not lint_graph(unkept, statistics).passed  # the rule does fire when 'b' is FP16


def test_int8_fusion_graph_quantises_no_fragile_op_and_no_fourier_matmul(fusion_data, tmp_path):
    model = spectral_layernorm_graph()
    path = tmp_path / "toy.onnx"
    onnx.save(model, str(path))
    data = _toy_pansharpen_h5(tmp_path)
    result = calibrate(
        CalibrationRequest(
            model=path,
            precision="int8",
            dataset=data,
            output=tmp_path / "toy.int8.onnx",
            tiles=4,
            report=False,
            use_cache=False,
        )
    )
    graph = onnx.load(str(result.output))
    made_by = {o: n for n in graph.graph.node for o in n.output}
    for node in graph.graph.node:
        if node.name in SPECTRAL + LAYERNORM + ["softmax", "coupling_exp"]:
            sources = [made_by[i].op_type for i in node.input if i in made_by]
            assert "DequantizeLinear" not in sources, (node.name, sources)
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    assert all(made_by[n.input[0]].op_type == "DequantizeLinear" for n in convs)  # the rest is INT8
    reasons = {k["node"]: k["reason"] for k in result.recipe.kept_float}
    assert set(reasons) == {"fwd_ms", "fwd_pan", "inverse"} and reasons["inverse"].startswith(
        "Fourier product"
    )
    assert (
        result.recipe.options["task"] == "fusion-pansharpen"
        and result.recipe.options["budget_metric"] == "psnr"
    )


def _toy_pansharpen_h5(folder):
    from comix.ship.data.pancollection import write_pancollection

    rng = np.random.default_rng(1)
    gt = rng.uniform(100, 1500, (2, 4, 8, 8))
    ms = gt[:, :, ::4, ::4]
    pan = gt.mean(axis=1, keepdims=True)
    return write_pancollection(folder / "toy.h5", PansharpenSet(ms, pan, gt=gt, data_range=2047.0))


# ---------------------------------------------------------------- crops and report


def test_crops_are_stratified_deterministic_and_read_only_inputs(fusion_data):
    from comix.ship.data.loading import load_fusion_data

    data = load_fusion_data(fusion_data["irvis"]["train"])
    tiles = fusion_calibration_tiles(data, 8, 16, seed=3)
    again = fusion_calibration_tiles(data, 8, 16, seed=3)
    assert tiles.sha256() == again.sha256() and len(tiles) == 8 and tiles.tile_size == [16, 16]
    coverage = stratum_coverage(tiles)
    assert len(coverage) == len(set(tiles.strata)) and min(coverage.values()) >= 1
    assert len(coverage) >= 3  # every stratum present in the data appears with 8 >= 4 crops
    for crop, (top, left), n in zip(
        tiles.x, tiles.corners, tiles.samples
    ):  # crops are the infrared at the corner
        np.testing.assert_array_equal(crop, data.infrared[n][:, top : top + 16, left : left + 16])
    one = PansharpenSet(np.ones((1, 4, 4, 4)), np.ones((1, 1, 16, 16)), gt=np.ones((1, 4, 16, 16)))
    assert len(fusion_calibration_tiles(one, 32, 16)) == 1  # no duplicates of the only crop


class ShiftBackend(Backend):
    """Returns the visible image plus ``offset`` (a known error) as the fused image."""

    name = "shift"

    def __init__(self, offset: float):
        self.offset = offset
        self.info = ModelIO(
            bands=3, x_channels=1, classes=3, task="fusion-irvis", name=f"shift{offset}"
        )

    def run(self, primary, guide):
        return (primary + self.offset).astype(np.float32)


def test_report_deltas_and_fidelity_equal_an_independent_computation():
    rng = np.random.default_rng(2)
    visible = [rng.uniform(0.1, 0.8, (3, 24, 20)).astype(np.float32)]
    data = IrVisSet(visible, [rng.uniform(0, 1, (1, 24, 20)).astype(np.float32)])
    report = fusion_accuracy_report(
        {"fp32": ShiftBackend(0.0), "int8": ShiftBackend(0.05)}, data, "ssim", tile=16, overlap=4
    )
    fp32 = score_fusion(ShiftBackend(0.0), data, tile=16, overlap=4).metrics
    int8 = score_fusion(ShiftBackend(0.05), data, tile=16, overlap=4).metrics
    graph = report.graph("int8")
    for metric in fp32:
        expected = (fp32[metric] - int8[metric]) if UP[metric] else (int8[metric] - fp32[metric])
        assert graph.deltas[metric]["loss"] == pytest.approx(expected, abs=1e-12)
    # a constant offset of 0.05 (data range 1): PSNR = 20 log10(1 / 0.05), max |Δ| = 0.05
    assert graph.fidelity["psnr_db"] == pytest.approx(20 * math.log10(1 / 0.05), abs=1e-4)
    assert graph.fidelity["max_abs"] == pytest.approx(0.05, abs=1e-6)
    assert report.graph("fp32").deltas == {} and report.pixels == 24 * 20


# ---------------------------------------------------------------- refusals


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_data_of_the_wrong_task_is_one_sentence_exit_2_and_nothing_written(fusion_data, tmp_path):
    pansharpen = tmp_path / "pan.onnx"
    onnx.save(spectral_layernorm_graph(), str(pansharpen))
    irvis = tmp_path / "irvis.onnx"
    onnx.save(spectral_layernorm_graph(task="fusion-irvis"), str(irvis))
    segmentation = tmp_path / "seg.onnx"
    model = spectral_layernorm_graph()
    ModelRecord(model_name="seg", class_names=["a", "b"]).write_onnx(model)
    onnx.save(model, str(segmentation))
    scene = write_dataset(tmp_path / "scene")
    h5, pairs = fusion_data["pansharpen"]["test"], fusion_data["irvis"]["test"]
    cases = [
        (
            pansharpen,
            scene,
            [],
            "got a scene description (dataset YAML), but a SHIP pan-sharpening model calibrates "
            "on pan-sharpening data (a PanCollection .h5)",
        ),
        (pansharpen, pairs, [], "got infrared-visible pairs"),
        (
            irvis,
            h5,
            [],
            "got pan-sharpening data (a PanCollection .h5), but a SHIP infrared-visible fusion model",
        ),
        (segmentation, h5, [], "but a CoMiX segmentation model calibrates on a scene description"),
        (
            segmentation,
            scene,
            ["--budget-metric", "psnr"],
            "--budget-metric: got 'psnr', expected 'mean_iou'",
        ),
        (
            pansharpen,
            h5,
            ["--budget-metric", "qnr"],
            "--budget-metric: got 'qnr', expected one of ['psnr'",
        ),
        (pansharpen, h5, ["--calibration-data", pairs], "--calibration-data"),
    ]
    for model_path, data, extra, message in cases:
        out = tmp_path / "out.onnx"
        result = _invoke(
            "calibrate",
            model_path,
            "--precision",
            "int8",
            "--data",
            data,
            "-o",
            out,
            "--quiet",
            "--no-cache",
            *extra,
        )
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2, (message, result.output)
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
        assert not out.exists() and not sidecar_path(out).exists()


# ---------------------------------------------------------------- both tasks end to end on tiny SHIP exports


@pytest.fixture(scope="module")
def tiny_exports(tmp_path_factory):
    """Tiny SHIP graphs (fixed seed, random weights): pan-sharpening with ONNX DFT, IR-VIS DFT-free,
    both 16 x 16."""
    folder = tmp_path_factory.mktemp("tiny_ship")
    return {
        "pansharpen": export_tiny_ship(folder, "ship_pansharpen", "dft", 16),
        "irvis": export_tiny_ship(folder, "ship_irvis", "matrix", 16),
    }


@pytest.mark.slow  # two tiny SHIP exports (~1 min on 2 shared cores) and four calibrations
@pytest.mark.parametrize("task", ["pansharpen", "irvis"])
def test_fp16_and_int8_report_their_metric_loss_against_fp32(
    task, tiny_exports, fusion_data, tmp_path
):
    model = tiny_exports[task]
    data = fusion_data[task]["test"]
    fp32_scores = score_fusion(OnnxRuntimeBackend(model, threads=1), _load(data))
    for precision in ("fp16", "int8"):
        out = tmp_path / f"ship.{precision}.onnx"
        result = calibrate(
            CalibrationRequest(
                model=model,
                precision=precision,
                dataset=data,
                output=out,
                tiles=6,
                cache_dir=tmp_path / "cache",
            )
        )
        assert result.lint.passed, result.lint.findings
        report = json.loads((tmp_path / f"ship.{precision}.accuracy.json").read_text())
        reduced_scores = score_fusion(OnnxRuntimeBackend(out, threads=1), _load(data)).metrics
        graph = report["graphs"][1]
        assert graph["name"] == precision and report["task"] == f"fusion-{task}"
        for metric, value in fp32_scores.metrics.items():
            assert report["graphs"][0]["metrics"][metric] == pytest.approx(value, abs=1e-9)
            assert graph["metrics"][metric] == pytest.approx(reduced_scores[metric], abs=1e-9)
            expected = (
                value - reduced_scores[metric] if UP[metric] else reduced_scores[metric] - value
            )
            assert graph["deltas"][metric]["loss"] == pytest.approx(expected, abs=1e-9)
        assert graph["fidelity"]["psnr_db"] > (60 if precision == "fp16" else 30)
        assert (tmp_path / f"ship.{precision}.accuracy.md").read_text().count("|") > 20
        assert (tmp_path / f"ship.{precision}.accuracy.png").stat().st_size > 0
        sidecar = json.loads(result.sidecar.read_text())
        assert sidecar["task"] == f"fusion-{task}" and sidecar["calibration_tiles"]["strata"]
        graph_proto = onnx.load(str(out))
        record = ModelRecord.read_onnx(graph_proto)
        assert record.task == f"fusion-{task}" and record.precision["precision"] == precision
        reasons = {k["reason"] for k in record.precision["kept_float"]}
        fourier = set(spectral_nodes(onnx.load(str(model))))
        assert (
            fourier
        )  # DFT nodes (pan-sharpening export) or cos/sin MatMuls (IR-VIS export) were found
        if (
            precision == "int8"
        ):  # no Fourier node reads a dequantised tensor; its MatMuls are listed as kept
            made_by = {o: n for n in graph_proto.graph.node for o in n.output}
            for node in (n for n in graph_proto.graph.node if n.name in fourier):
                assert all(
                    made_by[i].op_type != "DequantizeLinear" for i in node.input if i in made_by
                ), node.name
            assert any(r.startswith("Fourier product") for r in reasons) == (task == "irvis")
        else:
            assert any(r.startswith("Fourier product") for r in reasons)
            assert any(r.startswith("LayerNorm statistics") for r in reasons)
            types = {
                v.name: v.type.tensor_type.elem_type
                for v in onnx.shape_inference.infer_shapes(graph_proto).graph.value_info
            }
            for node in (n for n in graph_proto.graph.node if n.name in fourier):
                assert all(types.get(o, 1) == onnx.TensorProto.FLOAT for o in node.output), (
                    node.name
                )


@pytest.mark.slow
def test_cli_max_drop_in_the_budget_metric_and_fusion_eval_of_the_int8_graph(
    tiny_exports, fusion_data, tmp_path
):
    out = tmp_path / "ship.int8.onnx"
    data = fusion_data["irvis"]["test"]
    result = _invoke(
        "calibrate",
        tiny_exports["irvis"],
        "--precision",
        "int8",
        "--data",
        data,
        "-o",
        out,
        "--tiles",
        4,
        "--max-drop",
        0.0,
        "--budget-metric",
        "qabf",
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    fallback = json.loads(sidecar_path(out).read_text())["fallback"]
    assert fallback["metric"] == "qabf" and fallback["met"] and fallback["steps"][-1]["loss"] <= 0.0
    assert fallback["steps"][0]["excluded"] == 0
    report = json.loads((tmp_path / "ship.int8.accuracy.json").read_text())
    assert report["budget_metric"] == "qabf"
    assert report["graphs"][1]["deltas"]["qabf"]["loss"] == pytest.approx(
        fallback["steps"][-1]["loss"], abs=1e-9
    )
    scored = _invoke(
        "fusion", "eval", out, data, "-o", tmp_path / "eval", "--no-baselines", "--threads", 1
    )
    assert scored.exit_code == 0, scored.output
    methods = json.loads((tmp_path / "eval" / "metrics.json").read_text())["methods"]
    assert next(iter(methods.values()))["qabf"] == pytest.approx(
        report["graphs"][1]["metrics"]["qabf"], abs=1e-9
    )


def _load(path):
    from comix.ship.data.loading import load_fusion_data

    return load_fusion_data(path, 2047.0)
