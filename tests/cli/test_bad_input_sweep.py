"""Bad input across every command: a careless user's invocations, each refused the way the project promises.

For every row: the exit code (2 for bad input; 1 where the cause is not the input), exactly one line that
starts with ``error:`` and nothing else on stderr (no usage box, no warning, no progress bar), no traceback,
no temporary file's name in the message, no file created or changed in the working folder (where every row
writes its outputs), and the shared inputs left exactly as they were (so an output named like an input is
caught). The commands are listed from the Typer app: a command without a row fails
:func:`test_every_command_has_rows`, so a new command cannot be forgotten.

The inputs are tiny and hand-made (``sweep_inputs.py``); every row runs in this process through Typer's
runner, so the whole table takes seconds, not one interpreter start per row.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sweep_inputs import make_inputs
from typer.testing import CliRunner

from comix.cli.app import app

Setup = Callable[[Path, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Row:
    """``comix <command> <args>``: ``{in}`` in ``args`` is the shared inputs folder, other paths are relative
    to the row's own empty working folder; ``says``: a fragment the error line must contain."""

    command: str
    args: str
    says: str = ""
    code: int = 2
    setup: Setup | None = None
    slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.command}: {self.args}".replace("{in}/", "")


def existing_file(name: str) -> Setup:
    """A file the user already has where the command wants to write."""

    def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (folder / name).write_text("the user's own file\n")

    return setup


def existing_folder(name: str) -> Setup:
    def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (folder / name).mkdir()
        (folder / name / "keep.txt").write_text("the user's own file\n")

    return setup


