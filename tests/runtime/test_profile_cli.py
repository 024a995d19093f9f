"""``comix profile`` end to end on the backends this machine has (ONNX Runtime, PyTorch), and its refusals:
one sentence, exit code 2, no report folder."""

from __future__ import annotations

import json

import pytest
from runtime_helpers import make_scene
from typer.testing import CliRunner

from comix.cli.app import app
from comix.data.georef import GeoRef
from comix.data.geotiff_io import write_geotiff
from comix.profile.parts import DCN_2D, DCN_3D

FAST = [
    "--warmup",
    "1",
    "--min-iterations",
    "2",
    "--max-iterations",
    "3",
    "--breakdown-runs",
    "1",
    "--quiet",
]


def _invoke(*args):
    return CliRunner().invoke(app, ["profile", *[str(a) for a in args]], env={"COLUMNS": "400"})


def test_onnx_sweep_writes_tables_json_and_plots(portable_onnx, tmp_path):
    out = tmp_path / "report"
    result = _invoke(
        portable_onnx,
        "--tile",
        "32",
        "--tile",
        "48x40",
        "--threads",
        "1",
        "--gsd",
        "2.5",
        "-o",
        out,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "latency_histogram.png",
        "parts.png",
        "profile.json",
        "profile.md",
        "sweep.png",
    ]
    document = json.loads((out / "profile.json").read_text())
    assert document["backend"] == "onnxruntime" and document["graph_kind"] == "portable"
    assert document["machine"]["cpu"]["model"] and document["machine"]["versions"]["onnxruntime"]
    first, second = document["configs"]
    assert first["tile"] == [32, 32] and second["tile"] == [48, 40] and first["threads"] == 1
    latency = first["latency"]
    assert (
        2 <= latency["iterations"] <= 3
        and latency["min_ms"] <= latency["p50_ms"] <= latency["max_ms"]
    )
    assert first["throughput"]["seconds_per_km2"] > 0 and first["memory"]["host_peak_mib"] > 0
    assert DCN_2D in first["parts_ms"] and first["layers"]
    assert first["macs_per_tile"] is None, "a stand-in network carries no CoMiX configuration"
    assert "Latency per call" in (out / "profile.md").read_text()
    assert "p99 ms" in result.output and "time per model part" in result.output


@pytest.fixture(scope="module")
def comix_checkpoint(tmp_path_factory):
    from comix.model import build_model, save_checkpoint

    model = build_model("comix_t", bands=6, x_channels=1, classes=4)
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "run", variant="comix_t")


def test_checkpoint_profile_counts_macs_and_groups_the_torch_profile(comix_checkpoint, tmp_path):
    hsi, x = make_scene(40, 44)
    georef = GeoRef.from_origin(271000.0, 3290000.0, 2.5, 2.5, crs="EPSG:32615")
    write_geotiff(tmp_path / "hsi.tif", hsi, georef=georef)
    write_geotiff(tmp_path / "x.tif", x, georef=georef)
    out = tmp_path / "report"
    result = _invoke(
        comix_checkpoint,
        "--tile",
        "32",
        "--threads",
        "1",
        "--hsi",
        tmp_path / "hsi.tif",
        "--x",
        tmp_path / "x.tif",
        "-o",
        out,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "profile.json").read_text())
    assert document["backend"] == "torch" and document["model_name"] == "comix_t"
    config = document["configs"][0]
    assert config["macs_per_tile"] > 0 and 0 < config["fraction_of_nominal_peak"] < 1
    assert {"HSI branch", "X branch", DCN_3D, DCN_2D, "CMFeX", "FFM", "decoder"} <= set(
        config["parts_ms"]
    )
    assert config["throughput"]["gsd_m"] == pytest.approx(2.5), "GSD from the scene's georeference"
    scene = document["scene"]
    assert (scene["height"], scene["width"]) == (40, 44) and scene["seconds_per_km2"] > 0


@pytest.mark.parametrize(
    "case",
    [
        "unknown backend",
        "tile below the minimum",
        "not a model",
        "tensorrt engine",
        "only --hsi",
        "missing model",
    ],
)
def test_refusals_are_one_sentence_and_exit_2(case, portable_onnx, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx at all")
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"serialized engine")
    args, fragment = {
        "unknown backend": (
            [portable_onnx, "--backend", "tflite"],
            "--backend: got 'tflite', expected one of",
        ),
        "tile below the minimum": (
            [portable_onnx, "--tile", "16"],
            "--tile: got 16, expected at least 32 x 32",
        ),
        "not a model": ([junk], "could not be read as ONNX"),
        "tensorrt engine": (
            [engine],
            "--backend tensorrt: cannot run here:",
        ),
        "only --hsi": ([portable_onnx, "--hsi", junk], "got only one of them, expected both"),
        "missing model": ([tmp_path / "nope.onnx"], "got no such file or folder"),
    }[case]
    out = tmp_path / "report"
    result = _invoke(*args, "-o", out, *FAST)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (
        result.output
    )
    assert not out.exists()
