"""The TensorRT plugin harness (plugins/tensorrt/tests/pluginHarness.cpp, tools/plugin_harness.py).

On every machine: the grid it reads is the shared DCN grid, and its verdict (``check``) passes outputs
equal to the float64 reference and fails each planted defect — a value out of tolerance, a written guard
band, a graph replay that differs, a wrong workspace size, a missing case.

Where TensorRT headers are fetched (third_party/tensorrt-11.1; not in CI: skipped with the reason): the
plugin library and the harness build without libnvinfer, and the harness drives every plugin of the grid
through creator, build interface, serialisation, runtime recreation, attachToContext and onShapeChange,
up to its first CUDA call (on a GPU host, through enqueue and CUDA-graph replay).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
HEADERS = REPO / "third_party" / "tensorrt-11.1"
CASES = ["2d-asym_stride_pad_dil", "3d-odd_plain"]


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location(
        "plugin_harness", REPO / "tools" / "plugin_harness.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def small_grid(harness, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grid")
    assert harness.write_grid(folder, CASES) == 4
    return folder


def test_the_grid_file_describes_the_shared_cases(harness, small_grid):
    from comix.ops.cases import case_named

    entries = harness.read_grid(small_grid)
    assert [(e["id"], e["dtype"]) for e in entries] == [
        (c, d) for c in CASES for d in ("float32", "float16")
    ]
    for entry in entries:
        case = case_named(entry["id"])
        assert entry["out"] == list(case.output_size()) and entry["kernel"] == list(case.kernel)
        x = np.fromfile(small_grid / f"{entry['id']}.{entry['dtype']}.x.f32", np.float32)
        np.testing.assert_array_equal(
            x, case.inputs(entry["dtype"]).input.astype(np.float32).ravel()
        )
    line = (small_grid / "cases.txt").read_text().splitlines()[1].split()
    assert len(line) == 31 and line[:3] == ["2d-asym_stride_pad_dil", "float32", "2"]


def _observations(harness, grid: Path, outputs: Path) -> dict:
    """What a passing harness run on a GPU reports, with outputs equal to the reference."""
    cases = []
    for entry in harness.read_grid(grid):
        name = f"{entry['id']}.{entry['dtype']}"
        np.fromfile(grid / f"{name}.ref.f64", np.float64).astype(np.float32).tofile(
            outputs / f"{name}.y.f32"
        )
        cases.append(
            {
                "id": entry["id"],
                "dtype": entry["dtype"],
                "created": True,
                "nb_outputs": 1,
                "output_type_rc": 0,
                "output_type_matches": True,
                "output_shape_rc": 0,
                "output_shape": [entry["batch"], entry["out_channels"], *entry["out"]],
                "supports_linear": True,
                "supports_mixed_types": False,
                "configure_rc": 0,
                "workspace_bytes": harness.expected_workspace(entry),
                "runtime_created": True,
                "serialized_equal": True,
                "attached": True,
                "shape_change_rc": 0,
                "device": {
                    "status": "ok",
                    "enqueue_rc": 0,
                    "captured_rc": 0,
                    "guard_intact": True,
                    "graph_identical": True,
                    "graph_guard_intact": True,
                },
            }
        )
    return {"cases": cases, "cuda": {"status": "cudaSuccess", "devices": 1}}


def test_check_passes_the_reference_and_fails_each_planted_defect(harness, small_grid, tmp_path):
    observations = _observations(harness, small_grid, tmp_path)
    result = harness.check(small_grid, tmp_path, observations)
    assert result["device"] and result["passed"] == 4 and not result["failed"], result

    y = tmp_path / "3d-odd_plain.float16.y.f32"
    values = np.fromfile(y, np.float32)
    values[3] += 0.05 * max(1.0, float(np.abs(values).max()))
    values.tofile(y)
    observations["cases"][0]["device"]["guard_intact"] = False
    observations["cases"][1]["device"]["graph_identical"] = False
    observations["cases"][2]["workspace_bytes"] += 4
    del observations["cases"][3]
    failed = {
        (f["case"], f["dtype"]): " ".join(f["problems"])
        for f in harness.check(small_grid, tmp_path, observations)["failed"]
    }
    assert "guard_intact: got False" in failed[("2d-asym_stride_pad_dil", "float32")]
    assert "graph_identical: got False" in failed[("2d-asym_stride_pad_dil", "float16")]
    assert "workspace_bytes: got" in failed[("3d-odd_plain", "float32")]
    assert "no observation" in failed[("3d-odd_plain", "float16")]


def test_check_without_a_device_judges_only_the_steps_before_cuda(harness, small_grid, tmp_path):
    observations = _observations(harness, small_grid, tmp_path)
    observations["cuda"] = {"status": "cudaErrorNoDevice (no CUDA-capable device is detected)"}
    for case in observations["cases"]:
        del case["device"]
    result = harness.check(small_grid, tmp_path, observations)
    assert not result["device"] and result["passed"] == 4
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(observations))
    args = [
        "check",
        "--grid",
        str(small_grid),
        "--outputs",
        str(tmp_path),
        "--observations",
        str(path),
    ]
    assert harness.main(args) == 0
    assert harness.main([*args, "--require-device"]) == 1


@pytest.mark.tensorrt
@pytest.mark.slow
@pytest.mark.skipif(
    not (HEADERS / "include" / "NvInferVersion.h").is_file(),
    reason="no TensorRT 11.1 headers: fetch NVIDIA/TensorRT release/11.1 include/ into "
    "third_party/tensorrt-11.1 (never commit them)",
)
@pytest.mark.skipif(
    shutil.which("nvcc") is None or shutil.which("g++") is None, reason="nvcc/g++ not on PATH"
)
def test_harness_drives_every_plugin_of_the_grid_up_to_its_first_cuda_call(harness, tmp_path):
    built = harness.build(HEADERS, tmp_path / "trt", archs="90", ptx="")
    grid, outputs = tmp_path / "grid", tmp_path / "out"
    outputs.mkdir()
    harness.write_grid(grid)
    run = subprocess.run(
        [str(built["harness"]), str(built["library"]), str(grid), str(outputs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    observations = json.loads(run.stdout)
    device = observations["cuda"]["status"] == "cudaSuccess"
    assert run.returncode == (0 if device else harness.NO_DEVICE_EXIT), run.stderr
    assert observations["creators"] == 3
    result = harness.check(grid, outputs, observations)
    assert result["cases"] == 58 and not result["failed"], result["failed"][:3]
