"""The runtime install, as a target would make it: ``pip install .`` (no extras) into a fresh venv runs
``comix infer`` on an exported model with no torch, SciPy, matplotlib, GDAL, Ray or onnx imported, and gives
the classes of the full install; a command that needs the full toolchain says so in one sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from comix.runtime.registry import open_backend
from comix.runtime.session import find_custom_op_library
from comix.runtime.sliding_window import SlidingWindow

sys.path.insert(0, str(Path(__file__).resolve().parent / "runtime"))
from runtime_helpers import export_tiny, make_scene

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "scipy", "matplotlib", "rasterio", "ray", "onnx", "openvino", "PIL")
INFER_IN_PROCESS = (
    f"HEAVY = {HEAVY!r}\n"
    + """
import json, sys
from comix.cli.app import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""
)


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory) -> Path:
    """A fresh venv with this checkout installed without extras (what `pip install .` gives a target)."""
    folder = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return python


@pytest.mark.slow
def test_the_runtime_install_runs_comix_infer_without_the_training_stack(runtime_venv, tmp_path):
    import os

    library = find_custom_op_library()
    model = export_tiny(
        library is None, tmp_path / "tiny.onnx"
    )  # canonical when our op library is built
    hsi, x = make_scene(70, 90, seed=7)
    np.save(tmp_path / "hsi.npy", hsi.transpose(1, 2, 0))
    np.save(tmp_path / "x.npy", x.transpose(1, 2, 0))
    env = {**os.environ, **({"COMIX_ORT_LIBRARY": str(library)} if library else {})}
    listed = subprocess.run(
        [str(runtime_venv), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not installed & {"torch", "scipy", "matplotlib", "rasterio", "ray", "onnx"}, installed
    output = tmp_path / "seg.npy"
    args = [
        "infer",
        str(model),
        "--hsi",
        str(tmp_path / "hsi.npy"),
        "--x",
        str(tmp_path / "x.npy"),
        "-o",
        str(output),
        "--tile",
        "32",
        "--threads",
        "1",
        "--quiet",
    ]
    run = subprocess.run(
        [str(runtime_venv), "-c", INFER_IN_PROCESS, *args], capture_output=True, text=True, env=env
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None), run.stderr
    assert report["heavy"] == [], f"the runtime imported {report['heavy']}"
    full = SlidingWindow(open_backend(model, threads=1), tile=32)(hsi, x)  # this (full) install
    np.testing.assert_array_equal(np.load(output), full.classes)
    summary = json.loads(output.with_suffix(".json").read_text())
    assert "png" not in summary["outputs"]  # the quick-look needs matplotlib: left out, not failed

    refused = subprocess.run(
        [
            str(runtime_venv.parent / "comix"),
            "train",
            str(tmp_path / "dataset.yaml"),
            "-o",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: `comix train` needs the full toolchain, which is not installed here (no module "
        "torch): pip install 'comix-deploy[full]'"
    ]
    geotiff = subprocess.run(
        [
            str(runtime_venv.parent / "comix"),
            "infer",
            str(model),
            "--hsi",
            str(tmp_path / "hsi.npy"),
            "--x",
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "seg.tif"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert geotiff.returncode == 2 and "pip install 'comix-deploy[geo]'" in geotiff.stderr
