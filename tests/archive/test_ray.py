"""``comix infer --engine ray`` on this machine: a manifest of 5 scenes, one corrupt, gives the sequential
run's products for the 4 good ones and a report line for the corrupt one; killed half-way and rerun, it
completes without redoing finished scenes. One Ray head is started for the test (our own process group,
ended by its id) and every run joins it with --ray-address, as a cluster run would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from archive_helpers import CORRUPT, write_archive

from comix.archive import ArchiveOptions, list_scenes, marker_path, run_archive

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[cluster]')")
pytestmark = pytest.mark.slow
GOOD = ["s0", "s1", "s3", "s4"]
COMIX = [sys.executable, "-m", "comix.cli.app"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    port = _free_port()
    folder = tmp_path_factory.mktemp("ray")
    # a loopback test cluster: no token (the machine-wide token file may be another session's)
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray_cli = Path(sys.executable).with_name("ray")
    with open(folder / "head.log", "wb") as head_log:  # the child keeps its own descriptor
        head = subprocess.Popen(
            [
                str(ray_cli),
                "start",
                "--head",
                f"--port={port}",
                "--num-cpus=2",
                "--block",
                "--include-dashboard=false",
                "--disable-usage-stats",
                f"--temp-dir={folder}",
                "--object-store-memory=100000000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=head_log,
            start_new_session=True,
        )
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if head.poll() is not None:
            pytest.fail(
                f"ray start exited {head.returncode}: {(folder / 'head.log').read_text()[-2000:]}"
            )
        time.sleep(0.5)
    yield address
    os.killpg(
        head.pid, signal.SIGTERM
    )  # the head we started, its raylet and workers (one process group)
    try:
        head.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    if previous is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = previous


def _products(folder: Path, name: str) -> dict:
    return {suffix: (folder / f"{name}{suffix}").read_bytes() for suffix in (".tif", ".npy")}


def test_ray_matches_sequential_and_resumes_after_a_kill(tiny_onnx, ray_head, tmp_path):
    manifest = write_archive(tmp_path / "archive", size=(150, 160))
    sequential = tmp_path / "sequential"
    run_archive(
        list_scenes(manifest), sequential, ArchiveOptions(model=str(tiny_onnx), tile=24, overlap=8)
    )
    out = tmp_path / "ray"
    command = [
        *COMIX,
        "infer",
        str(tiny_onnx),
        "--scenes",
        str(manifest),
        "-o",
        str(out),
        "--tile",
        "24",
        "--overlap",
        "8",
        "--engine",
        "ray",
        "--ray-address",
        ray_head,
        "--workers",
        "1",
        "--quiet",
    ]
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.time() + 240
    while not marker_path(out, "s0").is_file() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    first.kill()  # half-way: s0 is done, the driver dies mid-run
    first.wait()
    done_before = [name for name in GOOD if marker_path(out, name).is_file()]
    assert "s0" in done_before and len(done_before) < 4, first.stdout.read().decode()[-2000:]
    stamps = {name: marker_path(out, name).stat().st_mtime_ns for name in done_before}

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stdout + again.stderr
    report = " ".join((again.stdout + again.stderr).split())
    assert f"1 of 5 scenes failed: {CORRUPT}: " in report and "truncated or corrupt" in report
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["engine"] == "ray" and summary["scenes"]["failed"] == 1
    assert summary["scenes"]["skipped"] == len(done_before) and summary["scenes"][
        "done"
    ] == 4 - len(done_before)
    assert {name: marker_path(out, name).stat().st_mtime_ns for name in done_before} == stamps, (
        "not redone"
    )
    for name in GOOD:
        assert _products(out, name) == _products(sequential, name), name
    assert not [p for p in out.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]


def test_one_scene_split_into_tiles_over_ray_workers(tiny_onnx, ray_head, tmp_path):
    manifest = write_archive(tmp_path / "archive", size=(150, 160))
    scenes = [s for s in list_scenes(manifest) if s.name == "s1"]
    options = ArchiveOptions(model=str(tiny_onnx), tile=24, overlap=8)
    run_archive(scenes, tmp_path / "sequential", options)
    ray.init(address=ray_head, log_to_driver=False)
    try:
        summary = run_archive(
            scenes, tmp_path / "ray", options, engine="ray", distribute="tiles", workers=2
        )
    finally:
        ray.shutdown()
    assert summary["scenes"]["done"] == 1
    np.testing.assert_array_equal(
        np.load(tmp_path / "ray" / "s1.npy"), np.load(tmp_path / "sequential" / "s1.npy")
    )
    assert _products(tmp_path / "ray", "s1") == _products(tmp_path / "sequential", "s1")
