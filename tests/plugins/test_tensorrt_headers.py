"""Compile the TensorRT plugin library against every TensorRT header set available, without warnings.

TensorRT headers are not in any installable package here and must never be committed; they come from
``TensorRT_ROOT`` (a folder with include/NvInferVersion.h) or from ``third_party/tensorrt-<version>/``
(fetched from the public NVIDIA/TensorRT repository, see plugins/tensorrt/README.md). Without them, or
without nvcc, the tests skip with the reason. The full architecture set is checked by
``tools/check_tensorrt_headers.sh``; here one architecture keeps the test short.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "check_tensorrt_headers.sh"

pytestmark = [pytest.mark.tensorrt, pytest.mark.slow]


def header_sets() -> dict[str, Path]:
    """version -> folder holding include/NvInferVersion.h (TensorRT_ROOT first, then third_party/)."""
    found: dict[str, Path] = {}
    root = os.environ.get("TensorRT_ROOT")  # noqa: SIM112 - CMake's variable name
    if root and (Path(root) / "include" / "NvInferVersion.h").is_file():
        found[header_version(Path(root))] = Path(root)
    for folder in sorted((REPO / "third_party").glob("tensorrt-*")):
        if (folder / "include" / "NvInferVersion.h").is_file():
            found.setdefault(header_version(folder), folder)
    return found


def header_version(folder: Path) -> str:
    text = (folder / "include" / "NvInferVersion.h").read_text()
    numbers = {}
    for part in ("MAJOR", "MINOR"):
        match = re.search(rf"#define (?:TRT_{part}_ENTERPRISE|NV_TENSORRT_{part}) (\d+)", text)
        assert match, f"{folder}: NvInferVersion.h has no numeric {part} version"
        numbers[part] = match.group(1)
    return f"{numbers['MAJOR']}.{numbers['MINOR']}"


SETS = header_sets()


def _skip_reason() -> str | None:
    if shutil.which("nvcc") is None:
        return "nvcc not on PATH (the plugin library links the CUDA kernels)"
    if not SETS:
        return (
            "no TensorRT headers: set TensorRT_ROOT or fetch include/ of NVIDIA/TensorRT release/<version> "
            "into third_party/tensorrt-<version>/ (never commit them)"
        )
    return None


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
@pytest.mark.parametrize("version", sorted(SETS) or ["none"])
def test_plugin_library_compiles_and_links_without_warnings(version: str, tmp_path: Path):
    staged = tmp_path / "headers"
    staged.mkdir()
    (staged / f"tensorrt-{version}").symlink_to(SETS[version])
    result = subprocess.run(
        [
            "bash",
            str(SCRIPT),
            str(staged),
            "--archs",
            "90",
            "--ptx",
            "",
            "--only",
            version,
            "--out",
            str(tmp_path / "build"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"check_tensorrt_headers.sh for {version}: got exit {result.returncode}:\n{output}"
    )
    summary = [line for line in output.splitlines() if line.startswith(f"TensorRT {version}:")]
    assert summary, f"got no summary line for {version}:\n{output}"
    assert (
        "errors=0 warnings=0 link_rc=0 exports=[getCreators setLoggerFinder] nvinfer/libcuda NEEDED=0"
        in summary[0]
    )
    assert (tmp_path / "build" / version / "libcomix_trt_plugins.so").is_file()
