"""Many scenes: lists from folders, globs and manifests; products per scene; a bad scene reported and the
run going on; resume (complete scenes skipped, interrupted or changed ones redone); the run summary."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from archive_helpers import CORRUPT, write_archive
from typer.testing import CliRunner

from comix.archive import ArchiveOptions, SceneListError, list_scenes, marker_path, run_archive
from comix.archive.markers import RunLocked, run_lock
from comix.cli.app import app
from comix.data.synthetic import make_scene_folder

GOOD = ["s0", "s1", "s3", "s4"]


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


def test_scene_lists_from_folder_glob_csv_yaml_and_descriptions(tmp_path):
    manifest = write_archive(tmp_path / "a", count=3)
    names = ["s0", "s1", "s2"]
    assert [s.name for s in list_scenes(manifest)] == names
    assert [s.name for s in list_scenes(tmp_path / "a")] == names
    assert [s.name for s in list_scenes(str(tmp_path / "a" / "*_hsi.tif"))] == names
    (tmp_path / "m.yaml").write_text(
        "scenes:\n  - {name: one, hsi: a/s0_hsi.tif, x: [a/s0_x.tif], nodata: -9999}\n"
    )
    spec = list_scenes(tmp_path / "m.yaml")[0]
    assert (
        spec.name == "one"
        and spec.nodata == -9999
        and spec.x[0].path == str(tmp_path / "a" / "s0_x.tif")
    )
    make_scene_folder(tmp_path / "b" / "city", height=32, width=32, fmt="envi")
    described = list_scenes(tmp_path / "b")
    assert len(described) == 1 and described[0].hsi.path.endswith("hsi.img.hdr")


@pytest.mark.parametrize(
    "content,message",
    [
        ("name,hsi\na,b.tif\n", "expected 'hsi' and 'x'"),
        ("name,hsi,x\na,a.tif,b.tif\na,c.tif,d.tif\n", "appear more than once"),
        ("name,hsi,x\n", "got no scenes"),
    ],
)
def test_bad_manifests_are_one_sentence(tmp_path, content, message):
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(SceneListError, match=message):
        list_scenes(tmp_path / "m.csv")


def test_a_bad_scene_is_reported_and_the_run_goes_on_then_resumes(tiny_onnx, archive, tmp_path):
    out = tmp_path / "out"
    result = _invoke(
        "infer", tiny_onnx, "--scenes", archive, "-o", out, "--tile", 24, "--overlap", 8, "--quiet"
    )
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"1 of 5 scenes failed: {CORRUPT}: " in text and "truncated or corrupt" in text
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["scenes"] == {"total": 5, "done": 4, "skipped": 0, "failed": 1, "pending": 0}
    assert [f["scene"] for f in summary["failures"]] == [CORRUPT]
    assert summary["pixels"]["total"] == sum((40 + 3 * i) * 52 for i in (0, 1, 3, 4))
    assert sum(summary["classes"].values()) == summary["pixels"]["total"]
    for name in GOOD:
        assert np.load(out / f"{name}.npy").shape == (40 + 3 * int(name[1]), 52)
        assert marker_path(out, name).is_file()
    assert not list(out.glob(f"{CORRUPT}*")) and not list(out.glob(".*.tif"))
    stamps = {name: marker_path(out, name).stat().st_mtime_ns for name in GOOD}
    # rerun: the finished scenes are skipped, the bad one is tried again (and fails again)
    result = _invoke(
        "infer", tiny_onnx, "--scenes", archive, "-o", out, "--tile", 24, "--overlap", 8, "--quiet"
    )
    assert result.exit_code == 1
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["scenes"]["skipped"] == 4 and summary["scenes"]["done"] == 0
    assert {name: marker_path(out, name).stat().st_mtime_ns for name in GOOD} == stamps


def test_interrupted_changed_and_incomplete_scenes_are_redone(tiny_onnx, archive, tmp_path):
    out = tmp_path / "out"
    options = ArchiveOptions(model=str(tiny_onnx), tile=24, overlap=8)
    scenes = [s for s in list_scenes(archive) if s.name != CORRUPT]
    run_archive(scenes, out, options)
    (out / ".s0.abcd1234.tif").write_bytes(b"left by a killed run")  # an interrupted write
    marker_path(out, "s1").unlink()  # products without a marker: not complete
    (out / "s3.png").write_bytes(b"x")  # a product changed since its marker
    os.utime(scenes[3].hsi.path, ns=(1, 1))  # an input changed since
    summary = run_archive(scenes, out, options)
    status = {r["scene"]: r["status"] for r in summary["per_scene"]}
    assert status == {"s0": "skipped", "s1": "done", "s3": "done", "s4": "done"}
    assert not (out / ".s0.abcd1234.tif").exists()
    summary = run_archive(scenes, out, ArchiveOptions(model=str(tiny_onnx), tile=24, overlap=4))
    assert summary["scenes"]["done"] == 4, "other settings: other products"


def test_fail_fast_stops_at_the_bad_scene(tiny_onnx, archive, tmp_path):
    scenes = list_scenes(archive)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        run_archive(
            scenes,
            tmp_path / "out",
            ArchiveOptions(model=str(tiny_onnx), tile=24, overlap=8, fail_fast=True),
        )
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["scenes"]["done"] == 2 and summary["scenes"]["pending"] == 3


def test_one_run_per_output_folder(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(RunLocked, match="another comix infer run"):
            with run_lock(tmp_path):
                pass


def test_cli_refuses_mixed_and_missing_scene_options(tiny_onnx, archive, tmp_path):
    result = _invoke(
        "infer", tiny_onnx, "--scenes", archive, "--hsi", "a.tif", "-o", tmp_path / "o"
    )
    assert result.exit_code == 2 and "expected either one scene" in " ".join(result.output.split())
    result = _invoke("infer", tiny_onnx, "--hsi", "a.tif", "-o", tmp_path / "o.tif")
    assert result.exit_code == 2 and "expected --hsi and --x" in " ".join(result.output.split())
    result = _invoke("infer", tiny_onnx, "--scenes", tmp_path / "nothing", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "no such file or folder" in " ".join(result.output.split())
