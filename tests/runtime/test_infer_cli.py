"""``comix infer`` end to end (GeoTIFF in, georeferenced GeoTIFF + npy + png + json out) and its bad inputs:
each a one-sentence error, exit code 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_helpers import BANDS, CLASSES, make_scene
from typer.testing import CliRunner

from comix.cli.app import app
from comix.data.georef import GeoRef
from comix.data.geotiff_io import read_geotiff, write_geotiff

GEOREF = GeoRef.from_origin(271000.0, 3290000.0, 2.5, 2.5, crs="EPSG:32615")


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


@pytest.fixture()
def scene_files(tmp_path):
    hsi, x = make_scene(37, 50, seed=4)
    write_geotiff(tmp_path / "hsi.tif", hsi, georef=GEOREF)
    write_geotiff(tmp_path / "dsm.tif", x, georef=GEOREF)
    return tmp_path / "hsi.tif", tmp_path / "dsm.tif"


def test_infer_writes_georeferenced_classes_png_json_and_probabilities(
    portable_onnx, scene_files, tmp_path
):
    hsi, x = scene_files
    out = tmp_path / "out"
    out.mkdir()
    result = _invoke(
        "infer",
        portable_onnx,
        "--hsi",
        hsi,
        "--x",
        x,
        "-o",
        out / "seg.tif",
        "--tile",
        24,
        "--overlap",
        8,
        "--batch",
        3,
        "--probabilities",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["seg.json", "seg.npy", "seg.png", "seg.probabilities.tif", "seg.tif"]
    classes, georef, _ = read_geotiff(out / "seg.tif")
    assert georef.crs == "EPSG:32615" and georef.transform == pytest.approx(GEOREF.transform)
    npy = np.load(out / "seg.npy")
    assert npy.shape == (37, 50) and np.array_equal(classes[0], npy)
    assert npy.min() >= 1 and npy.max() <= CLASSES
    probs, _, _ = read_geotiff(out / "seg.probabilities.tif")
    assert probs.shape == (CLASSES, 37, 50)
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    summary = json.loads((out / "seg.json").read_text())
    assert sum(c["pixels"] for c in summary["classes"]) == 37 * 50
    assert summary["classes"][0]["area_map_units2"] == pytest.approx(
        summary["classes"][0]["pixels"] * 6.25
    )
    assert (
        summary["backend"] == "onnxruntime"
        and summary["tiles"] == 6
        and "inference_seconds" in summary["timing"]
    )


def _assert_clean_failure(result, folder, *fragments):
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, text
    assert "Traceback" not in text
    assert not [
        p for p in folder.iterdir() if p.name.startswith("seg") or p.name.startswith(".seg")
    ]


def test_band_count_mismatch(portable_onnx, tmp_path):
    hsi, x = make_scene(20, 20)
    write_geotiff(tmp_path / "hsi.tif", hsi[:-1])
    write_geotiff(tmp_path / "dsm.tif", x)
    result = _invoke(
        "infer",
        portable_onnx,
        "--hsi",
        tmp_path / "hsi.tif",
        "--x",
        tmp_path / "dsm.tif",
        "-o",
        tmp_path / "seg.tif",
        "--quiet",
    )
    _assert_clean_failure(result, tmp_path, f"got {BANDS - 1} bands, expected {BANDS}")


def test_truncated_model(portable_onnx, scene_files, tmp_path):
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(portable_onnx.read_bytes()[:3000])
    hsi, x = scene_files
    result = _invoke("infer", bad, "--hsi", hsi, "--x", x, "-o", tmp_path / "seg.tif", "--quiet")
    _assert_clean_failure(result, tmp_path, "could not be read as ONNX")


def test_missing_custom_op_library_for_the_canonical_graph(
    canonical_onnx, scene_files, tmp_path, monkeypatch
):
    monkeypatch.setenv("COMIX_ORT_LIBRARY", str(tmp_path / "absent.so"))
    hsi, x = scene_files
    result = _invoke(
        "infer", canonical_onnx, "--hsi", hsi, "--x", x, "-o", tmp_path / "seg.tif", "--quiet"
    )
    _assert_clean_failure(
        result, tmp_path, "custom-op library was not found", "plugins/build.py", "--portable"
    )


def test_output_in_a_missing_folder(portable_onnx, scene_files, tmp_path):
    hsi, x = scene_files
    result = _invoke(
        "infer",
        portable_onnx,
        "--hsi",
        hsi,
        "--x",
        x,
        "-o",
        tmp_path / "nope" / "seg.tif",
        "--quiet",
    )
    _assert_clean_failure(result, tmp_path, "does not exist, expected an existing folder")
    assert not (tmp_path / "nope").exists()


def test_export_cli_bad_inputs_are_one_sentence_errors(tmp_path):
    result = _invoke("export", tmp_path / "no-checkpoint", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "no such file or folder" in " ".join(result.output.split())
    (tmp_path / "ckpt").mkdir()
    result = _invoke("export", tmp_path / "ckpt", "-o", tmp_path / "missing" / "m.onnx")
    assert result.exit_code == 2 and "does not exist, expected an existing folder" in " ".join(
        result.output.split()
    )
    result = _invoke("export", tmp_path / "ckpt", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "config.json" in " ".join(result.output.split())
    assert not list(tmp_path.glob("*.onnx*"))


def test_infer_with_the_pytorch_backend_from_a_comix_checkpoint(tmp_path):
    import torch

    from comix.model import build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model("comix_t", bands=BANDS, x_channels=1, classes=3)
    save_checkpoint(
        model, tmp_path / "ckpt", variant="comix_t", class_names=["soil", "grass", "roof"]
    )
    hsi, x = make_scene(40, 30, seed=5)
    np.save(tmp_path / "hsi.npy", np.moveaxis(hsi, 0, -1))  # .npy is read as (H, W, C) by default
    np.save(tmp_path / "x.npy", np.moveaxis(x, 0, -1))
    result = _invoke(
        "infer",
        tmp_path / "ckpt",
        "--hsi",
        tmp_path / "hsi.npy",
        "--x",
        tmp_path / "x.npy",
        "-o",
        tmp_path / "seg.npy",
        "--tile",
        32,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "seg.json").read_text())
    assert summary["backend"] == "torch" and [c["name"] for c in summary["classes"]] == [
        "soil",
        "grass",
        "roof",
    ]
    assert np.load(tmp_path / "seg.npy").shape == (40, 30) and (tmp_path / "seg.png").is_file()
    assert not (tmp_path / "seg.tif").exists()
