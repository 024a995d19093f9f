"""`comix demo` end to end at a tiny size: every step runs and every promised artifact is written."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from comix.cli.app import app


@pytest.mark.slow
def test_demo_writes_the_whole_report(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "-o",
            str(out),
            "--height",
            "64",
            "--width",
            "96",
            "--steps",
            "2",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scene"]["bands"] == 144 and summary["training"]["steps"] == 2
    assert 0.0 <= summary["evaluation"]["overall_accuracy"] <= 1.0
    assert summary["inference"]["onnxruntime_vs_torch_agreement"] == 1.0
    assert summary["export"]["validation"]["parity"] == "passed"
    validation = json.loads((out / "model.onnx.validation.json").read_text())
    assert (
        validation["checker"] == validation["parity"] == "passed"
        and validation["max_abs_error"] <= 1e-4
    )
    for name in (
        "report.md",
        "scene/dataset.yaml",
        "checkpoint/model.safetensors",
        "checkpoint/training_curves.png",
        "eval/metrics.json",
        "eval/prediction.png",
        "eval/confusion.png",
        "model.onnx",
        "infer/seg.tif",
        "infer/seg.png",
        "infer/seg.json",
        "profile/profile.json",
        "profile/profile.md",
        "profile/latency_histogram.png",
        "profile/parts.png",
    ):
        assert (out / name).is_file(), name
    for name in (
        "precision/model.fp16.onnx",
        "precision/model.int8.onnx",
        "precision/accuracy.json",
        "precision/accuracy.png",
        "precision/model.int8.onnx.calibration.json",
    ):
        assert (out / name).is_file(), name
    assert set(summary["precision"]["latency_one_tile_ms"]) == {"fp32", "fp16", "int8"}
    report = (out / "report.md").read_text()
    assert "FP16 and INT8 graphs" in report and "| int8 |" in report
    assert "Held-out accuracy" in report and "parity passed" in report
    assert summary["profile"]["p50_ms"] > 0 and "HSI branch" in summary["profile"]["parts_ms"]
    assert "## Latency profile" in report and "time per model part" in report
