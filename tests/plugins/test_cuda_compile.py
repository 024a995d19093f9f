"""Compile the CUDA DCN kernels with nvcc (object files only, fail on any warning), and run the same
kernel source on the host against the float64 reference.

Runs on CPU machines with nvcc (CI has nvcc 13.0, no GPU). Skips with a reason when nvcc is absent.
The architecture set is the one plugins/cuda/CMakeLists.txt builds; tools/check_tensorrt_headers.sh
compiles the same set and links the TensorRT library.

Host emulation (plugins/cuda/tests/emulate_kernels.cpp): g++ compiles the unchanged im2col and GEMM
kernel headers with the CUDA built-ins emulated (one host thread per CUDA thread, a barrier for
__syncthreads) and runs them through the kernel file's own launch plan (plugins/cuda/src/launch_plan.h:
checks, chunk loop, grid clamps, 32/64-bit index choice, empty-plane branch), with small grid limits so
the kernels' grid-stride and batch loops run too. It checks the kernels' indexing, FP32-accumulation
arithmetic and the launch plan on a CPU; it says nothing about GPU timing, occupancy or memory-model
issues (the ``gpu`` tests in test_torch_extension.py and the plugin harness do, where a GPU exists).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from comix.ops.cases import (
    DcnCase,
    DcnInputs,
    case_named,
    cases_for,
    reference_output,
    shifted_convolution,
)
from comix.ops.tolerance import assert_matches_reference

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
KERNEL_SOURCES = sorted((PLUGINS / "cuda" / "src").glob("*.cu"))
ARCHITECTURES = PLUGINS / "cuda" / "architectures.cmake"

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(
    NVCC is None, reason="nvcc not on PATH: the CUDA kernels cannot be compile-checked"
)

# `nvcc --list-gpu-arch` of three toolkits (12.6 = JetPack 6; 12.8 = first Blackwell; 13.0)
NVCC_LISTS = {
    "12.6": "compute_50 compute_52 compute_53 compute_60 compute_61 compute_62 compute_70 compute_72 "
    "compute_75 compute_80 compute_86 compute_87 compute_89 compute_90",
    "12.8": "compute_50 compute_52 compute_53 compute_60 compute_61 compute_62 compute_70 compute_72 "
    "compute_75 compute_80 compute_86 compute_87 compute_89 compute_90 compute_100 compute_101 "
    "compute_120",
    "13.0": "compute_75 compute_80 compute_86 compute_87 compute_88 compute_89 compute_90 compute_100 "
    "compute_110 compute_103 compute_120 compute_121",
}


def default_architectures(nvcc_list: str) -> tuple[tuple[str, ...], str]:
    """(SASS archs, PTX arch) that plugins/cuda/architectures.cmake picks for an nvcc arch list."""
    result = subprocess.run(
        ["cmake", f"-DNVCC_LIST={nvcc_list}", "-P", str(ARCHITECTURES)],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.fullmatch(r"SASS ([\d ]+) PTX (\d+)", (result.stdout + result.stderr).strip())
    assert match, f"architectures.cmake: got {result.stdout + result.stderr!r}"
    return tuple(match.group(1).split()), match.group(2)


def _this_nvcc_architectures() -> tuple[tuple[str, ...], str]:
    if NVCC is None or shutil.which("cmake") is None:
        return ("90",), "90"
    listed = subprocess.run([NVCC, "--list-gpu-arch"], capture_output=True, text=True).stdout
    return default_architectures(listed)


# what CMake builds by default with this nvcc
ARCHS, PTX_ARCH = _this_nvcc_architectures()


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not on PATH")
@pytest.mark.parametrize(
    "version, sass, ptx",
    [
        ("12.6", ("75", "87", "90"), "90"),
        ("12.8", ("75", "87", "90", "100"), "100"),
        ("13.0", ("75", "87", "90", "100", "110"), "100"),
    ],
)
def test_default_architectures_are_those_the_nvcc_in_use_accepts(version, sass, ptx):
    """JetPack 6's nvcc 12.6 rejects sm_100/sm_110: the default takes them only from an nvcc listing them."""
    assert default_architectures(NVCC_LISTS[version]) == (sass, ptx)


def test_this_nvccs_default_is_what_it_lists():
    listed = subprocess.run([NVCC, "--list-gpu-arch"], capture_output=True, text=True).stdout
    assert set(ARCHS) <= {a.split("_")[1] for a in listed.split()}
    if _nvcc_version() >= (13, 0):
        assert ARCHS == ("75", "87", "90", "100", "110") and PTX_ARCH == "100"


