"""`comix train` and `comix eval` end to end through the CLI, on a small synthetic scene in GeoTIFF files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from comix.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene") / "houston"
    result = runner.invoke(
        app, ["data", "make-scene", str(folder), "--height", "64", "--width", "96", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    return folder / "dataset.yaml"


def test_train_then_eval(dataset, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            str(dataset),
            "-o",
            str(run),
            "--steps",
            "2",
            "--tile",
            "32",
            "--batch-size",
            "2",
            "--eval-every",
            "2",
            "--warmup-steps",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "held-out OA" in result.output
    for name in (
        "model.safetensors",
        "config.json",
        "train_state.safetensors",
        "history.json",
        "training_curves.png",
    ):
        assert (run / name).is_file(), name
    result = runner.invoke(
        app, ["eval", str(run), str(dataset), "-o", str(tmp_path / "eval"), "--tile", "64"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["split"] == "test" and 0.0 <= metrics["overall_accuracy"] <= 1.0
    assert (tmp_path / "eval" / "prediction.png").is_file() and (
        tmp_path / "eval" / "confusion.png"
    ).is_file()


def test_train_unknown_variant_suggests_closest(dataset, tmp_path):
    result = runner.invoke(
        app, ["train", str(dataset), "-o", str(tmp_path), "--variant", "comix_tt", "--steps", "2"]
    )
    assert result.exit_code == 2
    assert "Did you mean 'comix_t'?" in result.output


def test_train_missing_dataset_is_one_clear_line(tmp_path):
    result = runner.invoke(
        app, ["train", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "run"), "--steps", "2"]
    )
    assert result.exit_code == 2
    assert "nope.yaml" in result.output and "Traceback" not in result.output


def test_eval_rejects_an_unknown_split(dataset, tmp_path):
    result = runner.invoke(app, ["eval", str(tmp_path), str(dataset), "--split", "validation"])
    assert result.exit_code == 2
    assert "--split: got 'validation', expected one of ['test', 'train', 'all']" in result.output


def test_warmup_longer_than_training_is_refused(dataset, tmp_path):
    result = runner.invoke(
        app,
        ["train", str(dataset), "-o", str(tmp_path / "run"), "--steps", "2", "--warmup-steps", "5"],
    )
    assert result.exit_code == 2
    assert "warmup_steps: got 5, expected 0 <= warmup_steps < steps=2" in result.output
