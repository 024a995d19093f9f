"""comix-run (plugins/capi/tools/comix_run.c): a scene in, an ENVI classification out, through the C API.

The expected classes are rebuilt here from the Python ONNX Runtime path on the same tile windows
(comix-run's documented tiling: non-overlapping tiles from the top-left, the last row and column moved
back to the scene's edge, later tiles winning), so a wrong window, a transposed copy or an off-by-one
label shows up as a pixel difference."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from capi_helpers import (
    BANDS,
    CLASS_NAMES,
    X_CHANNELS,
    bil_lines,
    inputs,
    python_classes,
    python_logits,
    run,
    scene,
)

from comix.data.envi_io import parse_envi_header, read_envi, write_envi


@pytest.fixture(scope="module")
def comix_run(library):
    tool = library.parent / "comix-run"
    if not tool.is_file():
        pytest.skip(f"comix-run is not built beside {library}")
    return tool


def origins(size: int, tile: int) -> list[int]:
    count = -(-size // tile)
    return [min(i * tile, max(size - tile, 0)) for i in range(count)]


def expected_classes(model, hsi, x, tile) -> tuple[np.ndarray, np.ndarray]:
    """(classes (H, W) uint8: class + 1, 0 where an input is not finite; logits (K, H, W))."""
    _, height, width = hsi.shape
    classes = np.zeros((height, width), np.uint8)
    logits = None
    th, tw = min(tile, height), min(tile, width)
    for row in origins(height, th):
        for col in origins(width, tw):
            window = (slice(None), slice(row, row + th), slice(col, col + tw))
            out = python_logits(model, hsi[window][None], x[window][None])[0]
            if logits is None:
                logits = np.zeros((out.shape[0], height, width), np.float32)
            logits[window] = out
            classes[window[1:]] = out.argmax(0) + 1
    valid = np.isfinite(hsi).all(0) & np.isfinite(x).all(0)
    classes[~valid] = 0
    return classes, logits


def test_envi_scene_to_classes(comix_run, tiny, tmp_path):
    hsi, x = inputs(1, BANDS, X_CHANNELS, 40, 45, seed=3)
    hsi, x = hsi[0], x[0]
    hsi[2, 5, 7] = np.nan  # one no-data pixel
    write_envi(tmp_path / "scene.bsq", np.concatenate([hsi, x]).astype(np.float32))
    out = tmp_path / "classes.bsq"
    result = run(
        [comix_run, tiny["canonical"], tmp_path / "scene.bsq", out, "--tile", 16]
        + ["--logits", tmp_path / "logits.f32"]
    )
    assert result.returncode == 0, result.stderr
    assert "9 tiles of 16x16" in result.stderr
    classes, _, _ = read_envi(out)
    expected, logits = expected_classes(tiny["canonical"], hsi, x, 16)
    np.testing.assert_array_equal(classes[0], expected)
    assert classes[0, 5, 7] == 0
    written = np.fromfile(tmp_path / "logits.f32", np.float32).reshape(logits.shape)
    np.testing.assert_allclose(written, logits, rtol=0, atol=1e-5)
    header = parse_envi_header(out.with_name("classes.bsq.hdr"))
    assert header["file type"] == "ENVI Classification"
    assert header["classes"] == "5" and header["data type"] == "1"
    assert [n.strip() for n in header["class names"].strip("{}").split(",")] == [
        "no data",
        *CLASS_NAMES,
    ]
    assert not list(tmp_path.glob("*.partial"))


def test_raw_input_with_a_separate_x_file(comix_run, tiny, tmp_path):
    hsi, x = inputs(1, BANDS, X_CHANNELS, 20, 17, seed=4)
    hsi[0].tofile(tmp_path / "hsi.raw")
    x[0].tofile(tmp_path / "x.raw")
    out = tmp_path / "classes.raw"
    result = run(
        [comix_run, tiny["portable"], tmp_path / "hsi.raw", out]
        + ["--x", tmp_path / "x.raw", "--size", "20x17", "--tile", 8, "-q"]
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected, _ = expected_classes(tiny["portable"], hsi[0], x[0], 8)
    np.testing.assert_array_equal(np.fromfile(out, np.uint8).reshape(20, 17), expected)


def test_a_fixed_tile_model_pads_a_smaller_scene(comix_run, tiny, tmp_path):
    hsi, x = inputs(1, BANDS, X_CHANNELS, 12, 16, seed=5)
    write_envi(tmp_path / "small.bsq", np.concatenate([hsi[0], x[0]]))
    result = run([comix_run, tiny["static"], tmp_path / "small.bsq", tmp_path / "out.bsq"])
    assert result.returncode == 0, result.stderr
    padded_hsi = np.concatenate([hsi[0], np.repeat(hsi[0][:, -1:], 4, axis=1)], axis=1)
    padded_x = np.concatenate([x[0], np.repeat(x[0][:, -1:], 4, axis=1)], axis=1)
    logits = python_logits(tiny["static"], padded_hsi[None], padded_x[None])[0]
    classes, _, _ = read_envi(tmp_path / "out.bsq")
    np.testing.assert_array_equal(classes[0], logits.argmax(0)[:12] + 1)


@pytest.mark.parametrize(
    ("planes", "extra", "message"),
    [
        (
            BANDS,
            [],
            "got 5 HSI bands, expected 6 (the model's HSI input)",
        ),  # X missing from the file
        (BANDS + 2, [], "got 7 HSI bands, expected 6"),
    ],
)
def test_wrong_band_counts_are_one_sentence(comix_run, tiny, tmp_path, planes, extra, message):
    write_envi(tmp_path / "scene.bsq", np.zeros((planes, 8, 8), np.float32))
    out = tmp_path / "out.bsq"
    result = run([comix_run, tiny["canonical"], tmp_path / "scene.bsq", out, *extra])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob("out*"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["/nonexistent.onnx", "IN", "OUT"], "got no such file, expected an existing file"),
        (
            ["MODEL", "/nonexistent.raw", "OUT"],
            "expected one or --size HEIGHTxWIDTH for a raw file",
        ),
        (["MODEL", "RAW", "OUT", "--size", "8x9"], "expected a whole number of 8x9 float32 planes"),
        (["MODEL", "RAW", "OUT", "--size", "8"], "--size: got '8', expected HEIGHTxWIDTH"),
        (["MODEL", "RAW", "OUT", "--tile", "0"], "--tile: got '0', expected a whole number >= 1"),
        (["MODEL", "RAW", "OUT", "--bogus"], "got the unknown option --bogus"),
        (["MODEL", "RAW"], "got 2 of MODEL INPUT OUTPUT, expected all three"),
        (["MODEL", "RAW", "OUT", "--verify"], "has no recorded digests"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(comix_run, tiny, tmp_path, arguments, message):
    np.zeros((7, 8, 8), np.float32).tofile(tmp_path / "scene.raw")
    names = {
        "MODEL": tiny["canonical"],
        "RAW": tmp_path / "scene.raw",
        "OUT": tmp_path / "out",
        "IN": "x",
    }
    result = run([comix_run, *[names.get(a, a) for a in arguments]])
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.startswith("comix-run: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_help(comix_run):
    result = run([comix_run, "--help"])
    assert result.returncode == 0 and result.stdout.startswith(
        "usage: comix-run [options] MODEL INPUT OUTPUT"
    )


def test_a_line_stream_gives_comix_infer_classes(comix_run, tiny, tmp_path):
    """--stream: BIL lines in through a pipe, class lines out through a pipe, equal to comix infer's; the
    same to a file (renamed at the end, with its ENVI header)."""
    hsi, x = scene(45, 30, seed=8)
    hsi[:, 7] = np.nan
    x[0, 20, 3:9] = -9999
    expected, _ = python_classes(tiny["canonical"], hsi, x, tmp_path, 16, 5, None, -9999)
    stream = bil_lines(hsi, x).tobytes()
    command = [str(comix_run), "--stream", "--width", "30", "--tile", "16", "--overlap", "5"]
    command += ["--nodata", "-9999", str(tiny["canonical"])]
    piped = subprocess.run([*command, "-", "-"], input=stream, capture_output=True, check=False)
    assert piped.returncode == 0, piped.stderr.decode()
    assert np.array_equal(np.frombuffer(piped.stdout, np.uint8).reshape(45, 30), expected)
    summary = piped.stderr.decode()
    assert "45 lines of 30 px in, 45 out" in summary and "nodata lines 1" in summary, summary
    (tmp_path / "lines.f32").write_bytes(stream)
    out = tmp_path / "classes.raw"
    result = run([*command, tmp_path / "lines.f32", out, "-q"])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert np.array_equal(np.fromfile(out, np.uint8).reshape(45, 30), expected)
    header = parse_envi_header(tmp_path / "classes.raw.hdr")
    assert header["lines"] == "45" and header["samples"] == "30"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--stream", "MODEL", "-", "-"], "--stream: got no --width, expected the pixels per line"),
        (
            ["--width", "3", "MODEL", "a", "b"],
            "got --width, --overlap, --batch or --nodata without --stream",
        ),
        (
            ["--stream", "--width", "8", "--size", "4x4", "MODEL", "-", "-"],
            "--stream: got --size, expected",
        ),
        (
            ["--stream", "--width", "8", "--overlap", "200", "MODEL", "LINES", "-"],
            "options.overlap: got 200",
        ),
        (
            ["--stream", "--width", "8", "MODEL", "PARTIAL", "OUT"],
            "got 20 floats after line 2, expected whole",
        ),
    ],
)
def test_bad_line_streams(comix_run, tiny, tmp_path, arguments, words):
    lines = tmp_path / "lines.f32"
    np.zeros((2, BANDS + X_CHANNELS, 8), np.float32).tofile(lines)
    partial = tmp_path / "partial.f32"
    partial.write_bytes(lines.read_bytes() + bytes(80))
    names = {
        "MODEL": tiny["canonical"],
        "LINES": lines,
        "PARTIAL": partial,
        "OUT": tmp_path / "out.raw",
    }
    result = run([comix_run, *(names.get(a, a) for a in arguments)])
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "out.raw").exists() and not (tmp_path / "out.raw.partial").exists()
