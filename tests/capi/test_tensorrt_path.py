"""The C API's TensorRT path compiles without warnings against every TensorRT header set available and
needs exactly libnvinfer's runtime entry points, CUDA runtime calls and our plugin library's getCreators.

It cannot run here (no GPU, no libnvinfer): plugins/capi/README.md lists it as "not run". Headers come from
TensorRT_ROOT or third_party/tensorrt-<version>/ (never committed); without them, or without nvcc (it
locates the CUDA headers), the test skips with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "plugins" / "capi" / "check_tensorrt.sh"

pytestmark = pytest.mark.tensorrt


def header_sets() -> list[Path]:
    found = sorted(
        p
        for p in (REPO / "third_party").glob("tensorrt-*")
        if (p / "include" / "NvInferVersion.h").is_file()
    )
    root = os.environ.get("TensorRT_ROOT")  # noqa: SIM112 (CMake's variable name, as the plugin tests use)
    if root and (Path(root) / "include" / "NvInferVersion.h").is_file():
        found.insert(0, Path(root))
    return found


def ort_headers() -> Path | None:
    found = sorted(
        (REPO / "plugins" / "build" / "third_party").glob(
            "onnxruntime-*/include/onnxruntime_c_api.h"
        )
    )
    return found[0].parent if found else None


def skip_reason() -> str | None:
    if shutil.which("nvcc") is None:
        return "nvcc not on PATH (it locates the CUDA runtime headers the TensorRT path includes)"
    if not header_sets():
        return (
            "no TensorRT headers: set TensorRT_ROOT or fetch include/ of NVIDIA/TensorRT into "
            "third_party/tensorrt-<version>/"
        )
    if ort_headers() is None:
        return "no ONNX Runtime headers yet: run `comix plugins build` once (it fetches them)"
    return None


@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
@pytest.mark.parametrize("folder", header_sets() or [Path("none")], ids=lambda p: p.name)
def test_tensorrt_path_compiles_against_the_headers(folder, tmp_path):
    staged = tmp_path / "headers"
    staged.mkdir()
    (
        staged / folder.name if folder.name.startswith("tensorrt-") else staged / "tensorrt-root"
    ).symlink_to(folder)
    result = subprocess.run(
        ["bash", str(SCRIPT), str(staged), "--out", str(tmp_path / "build")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ONNXRUNTIME_INCLUDE_DIR": str(ort_headers())},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = [line for line in output.splitlines() if line.startswith("TensorRT ")]
    assert len(summary) == 1, output
    assert summary[0].endswith(
        "compile errors=0 warnings=0 needs=[createInferRuntime_INTERNAL getCreators getInferLibVersion] "
        "unexpected=[]"
    ), summary[0]
