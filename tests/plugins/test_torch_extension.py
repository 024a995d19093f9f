"""The PyTorch CUDA extension (plugins/torch) against the float64 loop reference.

GPU tests (marker ``gpu``) build the extension and compare it with comix.ops.reference on the shared
adversarial grid (comix.ops.cases: asymmetric stride/pad/dilation, non-square kernels, groups, offset
groups, batch 0 and 33, odd sizes, out-of-border/whole-number/on-border offsets, NaN/Inf inputs, one-axis
shifts) and a non-contiguous input, in FP32 and FP16, with the tolerance table of comix.ops.tolerance;
they skip with the reason where no CUDA GPU / CUDA torch exists. The CPU tests check argument handling
and that the binding source compiles against the installed torch headers.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import torch

from comix.ops import deform_conv, deform_conv3d
from comix.ops.cases import DcnCase, case_named, cases_for, reference_output, shifted_convolution
from comix.ops.tolerance import assert_matches_reference, dtype_name
from comix.plugins.torch import ExtensionBuildError, load_extension

REPO = Path(__file__).resolve().parents[2]
HAS_GPU = torch.cuda.is_available()
GPU_REASON = (
    f"no CUDA GPU (torch {torch.__version__}, torch.version.cuda={torch.version.cuda}, "
    f"cuda available={torch.cuda.is_available()}): the CUDA kernels are compile-checked only"
)

GRID = [pytest.param(c, id=c.id) for c in cases_for("gpu")]


def _geometry_and_tensors(case: DcnCase, dtype: torch.dtype, seed: int = 0):
    """The case's geometry and its tensors on the GPU, drawn in the storage dtype (so the reference sees
    exactly the values the kernel reads)."""
    inputs = case.inputs(dtype_name(dtype), seed)
    return case.geometry(), inputs, inputs.torch("cuda")


def test_the_extension_implements_the_ops_own_cuda_key():
    """The bindings register kernels for comix::deform_conv2d/3d (not a side entry point of their own)."""
    source = (REPO / "plugins" / "torch" / "csrc" / "deform_conv_bindings.cpp").read_text()
    assert "TORCH_LIBRARY_IMPL(comix, CUDA, m)" in source
    assert 'm.impl("deform_conv2d"' in source and 'm.impl("deform_conv3d"' in source
    assert "m.def(" not in source
    assert "c10::optional" not in source, "deprecated in PyTorch: std::optional"


def test_a_failed_jit_build_is_reported_as_a_build_error(monkeypatch):
    """A compiler error must not read like a missing GPU (the GPU tests then fail as build errors)."""
    import torch.utils.cpp_extension

    import comix.plugins.torch as extension

    def failing_load(**kwargs):
        raise RuntimeError("Error building extension 'comix_dcn_cuda_ext':\nnvcc fatal: bad flag")

    monkeypatch.setattr(extension, "_EXTENSION", None)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.utils.cpp_extension, "load", failing_load)
    with pytest.raises(ExtensionBuildError, match="the JIT build failed") as error:
        load_extension()
    assert "nvcc fatal: bad flag" in str(error.value) and "GPU" in str(error.value)
    assert not extension.extension_loaded()


def test_tf32_switch_restores_the_previous_state():
    from comix.plugins.torch.tf32 import set_tf32, tf32, tf32_state

    before = tf32_state()
    try:
        set_tf32(True)
        with tf32(False):
            assert tf32_state() == {"cudnn": False, "matmul": False}
        assert tf32_state() == {"cudnn": True, "matmul": True}
    finally:
        torch.backends.cudnn.allow_tf32 = before["cudnn"]
        torch.backends.cuda.matmul.allow_tf32 = before["matmul"]


def _c10_cuda_stub(tmp_path: Path) -> Path:
    # CPU torch wheels lack this generated header; a CUDA build of torch has it. Syntax check only.
    stub = tmp_path / "stub" / "c10" / "cuda" / "impl"
    stub.mkdir(parents=True)
    (stub / "cuda_cmake_macros.h").write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    return tmp_path / "stub"


@pytest.mark.slow
def test_binding_source_compiles_against_torch_headers(tmp_path: Path):
    nvcc = shutil.which("nvcc")
    if nvcc is None or shutil.which("g++") is None:
        pytest.skip("nvcc/g++ not on PATH: no CUDA runtime headers to compile the binding against")
    cuda_include = Path(nvcc).resolve().parent.parent / "include"
    dry = subprocess.run(
        [nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True
    )
    for line in (dry.stdout + dry.stderr).splitlines():
        if line.startswith("#$ TOP="):
            top = Path(line.split("=", 1)[1]).resolve()
            cuda_include = top / "include" if (top / "include").exists() else top.parent / "include"
    torch_include = Path(torch.__file__).parent / "include"
    command = [
        "g++",
        "-std=c++17",
        "-fsyntax-only",
        "-Wall",
        "-Wextra",
        "-DTORCH_EXTENSION_NAME=_C",
        "-DTORCH_API_INCLUDE_EXTENSION_H",
        "-isystem",
        str(_c10_cuda_stub(tmp_path)),
        "-isystem",
        str(torch_include),
        "-isystem",
        str(torch_include / "torch" / "csrc" / "api" / "include"),
        "-isystem",
        sysconfig.get_paths()["include"],
        "-isystem",
        str(cuda_include),
        f"-I{REPO / 'plugins' / 'include'}",
        f"-I{REPO / 'plugins' / 'cuda' / 'include'}",
        str(REPO / "plugins" / "torch" / "csrc" / "deform_conv_bindings.cpp"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", (
        f"binding syntax check: got exit {result.returncode}:\n{output}"
    )


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("case", GRID)
def test_matches_float64_reference(case: DcnCase, dtype: torch.dtype):
    """The shared grid (incl. NaN/Inf inputs and the one-axis shifts) against the reference of the values as
    stored, with the tolerance table of comix.ops.tolerance."""
    load_extension()
    assert torch._C._dispatch_has_kernel_for_dispatch_key("comix::deform_conv3d", "CUDA")
    geometry, inputs, tensors = _geometry_and_tensors(case, dtype)
    with torch.no_grad():
        y = deform_conv(*tensors, geometry)
    torch.cuda.synchronize()
    assert y.dtype == dtype
    assert_matches_reference(
        y, reference_output(case, dtype_name(dtype)), dtype, f"{case.id} (CUDA)"
    )
    if case.offsets.kind == "shift":
        assert_matches_reference(
            y, shifted_convolution(case, inputs), dtype, f"{case.id} (CUDA) vs shifted conv"
        )


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
def test_non_contiguous_input_and_public_wrappers():
    load_extension()
    case = case_named("3d-asym_stride_pad_dil")
    geometry, _, (x, off, w, b, m) = _geometry_and_tensors(case, torch.float32, seed=3)
    x_nc = x.transpose(3, 4).contiguous().transpose(3, 4)  # same values, non-contiguous strides
    assert not x_nc.is_contiguous()
    with torch.no_grad():
        y = deform_conv3d(
            x_nc, off, w, b, m, stride=case.stride, padding=list(case.pads), dilation=case.dilation
        )
        y_ref = deform_conv(x, off, w, b, m, geometry)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
def test_bad_shapes_raise_with_got_expected():
    geometry, _, (x, off, w, b, m) = _geometry_and_tensors(
        case_named("2d-asym_stride_pad_dil"), torch.float32
    )
    load_extension()
    attributes = (
        list(geometry.kernel),
        list(geometry.stride),
        geometry.onnx_pads,
        list(geometry.dilation),
        geometry.group,
        geometry.offset_group,
    )
    with pytest.raises(
        RuntimeError, match="got shape"
    ):  # straight to the CUDA kernel, past the Python checks
        torch.ops.comix.deform_conv2d(x, off[:, :-1], w, b, m, *attributes)
    with pytest.raises(RuntimeError, match="expected float32 or float16"):
        torch.ops.comix.deform_conv2d(x.double(), off.double(), w.double(), None, None, *attributes)
