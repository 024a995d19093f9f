"""`comix data make-scene` and `comix data inspect` through typer's test runner."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from comix.cli.data_cmd import app

runner = CliRunner()


def test_make_scene_then_inspect(tmp_path):
    out = tmp_path / "scene"
    result = runner.invoke(
        app,
        [
            "make-scene",
            str(out),
            "--preset",
            "trento_like",
            "--height",
            "40",
            "--width",
            "64",
            "--seed",
            "2",
            "--format",
            "mat",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "dataset.yaml").is_file() and (out / "hsi.mat").is_file()
    assert not (tmp_path / ".scene.partial").exists()
    result = runner.invoke(app, ["inspect", str(out / "dataset.yaml")])
    assert result.exit_code == 0, result.output
    assert "63 bands" in result.output and "Vineyard" in result.output


def test_make_scene_refuses_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["make-scene", str(tmp_path), "--height", "32", "--width", "32"])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_inspect_raster_and_errors(tmp_path):
    labels = np.zeros((4, 5), np.uint8)
    labels[0, :2] = 3
    np.savez(tmp_path / "gt.npz", gt=labels)
    result = runner.invoke(app, ["inspect", str(tmp_path / "gt.npz"), "--key", "gt"])
    assert result.exit_code == 0 and "value counts: 0:18 3:2" in result.output
    result = runner.invoke(app, ["inspect", str(tmp_path / "gt.npz"), "--key", "nope"])
    assert result.exit_code == 2
    assert "no key 'nope', expected one of the keys present: ['gt']" in result.output
    assert "Traceback" not in result.output


def test_make_scene_bad_options_leave_nothing(tmp_path):
    out = tmp_path / "scene"
    result = runner.invoke(app, ["make-scene", str(out), "--format", "mat", "--mat-version", "6"])
    assert (
        result.exit_code == 2
        and "got MAT version '6', expected one of ['5', '7.3']" in result.output
    )
    # fails inside the generator, after the staging folder was made: that folder is removed again
    result = runner.invoke(
        app,
        [
            "make-scene",
            str(out),
            "--height",
            "32",
            "--width",
            "32",
            "--spectral-source",
            "houston2013",
        ],
    )
    assert result.exit_code == 2 and "needs houston_folder" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
