"""The accuracy report against hand-computed scores (backends that return known logits)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from calibration_helpers import make_scene

from comix.calibration.accuracy import accuracy_report, format_table, write_accuracy_report
from comix.runtime.backend import Backend, ModelIO


class OracleBackend(Backend):
    """Logits that put class ``labels`` first everywhere, with a fixed perturbation pattern."""

    name = "oracle"

    def __init__(
        self, labels: np.ndarray, classes: int, flip: np.ndarray | None = None, noise: float = 0.0
    ):
        self.labels, self.flip, self.noise = labels, flip, noise
        self.info = ModelIO(bands=None, x_channels=None, classes=classes)

    def run(
        self, hsi, x
    ):  # tiles are taken where the scene's positions are encoded in the HSI values
        rows = hsi[:, 0].astype(int)
        cols = hsi[:, 1].astype(int)
        labels = self.labels[rows, cols]
        if self.flip is not None:
            labels = np.where(self.flip[rows, cols], labels % self.info.classes + 1, labels)
        logits = np.zeros((hsi.shape[0], self.info.classes, *hsi.shape[2:]), np.float32)
        np.put_along_axis(logits, (labels - 1)[:, None], 5.0, axis=1)
        return logits + self.noise


def test_deltas_agreement_and_logit_errors_are_what_was_put_in(tmp_path):
    scene = make_scene()
    rows, cols = np.mgrid[0 : scene.height, 0 : scene.width]
    scene.hsi = np.zeros_like(scene.hsi)
    scene.hsi[0], scene.hsi[1] = rows, cols  # the oracle reads positions from here
    truth = np.where(scene.labels > 0, scene.labels, 1)
    flip = np.zeros_like(truth, bool)
    flip[::3, :] = True  # a third of the rows predicted as the next class
    report = accuracy_report(
        {"fp32": OracleBackend(truth, 4), "int8": OracleBackend(truth, 4, flip, noise=0.25)},
        scene,
        tile=16,
        overlap=4,
    )
    fp32, int8 = report.graphs
    assert (
        fp32.overall_accuracy == 1.0
        and fp32.mean_iou == 1.0
        and fp32.delta_points["mean_iou"] == 0.0
    )
    held_out = scene.test_mask
    expected_agreement = 1.0 - flip[held_out].mean()
    assert int8.argmax_agreement_scored == pytest.approx(expected_agreement)
    assert int8.overall_accuracy == pytest.approx(expected_agreement)
    assert int8.delta_points["overall_accuracy"] == pytest.approx(
        100.0 * (expected_agreement - 1.0)
    )
    # a flipped pixel: one logit gains 5 (|5.25|), one loses it (|0.25 - 5|), two keep the 0.25 offset
    flipped = flip[held_out].mean()
    assert int8.logit_error["mean_abs"] == pytest.approx(
        0.25 * (1 - flipped) + flipped * (5.25 + 4.75 + 0.5) / 4, rel=1e-5
    )
    assert int8.logit_error["max_abs"] == pytest.approx(5.25, rel=1e-6)
    table = format_table(report)
    assert "| int8 |" in table and "rare_metal" in table
    paths = write_accuracy_report(report, tmp_path / "model.int8.accuracy")
    assert [p.suffix for p in paths] == [".json", ".md", ".png"] and all(
        p.stat().st_size > 0 for p in paths
    )
    assert json.loads(paths[0].read_text())["graphs"][1]["name"] == "int8"