def _nvcc_version() -> tuple[int, int]:
    out = subprocess.run([NVCC, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release (\d+)\.(\d+)", out)
    assert match, f"nvcc --version: got {out!r}, expected a 'release X.Y' line"
    return int(match.group(1)), int(match.group(2))


def _compile(source: Path, gencode: list[str], out: Path) -> subprocess.CompletedProcess:
    command = [
        NVCC,
        "-std=c++17",
        "-O3",
        "-c",
        *gencode,
        "-Xcompiler=-fPIC,-Wall,-Wextra",
        "-Werror=all-warnings",
        f"-I{PLUGINS / 'include'}",
        f"-I{PLUGINS / 'cuda' / 'include'}",
        str(source),
        "-o",
        str(out),
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
    assert result.returncode == 0, (
        f"nvcc {source.name}: got exit {result.returncode}, expected 0:\n{output}"
    )
    assert output == "", (
        f"nvcc {source.name}: got compiler output, expected none (no warnings):\n{output}"
    )
    assert (tmp_path / "kernel.o").stat().st_size > 0


def test_sm72_state_is_known(tmp_path: Path):
    """CUDA 13 dropped sm_72 (Xavier); the README says so. Fails if a toolkit brings it back unnoticed."""
    major, _ = _nvcc_version()
    result = _compile(
        KERNEL_SOURCES[0], ["-gencode=arch=compute_72,code=sm_72"], tmp_path / "sm72.o"
    )
    if major >= 13:
        assert result.returncode != 0, (
            "nvcc >= 13 accepted sm_72: got success, expected 'Unsupported gpu architecture'"
        )
        assert "Unsupported gpu architecture" in result.stderr
    else:
        assert result.returncode == 0, f"nvcc {major}.x should still build sm_72:\n{result.stderr}"


# ---------------------------------------------------------------------------------------------------
# Host emulation of the kernels against the float64 reference.

EMULATOR_SOURCE = PLUGINS / "cuda" / "tests" / "emulate_kernels.cpp"


def _cuda_include() -> Path:
    dry = subprocess.run(
        [NVCC, "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True
    )
    top = re.search(r"^#\$ TOP=(.*)$", dry.stdout + dry.stderr, re.M)
    root = Path(top.group(1)).resolve() if top else Path(NVCC).resolve().parent.parent
    return (
        root / "include" if (root / "include" / "cuda_fp16.h").exists() else root.parent / "include"
    )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH: cannot build the host emulation of the kernels")
    binary = tmp_path_factory.mktemp("emulator") / "emulate_kernels"
    result = subprocess.run(
        [
            "g++",
            "-std=c++20",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Wno-unknown-pragmas",
            "-isystem",
            str(_cuda_include()),
            f"-I{PLUGINS / 'cuda' / 'include'}",
            f"-I{PLUGINS / 'include'}",
            str(EMULATOR_SOURCE),
            "-o",
            str(binary),
            "-pthread",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", (
        f"building the kernel emulator: got exit {result.returncode}:\n{output}"
    )
    return binary


class Launch(NamedTuple):
    """How the emulator runs a grid case: samples per im2col + GEMM pass, index width, storage."""

    chunk: int = 2
    index_bits: int = 32
    storage: str = "float32"  # float16: __half storage, FP32 accumulation


def _emulation_params() -> list:
    params = []
    for case in cases_for("cuda-emulation"):
        params.append(pytest.param(case, Launch(), id=f"{case.id}-fp32"))
        params.append(pytest.param(case, Launch(storage="float16"), id=f"{case.id}-fp16"))
    for case_id, launch in (
        ("2d-asym_stride_pad_dil", Launch(chunk=1, index_bits=64)),
        ("3d-odd_plain", Launch(index_bits=64)),
        ("3d-non_finite", Launch(chunk=3, index_bits=64)),
        ("2d-batch33", Launch(chunk=8)),
    ):
        params.append(
            pytest.param(
                case_named(case_id),
                launch,
                id=f"{case_id}-chunk{launch.chunk}-i{launch.index_bits}",
            )
        )
    return params


def run_emulator(
    emulator: Path, case: DcnCase, inputs: DcnInputs, launch: Launch, folder: Path
) -> tuple[np.ndarray, dict]:
    """Run the kernels on the host for ``inputs`` (stored as float32 files); returns Y as float64 and
    what the launch plan did (chunk, chunks, index bits, launches, grid clamps)."""
    for key, value in zip(("x", "offset", "w", "bias", "mask"), inputs.arrays()):
        if value is not None:
            value.astype(np.float32).tofile(folder / f"{key}.f32")
    nd = case.ndim

    def triple(values, fill):  # the emulator takes [D, H, W]; 2-D leaves D at the neutral value
        return [fill] * (3 - nd) + list(values)

    args = [
        nd,
        case.batch,
        case.channels,
        case.out_channels,
        *triple(case.size, 1),
        *triple(case.kernel, 1),
        *triple(case.stride, 1),
        *triple(case.pads[:nd], 0),
        *triple(case.pads[nd:], 0),
        *triple(case.dilation, 1),
        case.group,
        case.offset_group,
        int(case.bias),
        int(case.mask),
        launch.chunk,
        launch.index_bits,
        16 if launch.storage == "float16" else 32,
    ]
    result = subprocess.run(
        [str(emulator), str(folder), *map(str, args)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{case.id}: emulator exit {result.returncode}:\n{result.stderr}"
    out = case.output_size()
    y = np.fromfile(folder / "y.f32", dtype=np.float32).reshape(case.batch, case.out_channels, *out)
    return y.astype(np.float64), json.loads(result.stdout)


@pytest.mark.parametrize("case, launch", _emulation_params())
def test_kernels_match_reference_in_host_emulation(
    emulator: Path, case: DcnCase, launch: Launch, tmp_path: Path
):
    """The unchanged kernel source against the float64 reference of the values as stored (FP16-rounded for
    FP16 storage), on the shared grid; NaN/Inf must appear exactly where the reference has them."""
    inputs = case.inputs(launch.storage)
    got, trace = run_emulator(emulator, case, inputs, launch, tmp_path)
    if case.batch > 0:
        chunk = min(launch.chunk, case.batch)
        assert (trace["chunk"], trace["chunks"]) == (chunk, -(-case.batch // chunk)), trace
        assert trace["index_bits"] == launch.index_bits, trace
        assert trace["gemm_launches"] == trace["chunks"] and trace["last_grid_z"] <= 2, trace
        assert 0 < trace["last_im2col_blocks"] <= 3, trace
    else:
        assert trace["chunks"] == 0, "an empty batch launches nothing"
    assert_matches_reference(
        got, reference_output(case, launch.storage), launch.storage, f"{case.id} (emulated CUDA)"
    )
    if case.offsets.kind == "shift":
        assert_matches_reference(
            got, shifted_convolution(case, inputs), launch.storage, f"{case.id} vs shifted conv"
        )


@pytest.mark.parametrize("nd", [2, 3])
def test_empty_input_planes_take_the_zero_fill_branch(emulator: Path, nd: int, tmp_path: Path):
    """An input of size 0 along one axis, padded to a non-empty output: the plan's empty-plane branch
    zero-fills the columns (no gather), so every output is the bias."""
    size, kernel = (0, 4, 3)[:nd], (1,) * nd
    pads = (1,) + (0,) * (nd - 1) + (1,) + (0,) * (nd - 1)
    case = DcnCase("empty_plane", size, kernel, (1,) * nd, pads, (1,) * nd, batch=3, mask=False)
    inputs = case.inputs("float32")
    got, trace = run_emulator(emulator, case, inputs, Launch(chunk=2), tmp_path)
    assert trace["zero_fills"] == trace["chunks"] == 2 and trace["im2col_launches"] == 0, trace
    expected = np.broadcast_to(
        inputs.bias.astype(np.float64).reshape(1, -1, *([1] * nd)), got.shape
    )
    assert got.shape == (3, case.out_channels, *case.output_size())
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------------------------------------------
# Host-side API behaviour (no GPU needed): workspace, argument errors, launch errors returned.


@pytest.fixture(scope="module")
def host_api(tmp_path_factory) -> dict:
    import json

    binary = tmp_path_factory.mktemp("host_api") / "host_api_check"
    build = subprocess.run(
        [
            NVCC,
            "-std=c++17",
            "-O1",
            "-gencode=arch=compute_90,code=sm_90",
            "-Werror=all-warnings",
            "-Xcompiler=-Wall,-Wextra",
            f"-I{PLUGINS / 'include'}",
            f"-I{PLUGINS / 'cuda' / 'include'}",
            str(PLUGINS / "cuda" / "tests" / "host_api_check.cpp"),
            str(KERNEL_SOURCES[0]),
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = (build.stdout + build.stderr).strip()
    assert build.returncode == 0 and output == "", (
        f"building host_api_check: got exit {build.returncode}:\n{output}"
    )
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"host_api_check: got exit {run.returncode}:\n{run.stderr}"
    return json.loads(run.stdout)


def test_workspace_is_monotone_in_every_size(host_api):
    budget = 1000
    big, small = host_api["per_sample_big"], host_api["per_sample_small"]
    assert (big, small) == (512, 256)
    assert host_api["ws_big"] == min(4 * big, max(big, budget))
    assert host_api["ws_small_sample"] <= host_api["ws_big"], (
        "smaller samples must not need more workspace"
    )
    assert host_api["ws_small_batch"] <= host_api["ws_big"]
    assert host_api["ws_small_batch"] >= big and host_api["ws_small_sample"] >= small
    assert (
        host_api["ws_big_default_budget"] == 4 * big
    )  # far below the 256 MiB default budget: all samples


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
        assert host_api[case]["status"] == invalid_value, (
            f"{case}: got {host_api[case]}, expected cudaErrorInvalidValue"
        )
        assert text in host_api[case]["message"], (
            f"{case}: got {host_api[case]['message']!r}, expected {text!r}"
        )


def test_launch_error_is_returned_without_a_device(host_api):
    if host_api["device_status"] == 0 and host_api["devices"] > 0:
        pytest.skip("a CUDA device is usable here: the no-device launch path cannot be exercised")
    result = host_api["launch_without_device"]
    assert result["status"] != 0, (
        f"launch without a device: got success, expected the CUDA error {host_api['device_status']}"
    )
    assert "launch" in result["message"] and "cudaError" in result["message"], result