def read_only_filesystem(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``out/`` exists but every file made in it fails as on a read-only mount (errno 30, naming the
    temporary file the writer tried to create, as the kernel does)."""
    (folder / "out").mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        if dir is not None and Path(dir).resolve() == (folder / "out").resolve():
            name = os.path.join(dir, f"{prefix or 'tmp'}k2j4h1qz{suffix or ''}")
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), name)
        return real_mkstemp(suffix=suffix, prefix=prefix, dir=dir, text=text)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# a name made by tempfile.mkstemp beside a product: ".<stem>.<8 random characters><suffix>"
TEMPORARY_NAME = re.compile(r"/\.[^/\s]+\.[a-z0-9_]{8}(\.part)?\.\w+")
SCENE = "--hsi {in}/scene/hsi.tif --x {in}/scene/x.tif"
MODEL = "{in}/model.onnx"
DATASET = "{in}/scene/dataset.yaml"

ROWS = [
    # ---------------------------------------------------------------- demo
    Row("demo", "-o taken --steps 2 --threads 1", "taken", setup=existing_file("taken")),
    Row(
        "demo",
        "--task irvis -o taken --steps 2 --threads 1",
        "taken",
        setup=existing_file("taken"),
    ),
    Row("demo", "--steps 1", "--steps"),
    Row("demo", "--task classify", "--task"),
    Row("demo", "--height 10", "--height"),
    Row("demo", "--threads -1", "--threads"),
    # ---------------------------------------------------------------- train
    Row("train", "missing.yaml -o run", "missing.yaml"),
    Row("train", f"{DATASET} -o taken --steps 1", "taken", setup=existing_file("taken")),
    Row("train", f"{DATASET} -o run --tile 4", "--tile"),
    Row("train", f"{DATASET} -o run --variant comix_xxl", "comix_xxl"),
    Row("train", f"{DATASET} -o run --variant ship_irvis", "segmentation"),
    Row("train", f"{DATASET} -o run --modalities lidar", "lidar"),
    Row("train", f"{DATASET} -o run --threads -1", "--threads"),
    Row("train", f"{DATASET} -o run --steps 0", "--steps"),
    Row("train", f"{DATASET} -o run --steps 4 --warmup-steps 9", "warmup"),
    Row("train", f"{DATASET} -o run --tile 16 --batch-size 1", "batch"),
    Row("train", "{in}/garbage.yaml -o run", "garbage.yaml"),
    Row("train", "{in}/notes.txt -o run", "notes.txt"),
    Row("train", "{in}/moved/dataset.yaml -o run --steps 1", "x_moved.tif"),
    Row("train", "{in}/nan_scene/dataset.yaml -o run --steps 1", "got NaN/Inf in 576 of the 576"),
    Row("train", f"{DATASET} -o run --resume", "resume"),
    # ---------------------------------------------------------------- eval
    Row("eval", f"missing.onnx {DATASET} -o ev", "missing.onnx"),
    Row("eval", f"{{in}}/picture.png {DATASET} -o ev", "picture.png"),
    Row("eval", f"{{in}}/empty.onnx {DATASET} -o ev", "empty.onnx"),
    Row("eval", f"{{in}}/ship.onnx {DATASET} -o ev", "segmentation"),
    Row("eval", f"{MODEL} missing.yaml -o ev", "missing.yaml"),
    Row("eval", f"{MODEL} {DATASET} -o ev --split validation", "--split"),
    Row("eval", f"{MODEL} {DATASET} -o ev --tile 0", "--tile"),
    Row("eval", f"{MODEL} {DATASET} -o ev --tile big", "--tile"),
    Row("eval", f"{MODEL} {DATASET} -o ev --overlap -1", "--overlap"),
    Row("eval", f"{MODEL} {DATASET} -o ev --backend tvm", "tvm"),
    Row("eval", f"{MODEL} {DATASET} -o ev --threads -1", "--threads"),
    Row("eval", f"{MODEL} {{in}}/scene8/dataset.yaml -o ev", "8"),
    Row("eval", f"{MODEL} {{in}}/moved/dataset.yaml -o ev", "x_moved.tif"),
    Row("eval", f"{MODEL} {DATASET} -o taken", "taken", setup=existing_file("taken")),
    # ---------------------------------------------------------------- export
    Row("export", "missing_ckpt -o m.onnx", "missing_ckpt"),
    Row("export", "{in}/broken_ckpt -o m.onnx", "broken_ckpt"),
    Row("export", "{in}/picture.png -o m.onnx", "picture.png"),
    Row("export", "{in}/broken_ckpt -o m.txt", ".txt"),
    Row("export", "{in}/broken_ckpt -o nowhere/m.onnx", "nowhere"),
    Row("export", "{in}/broken_ckpt -o m.onnx --tile 0", "--tile"),
    Row("export", "{in}/broken_ckpt -o m.onnx --batch 0", "--batch"),
    Row("export", "{in}/broken_ckpt -o m.onnx --opset 7", "opset"),
    # ---------------------------------------------------------------- calibrate
    Row("calibrate", f"missing.onnx --precision int8 --data {DATASET} -o q.onnx", "missing.onnx"),
    Row(
        "calibrate",
        f"{{in}}/picture.png --precision int8 --data {DATASET} -o q.onnx",
        "picture.png",
    ),
    Row("calibrate", f"{MODEL} --precision int7 --data {DATASET} -o q.onnx", "int7"),
    Row("calibrate", f"{MODEL} --precision int8 --data {DATASET} -o {MODEL}", "model.onnx"),
    Row("calibrate", f"{MODEL} --precision int8 --data {DATASET} -o q.txt", ".txt"),
    Row("calibrate", f"{MODEL} --precision int8 --data missing.yaml -o q.onnx", "missing.yaml"),
    Row("calibrate", f"{MODEL} --precision int8 --data {DATASET} -o q.onnx --tiles 0", "--tiles"),
    Row(
        "calibrate",
        f"{MODEL} --precision int8 --data {DATASET} -o q.onnx --threads -1",
        "--threads",
    ),
    Row(
        "calibrate", f"{MODEL} --precision fp16 --data {DATASET} -o q.onnx --max-drop 1", "max-drop"
    ),
    Row("calibrate", f"{MODEL} --precision int8 --data {DATASET} -o q.onnx --tile 4", "--tile"),
    # ---------------------------------------------------------------- lint
    Row("lint", "missing.onnx", "missing.onnx"),
    Row("lint", "{in}/picture.png", "picture.png"),
    Row("lint", "{in}/empty.onnx", "empty.onnx"),
    Row("lint", f"{MODEL} --statistics missing.json", "missing.json"),
    # ---------------------------------------------------------------- infer
    Row(
        "infer",
        f"{MODEL} {SCENE} -o {{in}}/scene/hsi.tif --quiet",
        "hsi.tif",
    ),
    Row("infer", f"{MODEL} {SCENE} -o {{in}}/scene/x.tif --quiet", "x.tif"),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/cube/hsi.npy --x {{in}}/cube/x.npy -o {{in}}/cube/hsi.tif --quiet",
        "hsi.npy",
    ),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/cube/hsi.npy --x {{in}}/cube/x.npy -o {{in}}/cube/x.npy --quiet",
        "x.npy",
    ),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/scene/hsi.tif --x {{in}}/x_moved.tif -o a.tif --quiet",
        "x_moved.tif",
    ),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/scene/hsi.tif --x {{in}}/x_utm.tif -o a.tif --quiet",
        "EPSG",
    ),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/scene/hsi.tif --x {{in}}/x_small.tif -o a.tif --quiet",
        "H x W",
    ),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/scene8/hsi.tif --x {{in}}/scene/x.tif -o a.tif --quiet",
        "8",
    ),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --threads -1", "--threads"),
    Row(
        "infer",
        f"{MODEL} {SCENE} -o out/a.tif --quiet",
        "out/a.npy: Read-only file system",
        setup=read_only_filesystem,
    ),
    Row("infer", f"{MODEL} --hsi {{in}}/scene/hsi.tif -o a.tif", "--x"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --tile abc", "--tile"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --overlap 200 --tile 64", "overlap"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --batch 0", "batch"),
    Row("infer", f"{MODEL} {SCENE} -o a.txt", ".txt"),
    Row("infer", f"{MODEL} {SCENE} -o nowhere/a.tif", "nowhere"),
    Row("infer", f"{{in}}/picture.png {SCENE} -o a.tif", "picture.png"),
    Row("infer", f"missing.onnx {SCENE} -o a.tif", "missing.onnx"),
    Row("infer", f"{{in}}/ship.onnx {SCENE} -o a.tif", "segmentation"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --nodata-fill zero", "--nodata-fill"),
    Row(
        "infer",
        f"{MODEL} --hsi {{in}}/cube/hsi.npy --x {{in}}/cube/x.npy -o a.tif --layout XYZ",
        "XYZ",
    ),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --engine ray", "--engine"),
    Row("infer", f"{MODEL} {SCENE} --scenes {{in}} -o OUT", "--scenes"),
    Row("stream", "missing.onnx --bands 6 --width 8", "missing.onnx"),
    Row("stream", "{in}/picture.png --bands 6 --width 8", "picture.png"),
    Row("stream", "{in}/ship.onnx --bands 6 --width 8", "segmentation"),
    Row("stream", f"{MODEL} --bands 5 --width 8", "5 bands"),
    Row("stream", f"{MODEL} --bands 6 --width 0", "--width"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --x-channels 3", "3 channels"),
    Row("stream", f"{MODEL} --bands 6 --width 8", "no line"),  # an empty stream
    Row("stream", f"{MODEL} --bands 6 --width 8 -i missing.bil", "missing.bil"),
    Row("stream", f"{MODEL} --bands 6 --width 8 -o {MODEL}", "model.onnx"),
    Row(
        "stream",
        f"{MODEL} --bands 6 --width 8 -i {{in}}/notes.txt -o {{in}}/notes.txt",
        "notes.txt",
    ),
    Row("stream", f"{MODEL} --bands 6 --width 8 -o nowhere/c.u8", "nowhere"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --summary nowhere/s.json", "nowhere"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --tile abc", "--tile"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --tile 64 --overlap 200", "overlap"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --batch 0", "batch"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --backend tvm", "tvm"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --nodata-fill zero", "--nodata-fill"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --line-rate -1", "--line-rate"),
    Row("stream", f"{MODEL} --bands 6 --width 8 --deadline-ms 0", "--deadline-ms"),
    Row("infer", f"{MODEL} --scenes missing_folder -o OUT", "missing_folder"),
    Row("infer", "{in}/picture.png --scenes {in}/scene -o OUT", "picture.png"),
    Row("infer", "{in}/picture.png --scenes {in}/scene -o OUT --engine ray", "picture.png"),
    Row("infer", "{in}/empty.onnx --scenes {in}/scene -o OUT", "empty.onnx"),
    Row("infer", f"{MODEL} --scenes {{in}}/scene -o OUT --engine spark", "spark"),
    Row("infer", f"{MODEL} --scenes {{in}}/scene -o OUT --engine ray --workers 0", "--workers"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --backend tensorrt", "tensorrt"),
    Row("infer", f"{MODEL} {SCENE} -o a.tif --device gpu", "gpu"),
    # ---------------------------------------------------------------- profile
    Row("profile", "missing.onnx -o prof", "missing.onnx"),
    Row("profile", "{in}/picture.png -o prof", "picture.png"),
    Row("profile", f"{MODEL} -o prof --threads -1", "--threads"),
    Row("profile", f"{MODEL} -o prof --tile 0", "--tile"),
    Row("profile", f"{MODEL} -o prof --batch 0", "batch"),
    Row("profile", f"{MODEL} -o {MODEL}", "model.onnx"),
    Row("profile", f"{MODEL} -o taken", "taken", setup=existing_file("taken")),
    Row("profile", f"{MODEL} -o prof --hsi {{in}}/scene/hsi.tif", "--x"),
    Row("profile", f"{MODEL} -o prof --backend tvm", "tvm"),
    Row("profile", f"{MODEL} -o prof --min-iterations 0", "iterations"),
    # ---------------------------------------------------------------- build
    Row("build", "{in}/foreign.onnx -o m.engine", "com.example"),
    Row("build", f"{MODEL} -o m.engine --trt-version banana", "banana"),
    Row("build", f"{MODEL} -o m.txt", ".txt"),
    Row("build", "{in}/net.trt.onnx -o {in}/net.engine", "net.trt.onnx"),
    Row("build", f"{MODEL} -o nowhere/m.engine", "nowhere"),
    Row("build", "missing.onnx -o m.engine", "missing.onnx"),
    Row("build", "{in}/picture.png -o m.engine", "picture.png"),
    Row("build", f"{MODEL} -o m.engine --tile 64:32:128", "--tile"),
    Row("build", f"{MODEL} -o m.engine --batch 0", "batch"),
    Row("build", f"{MODEL} -o m.engine --batch 4:2:1", "batch"),
    Row("build", f"{MODEL} -o m.engine --hardware-compatible turing", "turing"),
    Row("build", f"{MODEL} -o m.engine --cuda opencl", "opencl"),
    Row("build", f"{MODEL} -o m.engine --optimization-level 9", "optimization"),
    Row("build", f"{MODEL} -o m.engine --workspace -5", "workspace"),
    # ---------------------------------------------------------------- compare
    Row("compare", f"{{in}}/ship.onnx {MODEL} {SCENE}", "two models of one task"),
    Row("compare", f"{MODEL} {{in}}/ship.onnx {SCENE}", "two models of one task"),
    Row("compare", f"{MODEL} missing.onnx {SCENE}", "missing.onnx"),
    Row("compare", f"{MODEL} {{in}}/other.onnx {SCENE}", "comparison failed", code=1),
    Row("compare", f"{MODEL} {{in}}/picture.png {SCENE}", "picture.png"),
    Row("compare", f"{MODEL} {MODEL}", "--data"),
    Row("compare", f"{MODEL} {MODEL} --hsi {{in}}/scene/hsi.tif", "--x"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --tiles 0", "--tiles"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --error-stat worst", "worst"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --atol logits=abc", "abc"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --threads -1", "--threads"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --backend-a tvm", "tvm"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --min-agreement 2", "min-agreement"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} -o {MODEL}", "model.onnx"),
    Row("compare", f"{MODEL} {MODEL} {SCENE} --plot {{in}}/scene/x.tif", "x.tif"),
    Row(
        "compare",
        f"{MODEL} {MODEL} --hsi {{in}}/scene/hsi.tif --x {{in}}/x_moved.tif",
        "x_moved.tif",
    ),
    # ---------------------------------------------------------------- doctor
    Row("doctor", "--verbose", "--verbose"),
    Row("doctor", "everything", "everything"),
    Row("doctor", "--json nowhere/d.json", "nowhere"),
    # ---------------------------------------------------------------- export-triton
    Row(
        "export-triton",
        "repo --onnx {in}/picture.png",
        "picture.png",
        setup=existing_folder("repo"),
    ),
    Row(
        "export-triton", "repo --onnx {in}/empty.onnx", "empty.onnx", setup=existing_folder("repo")
    ),
    Row("export-triton", "repo --onnx missing.onnx", "missing.onnx", setup=existing_folder("repo")),
    Row("export-triton", "repo", "--onnx", setup=existing_folder("repo")),
    Row(
        "export-triton",
        f"repo --onnx {MODEL} --engine {{in}}/picture.png --trt-library {{in}}/notes.txt",
        "picture.png",
        setup=existing_folder("repo"),
    ),
    Row("export-triton", f"missing_repo --onnx {MODEL}", "missing_repo"),
    Row(
        "export-triton",
        f"repo --onnx {MODEL} --onnx-kind tpu",
        "tpu",
        setup=existing_folder("repo"),
    ),
    Row(
        "export-triton",
        f"repo --onnx {MODEL} --instances 0",
        "instances",
        setup=existing_folder("repo"),
    ),
    Row(
        "export-triton",
        f"repo --onnx {MODEL} --max-batch 0",
        "batch",
        setup=existing_folder("repo"),
    ),
    Row(
        "export-triton",
        "repo --engine {in}/picture.png",
        "picture.png",
        setup=existing_folder("repo"),
    ),
    # ---------------------------------------------------------------- data make-scene
    Row("data make-scene", "scene --height 8", "--height"),
    Row("data make-scene", "scene --format tiff", "tiff"),
    Row("data make-scene", "scene --format mat --mat-version 6", "6"),
    Row("data make-scene", "taken --height 16 --width 16", "taken", setup=existing_folder("taken")),
    Row("data make-scene", "taken --height 16 --width 16", "taken", setup=existing_file("taken")),
    Row(
        "data make-scene",
        "scene --spectral-source houston2013 --height 16 --width 16",
        "houston",
    ),
    Row(
        "data make-scene",
        "scene --spectral-source houston2013 --houston-folder missing --height 16 --width 16",
        "missing",
    ),
    # ---------------------------------------------------------------- data inspect
    Row("data inspect", "{in}/cube/hsi.npy --layout XYZ", "XYZ"),
    Row("data inspect", "{in}/scene/hsi.tif --layout XYZ", "XYZ"),
    Row("data inspect", "missing.tif", "missing.tif"),
    Row("data inspect", "{in}/picture.png", "picture.png"),
    Row("data inspect", "{in}/garbage.yaml", "garbage.yaml"),
    Row("data inspect", "{in}/cube/hsi.npy --layout HW", "HW"),
    # ---------------------------------------------------------------- model info / list
    Row("model info", "comix_xxl", "comix_xxl"),
    Row("model info", "comix_t --size 0 0", "size"),
    Row("model info", "comix_t --bands 0", "bands"),
    Row("model info", "comix_t --classes 0", "classes"),
    Row("model list", "everything", "everything"),
    Row("model list", "--long", "--long"),
    # ---------------------------------------------------------------- plugins build
    Row("plugins build", "build --tensorrt-root MISSING", "MISSING"),
    Row("plugins build", "build --tensorrt-root {in}/fake_tensorrt", "NvInfer"),
    Row("plugins build", "taken", "taken", setup=existing_file("taken")),
    # ---------------------------------------------------------------- fusion make-data
    Row("fusion make-data", "fusion --task irvis --haze 1.5", "haze"),
    Row("fusion make-data", "fusion --task irvis --haze -0.1", "haze"),
    Row("fusion make-data", "fusion --size 100", "size"),
    Row("fusion make-data", "fusion --sensor landsat", "landsat"),
    Row("fusion make-data", "fusion --task segmentation", "segmentation"),
    Row("fusion make-data", "taken --size 64", "taken", setup=existing_file("taken")),
    # ---------------------------------------------------------------- fusion train
    Row("fusion train", "missing.h5 -o run", "missing.h5"),
    Row("fusion train", "{in}/picture.png -o run", "picture.png"),
    Row("fusion train", "{in}/notes.txt -o run", "notes.txt"),
    Row("fusion train", "{in}/cube -o run", "cube"),
    Row("fusion train", "missing.h5 -o run --patch 4", "--patch"),
    Row("fusion train", "missing.h5 -o run --threads -1", "--threads"),
    Row("fusion train", "{in}/irvis -o run --data-range 0", "data-range"),
    Row("fusion train", "{in}/irvis -o taken --steps 1", "taken", setup=existing_file("taken")),
    Row("fusion train", "{in}/irvis -o run --variant comix_t", "fusion"),
    # ---------------------------------------------------------------- fusion eval
    Row("fusion eval", "missing.onnx missing.h5 -o ev", "missing.onnx"),
    Row("fusion eval", f"{MODEL} missing.h5 -o ev", "fusion"),
    Row("fusion eval", "{in}/ship.onnx missing.h5 -o ev", "missing.h5"),
    Row("fusion eval", "{in}/ship.onnx missing.h5 -o ev --threads -1", "--threads"),
    Row("fusion eval", "{in}/ship.onnx {in}/irvis -o ev --tile 0", "--tile"),
    Row("fusion eval", "{in}/ship.onnx {in}/irvis -o taken", "taken", setup=existing_file("taken")),
    # ---------------------------------------------------------------- fusion export
    Row("fusion export", "missing_ckpt -o f.onnx", "missing_ckpt"),
    Row("fusion export", "{in}/broken_ckpt -o f.txt", ".txt"),
    Row("fusion export", "{in}/broken_ckpt -o f.onnx", "broken_ckpt"),
    Row("fusion export", "{in}/broken_ckpt -o f.onnx --opset 17", "opset"),
    Row("fusion export", "{in}/broken_ckpt -o f.onnx --batch 0", "--batch"),
    Row("fusion export", "{in}/broken_ckpt -o f.onnx --lowering fft", "fft"),
    # ---------------------------------------------------------------- fusion infer
    Row(
        "fusion infer",
        "{in}/ship.onnx --primary {in}/scene/hsi.tif --guide {in}/scene/x.tif -o {in}/scene/hsi.tif",
        "hsi.tif",
    ),
    Row(
        "fusion infer",
        "{in}/ship.onnx --primary {in}/cube/hsi.npy --guide {in}/cube/x.npy -o {in}/cube/x.npy",
        "x.npy",
    ),
    Row(
        "fusion infer",
        "{in}/ship.onnx --primary {in}/scene/hsi.tif --guide {in}/scene/x.tif -o f.tif --threads -1",
        "--threads",
    ),
    Row(
        "fusion infer",
        "{in}/ship.onnx --primary {in}/scene/hsi.tif --guide missing.tif -o f.tif",
        "missing.tif",
    ),
    Row(
        "fusion infer",
        f"{MODEL} --primary {{in}}/scene/hsi.tif --guide {{in}}/scene/x.tif -o f.tif",
        "fusion",
    ),
    Row(
        "fusion infer",
        "{in}/ship.onnx --primary {in}/scene/hsi.tif --guide {in}/scene/x.tif -o f.txt",
        ".txt",
    ),
]


def _leaf_commands() -> list[str]:
    """Every command and subcommand of ``comix``, as typed (``data inspect``); groups that load their
    commands lazily are asked to resolve each name, as a run would."""
    import typer
    import typer.main

    found = []

    def walk(command, words: list[str], parent) -> None:
        if not hasattr(command, "list_commands"):
            found.append(" ".join(words))
            return
        context = typer.Context(command, parent=parent, info_name=words[-1] if words else "comix")
        for name in command.list_commands(context):
            _, child, _ = command.resolve_command(context, [name])
            walk(child, [*words, name], context)

    walk(typer.main.get_command(app), [], None)
    return sorted(found)


def _snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder``: (size, modification time, mode) by relative path."""
    found = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        found[str(path.relative_to(folder))] = (
            stat.st_size if path.is_file() else None,
            stat.st_mtime_ns,
            stat.st_mode,
        )
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return make_inputs(tmp_path_factory.mktemp("sweep_inputs"))


def _remake(folder: Path) -> None:
    """Rebuild the shared inputs after a row changed them, so later rows see the real inputs."""
    shutil.rmtree(folder)
    folder.mkdir()
    make_inputs(folder)


def test_every_command_has_rows():
    covered = {row.command for row in ROWS}
    missing = sorted(set(_leaf_commands()) - covered)
    assert not missing, f"commands without a bad-input row: {missing}; add rows to ROWS"
    unknown = sorted(covered - set(_leaf_commands()))
    assert not unknown, f"rows for commands that do not exist: {unknown}"


@pytest.mark.parametrize(
    "row",
    [pytest.param(r, id=r.id, marks=[pytest.mark.slow] if r.slow else []) for r in ROWS],
)
def test_bad_input_is_refused_in_one_line(row: Row, inputs: Path, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    if row.setup is not None:
        row.setup(work, monkeypatch)
    before_inputs, before_work = _snapshot(inputs), _snapshot(work)
    argv = [*row.command.split(), *shlex.split(row.args.replace("{in}", str(inputs)))]

    result = CliRunner().invoke(app, argv)

    shown = f"comix {' '.join(argv)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"raised {type(result.exception).__name__}: {result.exception}\n{shown}"
    )
    assert "Traceback" not in result.output, shown
    assert result.exit_code == row.code, shown
    stderr = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, shown
    if row.code == 2:
        assert stderr == errors, f"expected only the error line on stderr\n{shown}"
    assert row.says in errors[0], f"expected {row.says!r} in the error line\n{shown}"
    assert not TEMPORARY_NAME.search(errors[0]), f"names a temporary file\n{shown}"
    if _snapshot(inputs) != before_inputs:
        _remake(inputs)
        pytest.fail(f"an input was changed\n{shown}")
    assert _snapshot(work) == before_work, f"files were left behind\n{shown}"
