"""Compile the CUDA DCN kernels with nvcc (object files only, fail on any warning), and run the same
kernel source on the host against the float64 reference.

Runs on CPU machines with nvcc (CI has nvcc 13.0, no GPU). Skips with a reason when nvcc is absent.
The architecture set is the one plugins/cuda/CMakeLists.txt builds; tools/check_tensorrt_headers.sh
compiles the same set and links the TensorRT library.

Host emulation (plugins/cuda/tests/emulate_kernels.cpp): g++ compiles the unchanged im2col and GEMM
kernel headers with the CUDA built-ins emulated (one host thread per CUDA thread, a barrier for
__syncthreads). It checks the kernels' indexing and FP32-accumulation arithmetic on a CPU; it says
nothing about GPU timing, occupancy or memory-model issues (the ``gpu`` tests in
test_torch_extension.py do, where a GPU exists).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from comix.ops.geometry import DeformConvGeometry
from comix.ops.reference import deform_conv_reference

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
KERNEL_SOURCES = sorted((PLUGINS / "cuda" / "src").glob("*.cu"))
# SASS for Turing, Orin (Jetson), Hopper, Blackwell DC, Thor (CUDA 13 numbering) + PTX for later GPUs.
ARCHS = ("75", "87", "90", "100", "110")
PTX_ARCH = "100"

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not on PATH: the CUDA kernels cannot be compile-checked")


def _nvcc_version() -> tuple[int, int]:
    out = subprocess.run([NVCC, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release (\d+)\.(\d+)", out)
    assert match, f"nvcc --version: got {out!r}, expected a 'release X.Y' line"
    return int(match.group(1)), int(match.group(2))


def _compile(source: Path, gencode: list[str], out: Path) -> subprocess.CompletedProcess:
    command = [
        NVCC, "-std=c++17", "-O3", "-c", *gencode,
        "-Xcompiler=-fPIC,-Wall,-Wextra", "-Werror=all-warnings",
        f"-I{PLUGINS / 'include'}", f"-I{PLUGINS / 'cuda' / 'include'}",
        str(source), "-o", str(out),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_kernel_sources_present():
    assert [p.name for p in KERNEL_SOURCES] == ["deform_conv_forward.cu"], (
        f"plugins/cuda/src: got {[p.name for p in KERNEL_SOURCES]}, expected the one forward translation unit"
    )


@pytest.mark.parametrize("source", KERNEL_SOURCES, ids=lambda p: p.name)
def test_kernels_compile_without_warnings(source: Path, tmp_path: Path):
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHS]
    gencode.append(f"-gencode=arch=compute_{PTX_ARCH},code=compute_{PTX_ARCH}")
    result = _compile(source, gencode, tmp_path / "kernel.o")
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"nvcc {source.name}: got exit {result.returncode}, expected 0:\n{output}"
    assert output == "", f"nvcc {source.name}: got compiler output, expected none (no warnings):\n{output}"
    assert (tmp_path / "kernel.o").stat().st_size > 0


def test_sm72_state_is_known(tmp_path: Path):
    """CUDA 13 dropped sm_72 (Xavier); the README says so. Fails if a toolkit brings it back unnoticed."""
    major, _ = _nvcc_version()
    result = _compile(KERNEL_SOURCES[0], ["-gencode=arch=compute_72,code=sm_72"], tmp_path / "sm72.o")
    if major >= 13:
        assert result.returncode != 0, "nvcc >= 13 accepted sm_72: got success, expected 'Unsupported gpu architecture'"
        assert "Unsupported gpu architecture" in result.stderr
    else:
        assert result.returncode == 0, f"nvcc {major}.x should still build sm_72:\n{result.stderr}"


# ---------------------------------------------------------------------------------------------------
# Host emulation of the kernels against the float64 reference.

EMULATOR_SOURCE = PLUGINS / "cuda" / "tests" / "emulate_kernels.cpp"


def _cuda_include() -> Path:
    dry = subprocess.run([NVCC, "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True)
    top = re.search(r"^#\$ TOP=(.*)$", dry.stdout + dry.stderr, re.M)
    root = Path(top.group(1)).resolve() if top else Path(NVCC).resolve().parent.parent
    return root / "include" if (root / "include" / "cuda_fp16.h").exists() else root.parent / "include"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH: cannot build the host emulation of the kernels")
    binary = tmp_path_factory.mktemp("emulator") / "emulate_kernels"
    result = subprocess.run(
        ["g++", "-std=c++20", "-O2", "-Wall", "-Wextra", "-Wno-unknown-pragmas", "-isystem", str(_cuda_include()),
         f"-I{PLUGINS / 'cuda' / 'include'}", f"-I{PLUGINS / 'include'}", str(EMULATOR_SOURCE), "-o", str(binary),
         "-pthread"],
        capture_output=True, text=True, timeout=600,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", f"building the kernel emulator: got exit {result.returncode}:\n{output}"
    return binary


@dataclass(frozen=True)
class EmulationCase:
    name: str
    batch: int
    channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[int, ...]  # ONNX: begins then ends
    dilation: tuple[int, ...]
    group: int
    offset_group: int
    bias: bool
    mask: bool
    offset_scale: float  # offsets ~ U(-scale, scale): large values cross / leave the border
    chunk: int = 1  # samples per im2col + GEMM pass
    index_bits: int = 32
    storage_bits: int = 32  # 16: __half storage, FP32 accumulation

    @property
    def nd(self) -> int:
        return len(self.size)


_ASYM_2D = dict(batch=2, channels=4, out_channels=6, size=(7, 9), kernel=(3, 2), stride=(2, 1), pads=(1, 0, 0, 1),
                dilation=(2, 1), group=2, offset_group=2, bias=True, mask=True, offset_scale=2.5)
_OG4_3D = dict(batch=3, channels=4, out_channels=70, size=(4, 3, 5), kernel=(2, 2, 2), stride=(1, 1, 2),
               pads=(1, 0, 1, 0, 1, 1), dilation=(2, 1, 1), group=1, offset_group=4, bias=False, mask=True,
               offset_scale=1.2, chunk=2)
EMULATION_CASES = [
    EmulationCase("2d_asym_groups", **_ASYM_2D),
    EmulationCase("2d_asym_groups_chunk2_i64", **{**_ASYM_2D, "chunk": 2, "index_bits": 64}),
    EmulationCase("2d_fp16", **{**_ASYM_2D, "chunk": 2, "storage_bits": 16}),
    EmulationCase("2d_multi_tile", 1, 33, 65, (9, 11), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 1, True, False, 1.0),
    EmulationCase("2d_batch33_chunk8", 33, 2, 2, (4, 5), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, 1, True, False, 1.5,
                  chunk=8),
    EmulationCase("2d_far_outside", 1, 2, 3, (4, 4), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, 1, True, True, 40.0),
    EmulationCase("2d_batch0", 0, 4, 4, (6, 5), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, True, True, 1.0),
    EmulationCase("3d_asym_groups", 2, 4, 4, (5, 6, 7), (3, 2, 1), (2, 1, 1), (1, 0, 0, 0, 1, 0), (1, 2, 1), 2, 2,
                  True, True, 2.0, chunk=2),
    EmulationCase("3d_plain_odd_i64", 1, 3, 2, (3, 5, 7), (1, 3, 2), (1, 2, 1), (0, 1, 0, 0, 0, 1), (1, 1, 2), 1, 1,
                  False, False, 0.6, index_bits=64),
    EmulationCase("3d_og4_o70", **_OG4_3D),
    EmulationCase("3d_og4_o70_fp16", **{**_OG4_3D, "storage_bits": 16}),
]
EMULATION_TOLERANCE = {32: 1e-5, 16: 2e-3}  # max abs error / max(1, output scale)


@pytest.mark.parametrize("case", EMULATION_CASES, ids=[c.name for c in EMULATION_CASES])
def test_kernels_match_reference_in_host_emulation(emulator: Path, case: EmulationCase, tmp_path: Path):
    nd = case.nd
    geometry = DeformConvGeometry.build(nd, case.kernel, case.stride, list(case.pads), case.dilation, case.group,
                                        case.offset_group)
    out = geometry.output_size(case.size)
    points = geometry.kernel_points
    rng = np.random.default_rng(7)
    offsets = (rng.random((case.batch, case.offset_group * points * nd, *out)) * 2 - 1) * case.offset_scale
    tensors = {
        "x": rng.standard_normal((case.batch, case.channels, *case.size)).astype(np.float32),
        "w": (rng.standard_normal((case.out_channels, case.channels // case.group, *case.kernel)) * 0.3).astype(np.float32),
        "offset": offsets.astype(np.float32),
        "bias": rng.standard_normal(case.out_channels).astype(np.float32) if case.bias else None,
        "mask": rng.random((case.batch, case.offset_group * points, *out)).astype(np.float32) if case.mask else None,
    }
    for key, value in tensors.items():
        if value is not None:
            value.tofile(tmp_path / f"{key}.f32")

    def triple(values, fill):  # the emulator takes [D, H, W]; 2-D leaves D at the neutral value
        return [fill] * (3 - nd) + list(values)

    args = [nd, case.batch, case.channels, case.out_channels, *triple(case.size, 1), *triple(case.kernel, 1),
            *triple(case.stride, 1), *triple(case.pads[:nd], 0), *triple(case.pads[nd:], 0),
            *triple(case.dilation, 1), case.group, case.offset_group, int(case.bias), int(case.mask), case.chunk,
            case.index_bits, case.storage_bits]
    result = subprocess.run([str(emulator), str(tmp_path), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{case.name}: emulator exit {result.returncode}:\n{result.stderr}"
    got = np.fromfile(tmp_path / "y.f32", dtype=np.float32).reshape(case.batch, case.out_channels, *out)
    # Reference from the stored values (FP16-rounded for FP16 storage): only the kernel's own error counts.
    stored = {k: None if v is None else (v.astype(np.float16) if case.storage_bits == 16 else v).astype(np.float64)
              for k, v in tensors.items()}
    expected = deform_conv_reference(stored["x"], stored["offset"], stored["w"], stored["bias"], stored["mask"], geometry)
    assert got.shape == expected.shape
    if expected.size == 0:
        return
    scale_out = max(1.0, float(np.abs(expected).max()))
    error = float(np.abs(got - expected).max())
    tolerance = EMULATION_TOLERANCE[case.storage_bits]
    assert error <= tolerance * scale_out, (
        f"{case.name}: got max abs error {error:.3e}, expected <= {tolerance:.0e} x output scale {scale_out:.3f}"
    )


# ---------------------------------------------------------------------------------------------------
# Host-side API behaviour (no GPU needed): workspace, argument errors, launch errors returned.


@pytest.fixture(scope="module")
def host_api(tmp_path_factory) -> dict:
    import json

    binary = tmp_path_factory.mktemp("host_api") / "host_api_check"
    build = subprocess.run(
        [NVCC, "-std=c++17", "-O1", "-gencode=arch=compute_90,code=sm_90", "-Werror=all-warnings",
         "-Xcompiler=-Wall,-Wextra", f"-I{PLUGINS / 'include'}", f"-I{PLUGINS / 'cuda' / 'include'}",
         str(PLUGINS / "cuda" / "tests" / "host_api_check.cpp"), str(KERNEL_SOURCES[0]), "-o", str(binary)],
        capture_output=True, text=True, timeout=600,
    )
    output = (build.stdout + build.stderr).strip()
    assert build.returncode == 0 and output == "", f"building host_api_check: got exit {build.returncode}:\n{output}"
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"host_api_check: got exit {run.returncode}:\n{run.stderr}"
    return json.loads(run.stdout)


def test_workspace_is_monotone_in_every_size(host_api):
    budget = 1000
    big, small = host_api["per_sample_big"], host_api["per_sample_small"]
    assert (big, small) == (512, 256)
    assert host_api["ws_big"] == min(4 * big, max(big, budget))
    assert host_api["ws_small_sample"] <= host_api["ws_big"], "smaller samples must not need more workspace"
    assert host_api["ws_small_batch"] <= host_api["ws_big"]
    assert host_api["ws_small_batch"] >= big and host_api["ws_small_sample"] >= small
    assert host_api["ws_big_default_budget"] == 4 * big  # far below the 256 MiB default budget: all samples


def test_argument_errors_carry_got_and_expected(host_api):
    invalid_value = 1  # cudaErrorInvalidValue
    assert host_api["empty_batch"] == {"status": 0, "message": ""}
    expectations = {
        "small_workspace": "workspace: got 100 bytes, expected >= 512",
        "bias_missing": "has_bias=1",
        "wrong_output_size": "output size: got (1, 7, 8), expected (1, 8, 8)",
        "bad_storage": "storage: got 7, expected",
    }
    for case, text in expectations.items():
        assert host_api[case]["status"] == invalid_value, f"{case}: got {host_api[case]}, expected cudaErrorInvalidValue"
        assert text in host_api[case]["message"], f"{case}: got {host_api[case]['message']!r}, expected {text!r}"


def test_launch_error_is_returned_without_a_device(host_api):
    if host_api["device_status"] == 0 and host_api["devices"] > 0:
        pytest.skip("a CUDA device is usable here: the no-device launch path cannot be exercised")
    result = host_api["launch_without_device"]
    assert result["status"] != 0, f"launch without a device: got success, expected the CUDA error {host_api['device_status']}"
    assert "launch" in result["message"] and "cudaError" in result["message"], result
