"""``tools/gpu_check.sh --dry-run``: the prepared GPU check, every step up to its first GPU call, on a CPU.

It makes a dry-run bundle (untrained stand-in model, no TensorRT headers in CI: the plugin library and the
harness are then skipped with the reason), builds the site the GPU machine would use, collects the GPU
tests, runs the harness up to its first CUDA call where it was built, plans the benchmark, runs ONNX
Runtime on a small scene, and writes the report: one JSON, one markdown file. About 80 s on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not on PATH (the op library)"),
]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    run = subprocess.run(
        ["bash", str(REPO / "tools" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OUT": "/nonexistent/must-not-be-used"},
    )
    return run, out


def test_the_dry_run_passes_and_writes_one_json_and_one_markdown(dry_run):
    run, out = dry_run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.md"]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] and report["passed"] and report["bundle"]["dry_run"]
    assert (out / "gpu_check.md").read_text().startswith("# GPU check — DRY RUN")
    steps = {s["name"]: s for s in report["steps"]}
    assert list(steps) == [
        "preflight",
        "site",
        "extension",
        "gpu_tests",
        "harness",
        "memcheck",
        "bench",
        "runtime",
    ]
    assert all(s["status"] in ("passed", "skipped") for s in steps.values()), steps


def test_each_step_stopped_before_the_gpu_and_said_so(dry_run):
    _, out = dry_run
    report = json.loads((out / "gpu_check.json").read_text())
    steps = {s["name"]: s for s in report["steps"]}
    assert any("nvidia-smi not called" in n for n in steps["preflight"]["notes"])
    assert any("would run" in n and "build_ext" in n for n in steps["extension"]["notes"])
    # the GPU tests exist and import here: the extension's grid in FP32 and FP16, the backends
    assert report["gpu_tests_collected"] >= 58
    harness = steps["harness"]
    if harness["status"] == "skipped":  # CI: no TensorRT headers where the bundle was made
        assert "no TensorRT headers" in " ".join(harness["notes"])
    else:
        assert report["harness"]["device"] is False and not report["harness"]["failed"]
        assert report["harness"]["passed"] == report["harness"]["cases"] == 58
    bench = report["bench"]
    assert bench["environment"]["dry_run"] and len(bench["rows"]) == 96
    assert all(r["median_ms"] is None for r in bench["rows"])
    rows = {r["backend"]: r for r in report["runtime"]["rows"]}
    assert rows["onnxruntime (CPU)"]["same_class"] == 1.0
    assert rows["torch --device cuda"] == {
        "backend": "torch --device cuda",
        "tf32": "off",
        "not_run": "dry run",
    }


def test_the_gpu_run_refuses_a_dry_run_bundle(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"dry_run": True}))
    run = subprocess.run(
        [
            "bash",
            str(REPO / "tools" / "gpu_check.sh"),
            "--bundle-dir",
            str(bundle),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "got a dry-run bundle" in run.stderr
    missing = subprocess.run(
        ["bash", str(REPO / "tools" / "gpu_check.sh"), "--bundle-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "expected a bundle made by" in missing.stderr
