"""``comix compare``: statistics on a worked example, Polygraphy's verdicts, NaN/Inf, and real comparisons in
ONNX Runtime — FP32 vs an INT8 Q/DQ graph (quantize_static) and the canonical vs the portable graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_helpers import BANDS, X_CHANNELS, make_scene
from typer.testing import CliRunner

from comix.cli.app import app
from comix.runtime import OnnxRuntimeBackend
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.compare import compare_backends, parse_tolerances
from comix.runtime.errors import RuntimeInputError
from comix.runtime.tiling import random_tiles


class Fixed(Backend):
    """A backend returning given logits (the comparison's arithmetic is what is tested)."""

    name = "fixed"

    def __init__(self, logits):
        self.logits = np.asarray(logits, dtype=np.float32)
        self.info = ModelIO(bands=1, x_channels=1, classes=self.logits.shape[1])

    def run(self, hsi, x):
        return self.logits[: hsi.shape[0]]


# logits (N=1, K=2, H=1, W=4); |A - B| per element, worked by hand below
A = [[[[0.0, 1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0, 0.5]]]]
B = [[[[0.1, 0.8, 2.0, 3.4]], [[1.0, 0.0, 1.5, 0.5]]]]
TILES = (np.zeros((1, 1, 1, 4), np.float32), np.zeros((1, 1, 1, 4), np.float32))


def test_statistics_match_the_worked_example():
    report = compare_backends(
        Fixed(A), Fixed(B), *TILES, atol={"logits": 0.5, "probabilities": 1.0}, min_agreement=0.0
    )
    logits = report.outputs[0]
    # |A - B| = [0.1, 0.2, 0, 0.4, 0, 0, 3.5, 0]: max 3.5, mean 4.2/8, median of 8 = (0 + 0.1) / 2
    assert logits.max_abs == pytest.approx(3.5, abs=1e-6)
    assert logits.mean_abs == pytest.approx(4.2 / 8, abs=1e-6)
    assert logits.median_abs == pytest.approx(0.05, abs=1e-6)
    # p99 (linear): sorted [0,0,0,0,0.1,0.2,0.4,3.5], position 0.99 * 7 = 6.93 -> 0.4 + 0.93 * 3.1
    assert logits.p99_abs == pytest.approx(0.4 + 0.93 * 3.1, abs=1e-5)
    assert logits.max_rel == pytest.approx(3.5 / 1.5, rel=1e-6)
    # classes per pixel: A [1, 0, 1, 0], B [1, 0, 0, 0] -> 3 of 4 agree
    assert (report.pixels, report.pixels_disagreeing, report.argmax_agreement) == (4, 1, 0.75)
    assert not logits.within_tolerance and not report.passed


def test_polygraphy_verdict_is_atol_plus_rtol_times_reference():
    close = [[[[0.0, 1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0, 0.5]]]]
    near = np.asarray(close) + 0.25
    for atol, rtol, expected in (
        (0.3, 0.0, True),
        (0.2, 0.0, False),
        (0.0, 0.25, False),
        (0.05, 0.1, False),
        (0.0, 1.0, False),
        (0.25, 0.0, True),
    ):
        report = compare_backends(
            Fixed(near),
            Fixed(close),
            *TILES,
            atol={"logits": atol},
            rtol={"logits": rtol},
            min_agreement=0.0,
        )
        # elementwise: every |a - b| = 0.25 <= atol + rtol * |b|; rtol alone fails where b = 0
        assert report.outputs[0].within_tolerance is expected, (atol, rtol)
    mean = compare_backends(
        Fixed(A), Fixed(B), *TILES, atol={"logits": 0.6}, error_stat="mean", min_agreement=0.0
    )
    assert mean.outputs[0].within_tolerance, "mean |Δ| 0.525 <= 0.6"


def test_nan_or_inf_fails_the_output_even_within_tolerance():
    broken = np.asarray(B, dtype=np.float32).copy()
    broken[0, 0, 0, 1] = np.nan
    report = compare_backends(
        Fixed(A),
        Fixed(broken),
        *TILES,
        atol={"logits": 10.0, "probabilities": 1.0},
        min_agreement=0.0,
    )
    logits = report.outputs[0]
    assert (
        (logits.nonfinite_a, logits.nonfinite_b) == (0, 1)
        and not logits.passed
        and not report.passed
    )


def test_tolerance_specs_and_tiles():
    assert parse_tolerances(["1e-2", "probabilities:1e-4"], "atol") == {
        "logits": 1e-2,
        "probabilities": 1e-4,
    }
    with pytest.raises(RuntimeInputError, match="expected one of"):
        parse_tolerances(["logit:1"], "atol")
    hsi, x = make_scene(20, 30)
    tiles_hsi, tiles_x = random_tiles(hsi, x, (16, 16), 5, seed=3)
    assert tiles_hsi.shape == (5, BANDS, 16, 16) and tiles_x.shape == (5, X_CHANNELS, 16, 16)
    again, _ = random_tiles(hsi, x, (16, 16), 5, seed=3)
    assert np.array_equal(again, tiles_hsi)
    small, _ = random_tiles(hsi[:, :8, :8], x[:, :8, :8], (16, 16), 1)
    assert small.shape == (1, BANDS, 16, 16)


@pytest.fixture(scope="module")
def int8_onnx(portable_onnx, tmp_path_factory):
    """The portable tiny graph quantized to INT8 Q/DQ by ONNX Runtime
    (symmetric int8, per-channel weights)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Tiles(CalibrationDataReader):
        def __init__(self):
            hsi, x = make_scene(64, 64, seed=5)
            tiles = random_tiles(hsi, x, (32, 32), 8, seed=1)
            self.feeds = iter(
                [{"hsi": tiles[0][i : i + 1], "x": tiles[1][i : i + 1]} for i in range(8)]
            )

        def get_next(self):
            return next(self.feeds, None)

    path = tmp_path_factory.mktemp("int8") / "tiny.int8.onnx"
    quantize_static(
        str(portable_onnx),
        str(path),
        Tiles(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return path


def test_fp32_vs_int8_in_onnx_runtime(portable_onnx, int8_onnx):
    hsi, x = make_scene(80, 96, seed=7)
    tiles = random_tiles(hsi, x, (32, 32), 6, seed=2)
    fp32, int8 = (
        OnnxRuntimeBackend(portable_onnx, threads=1),
        OnnxRuntimeBackend(int8_onnx, threads=1),
    )
    strict = compare_backends(int8, fp32, *tiles, atol={"logits": 1e-5}, rtol={"logits": 0.0})
    assert not strict.passed and strict.outputs[0].max_abs > 1e-5, "INT8 must differ from FP32"
    loose = compare_backends(
        int8, fp32, *tiles, atol={"logits": 1.0, "probabilities": 0.5}, min_agreement=0.5
    )
    assert loose.outputs[0].max_abs < 1.0 and loose.argmax_agreement > 0.5
    assert loose.outputs[0].nonfinite_a == 0


def _write_scene(folder):
    hsi, x = make_scene(70, 90, seed=11)
    np.save(folder / "hsi.npy", hsi.transpose(1, 2, 0))
    np.save(folder / "x.npy", x.transpose(1, 2, 0))
    return folder / "hsi.npy", folder / "x.npy"


def test_canonical_vs_portable_cli_passes_with_report_and_plot(
    canonical_onnx, portable_onnx, tmp_path
):
    hsi, x = _write_scene(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(canonical_onnx),
            str(portable_onnx),
            "--hsi",
            str(hsi),
            "--x",
            str(x),
            "--tiles",
            "4",
            "--tile",
            "32",
            "--threads",
            "1",
            "-o",
            str(tmp_path / "r.json"),
            "--plot",
            str(tmp_path / "r.png"),
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] and report["argmax_agreement"] == 1.0 and report["tiles"] == 4
    assert report["outputs"][0]["max_abs"] <= 1e-4
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_int8_vs_fp32_cli_fails_at_fp32_tolerance(int8_onnx, portable_onnx, tmp_path):
    hsi, x = _write_scene(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(int8_onnx),
            str(portable_onnx),
            "--hsi",
            str(hsi),
            "--x",
            str(x),
            "--tiles",
            "2",
            "--tile",
            "32",
            "--atol",
            "1e-6",
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 1, result.output
    assert "comparison failed" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--atol", "logit:1"], "expected one of ['logits', 'probabilities']"),
        (["--error-stat", "p95"], "--error-stat: got 'p95'"),
        (["--tiles", "0"], "expected >= 1"),
    ],
)
def test_bad_compare_input_exits_2(portable_onnx, tmp_path, args, message):
    hsi, x = _write_scene(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(portable_onnx),
            str(portable_onnx),
            "--hsi",
            str(hsi),
            "--x",
            str(x),
            "--tile",
            "32",
            *args,
        ],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
