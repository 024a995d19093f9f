"""``comix stream`` end to end: the class lines of a BIL pass equal ``comix infer``'s class raster of the
same scene, through standard input/output, files and FIFOs; progress and the summary on standard error; a
partial last line, a closed output pipe and bad options each one sentence with the error root's exit code,
with the whole lines delivered first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from runtime_helpers import BANDS, make_scene
from typer.testing import CliRunner

from comix.cli.app import app

HEIGHT, WIDTH = 83, 45
SETTINGS = [
    "--tile",
    "32",
    "--overlap",
    "12",
    "--batch",
    "2",
    "--threads",
    "1",
    "--nodata",
    "-9999",
]


def _invoke(*args, stdin: bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=stdin, env={"COLUMNS": "400"})


def _comix(*args, **options) -> subprocess.Popen:
    """``comix`` in a process of its own (real pipes)."""
    command = [sys.executable, "-c", "from comix.cli.app import main; main()", *map(str, args)]
    return subprocess.Popen(command, stderr=subprocess.PIPE, **options)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The scene as files for comix infer, the same scene as a BIL pass, and infer's classes."""
    folder = tmp_path_factory.mktemp("scene")
    hsi, x = make_scene(HEIGHT, WIDTH, seed=11)
    hsi[:, 40] = np.nan  # a nodata line
    hsi[3, 10:12, 20:30] = np.nan  # nodata pixels
    x[0, 60:62, 5:9] = -9999.0
    np.save(folder / "hsi.npy", hsi)
    np.save(folder / "x.npy", x)
    bil = np.concatenate([hsi.transpose(1, 0, 2), x.transpose(1, 0, 2)], axis=1).astype("<f4")
    (folder / "pass.bil").write_bytes(bil.tobytes())
    return folder


@pytest.fixture(scope="module")
def infer_classes(canonical_onnx, scene):
    result = _invoke(
        "infer",
        canonical_onnx,
        "--hsi",
        scene / "hsi.npy",
        "--x",
        scene / "x.npy",
        "--layout",
        "CHW",
        "-o",
        scene / "seg.npy",
        "--quiet",
        *SETTINGS,
    )
    assert result.exit_code == 0, result.output
    return np.load(scene / "seg.npy")


def test_stdin_to_stdout_gives_the_classes_of_infer(canonical_onnx, scene, infer_classes):
    result = _invoke(
        "stream",
        canonical_onnx,
        "--bands",
        BANDS,
        "--width",
        WIDTH,
        "--line-rate",
        "340",
        *SETTINGS,
        stdin=(scene / "pass.bil").read_bytes(),
    )
    assert result.exit_code == 0, result.stderr
    got = np.frombuffer(result.stdout_bytes, np.uint8).reshape(-1, WIDTH)
    assert np.array_equal(got, infer_classes)
    assert f"lines: {HEIGHT} in, {HEIGHT} out; 1 nodata lines" in result.stderr
    assert "x real time at 340 lines/s" in result.stderr


def test_files_and_fifos_give_the_same_bytes(canonical_onnx, scene, infer_classes, tmp_path):
    out = tmp_path / "classes.u8"
    result = _invoke(
        "stream",
        canonical_onnx,
        "--bands",
        BANDS,
        "--width",
        WIDTH,
        "-i",
        scene / "pass.bil",
        "-o",
        out,
        "--summary",
        tmp_path / "summary.json",
        "--quiet",
        *SETTINGS,
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == infer_classes.tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.u8", "summary.json"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["lines_out"] == HEIGHT and summary["failure"] is None
    assert summary["nodata_pixels"] == int((infer_classes == 0).sum())

    fifo_in, fifo_out = tmp_path / "in.fifo", tmp_path / "out.fifo"
    os.mkfifo(fifo_in)
    os.mkfifo(fifo_out)
    received = bytearray()

    def writer():
        with open(fifo_in, "wb") as sink:
            sink.write((scene / "pass.bil").read_bytes())

    def reader():
        with open(fifo_out, "rb") as source:
            received.extend(source.read())

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    process = _comix(
        "stream",
        canonical_onnx,
        "--bands",
        BANDS,
        "--width",
        WIDTH,
        "-i",
        fifo_in,
        "-o",
        fifo_out,
        "--quiet",
        *SETTINGS,
    )
    _, stderr = process.communicate(timeout=120)
    for thread in threads:
        thread.join(timeout=10)
    assert process.returncode == 0, stderr.decode()
    assert bytes(received) == infer_classes.tobytes()


def test_a_partial_last_line_is_refused_after_the_whole_lines(
    canonical_onnx, scene, infer_classes, tmp_path
):
    """The partial line is one sentence (exit 2); the lines before it are written, as a pass of that
    length gives them, and kept beside the output (NAME.partial), never under its name."""
    whole = 70
    data = (scene / "pass.bil").read_bytes()
    line_bytes = len(data) // HEIGHT
    (tmp_path / "cut.bil").write_bytes(data[: whole * line_bytes + 100])
    out = tmp_path / "classes.u8"
    result = _invoke(
        "stream",
        canonical_onnx,
        "--bands",
        BANDS,
        "--width",
        WIDTH,
        "-i",
        tmp_path / "cut.bil",
        "-o",
        out,
        "--quiet",
        *SETTINGS,
    )
    assert result.exit_code == 2
    assert (
        f"error: input: line {whole} has only 100 bytes, expected {line_bytes} bytes: "
        f"({BANDS} bands + 1 X channel) x {WIDTH} px x 4 bytes" in result.stderr
    )
    assert not out.exists()
    kept = np.frombuffer((tmp_path / "classes.u8.partial").read_bytes(), np.uint8)
    assert kept.size == whole * WIDTH
    first = (
        70 - 32
    )  # lines a tile height before the end of the shorter pass do not depend on its end
    assert np.array_equal(kept.reshape(whole, WIDTH)[:first], infer_classes[:first])
    assert "Traceback" not in result.output


def test_a_closed_output_pipe_is_one_sentence(canonical_onnx, scene):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line is written
    try:
        process = _comix(
            "stream",
            canonical_onnx,
            "--bands",
            BANDS,
            "--width",
            WIDTH,
            "-i",
            scene / "pass.bil",
            "--quiet",
            *SETTINGS,
            stdout=write_end,
        )
    finally:
        os.close(write_end)
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 1, stderr
    assert "error: output: the reader closed the pipe; 0 of the " in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--bands", BANDS + 1, "--width", WIDTH], "got 7 bands, expected 6"),
        (["--bands", BANDS, "--width", 0], "--width: got 0, expected >= 1"),
        (["--bands", BANDS, "--width", WIDTH, "--x-channels", 2], "got 2 channels, expected 1"),
        (["--bands", BANDS, "--width", WIDTH, "--tile", "3x"], "--tile: got '3x'"),
        (["--bands", BANDS, "--width", WIDTH, "--tile", 16, "--overlap", 16], "overlap 16"),
        (["--bands", BANDS, "--width", WIDTH, "--line-rate", -1], "--line-rate: got -1"),
        (
            ["--bands", BANDS, "--width", WIDTH, "-i", "missing.bil"],
            "--input missing.bil: got no such",
        ),
        (
            ["--bands", BANDS, "--width", WIDTH, "-o", "no/such/out.u8"],
            "folder no/such does not exist",
        ),
        (
            ["--bands", BANDS, "--width", WIDTH, "-i", os.devnull],
            "input: got no line, expected at least",
        ),
    ],
)
def test_bad_options_are_one_sentence(canonical_onnx, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke("stream", canonical_onnx, *args, stdin=b"")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not any(Path(tmp_path).iterdir())  # nothing written
