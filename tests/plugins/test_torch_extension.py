"""The PyTorch CUDA extension (plugins/torch) against the float64 loop reference.

GPU tests (marker ``gpu``) build the extension and compare it with comix.ops.reference on an adversarial
grid (asymmetric stride/pad/dilation, non-square kernels, groups, offset groups, batch 0 and 33, odd
sizes, out-of-border offsets, non-contiguous input) in FP32 and FP16; they skip with the reason where
no CUDA GPU / CUDA torch exists. The CPU tests check argument handling and that the binding source
compiles against the installed torch headers.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from comix.ops.geometry import DeformConvGeometry
from comix.ops.reference import deform_conv_reference
from comix.ops import deform_conv, deform_conv3d
from comix.plugins.torch import load_extension

REPO = Path(__file__).resolve().parents[2]
HAS_GPU = torch.cuda.is_available()
GPU_REASON = (
    f"no CUDA GPU (torch {torch.__version__}, torch.version.cuda={torch.version.cuda}, "
    f"cuda available={torch.cuda.is_available()}): the CUDA kernels are compile-checked only"
)

# Tolerances (max abs error) relative to the output scale max(|reference|, 1 for FP32).
TOLERANCE = {torch.float32: 1e-4, torch.float16: 2e-3}


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    channels: int
    out_channels: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]  # ONNX begins then ends
    dilation: tuple[int, ...]
    group: int
    offset_group: int
    bias: bool
    mask: bool
    offset_scale: float  # offsets ~ U(-scale, scale): large values push samples across / past the border


CASES = [
    Case("2d_asym_groups", 2, 4, 6, (7, 9), (3, 2), (2, 1), (1, 0, 0, 1), (2, 1), 2, 2, True, True, 2.5),
    Case("2d_plain", 1, 3, 5, (5, 6), (1, 3), (1, 2), (0, 1, 2, 0), (1, 1), 1, 1, False, False, 0.7),
    Case("2d_batch0", 0, 4, 4, (6, 5), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, 2, True, True, 1.0),
    Case("2d_batch33", 33, 2, 2, (4, 5), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, 1, True, False, 1.5),
    Case("2d_far_outside", 1, 2, 3, (4, 4), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1, 1, True, True, 40.0),
    Case("3d_asym_groups", 2, 4, 4, (5, 6, 7), (3, 2, 1), (2, 1, 1), (1, 0, 0, 0, 1, 0), (1, 2, 1), 2, 2, True, True, 2.0),
    Case("3d_plain_odd", 1, 3, 2, (3, 5, 7), (1, 3, 2), (1, 2, 1), (0, 1, 0, 0, 0, 1), (1, 1, 2), 1, 1, False, False, 0.6),
    Case("3d_og4", 1, 4, 8, (4, 3, 5), (2, 2, 2), (1, 1, 2), (1, 0, 1, 0, 1, 1), (2, 1, 1), 4, 4, True, True, 1.2),
    Case("3d_batch0", 0, 2, 2, (3, 3, 3), (3, 3, 3), (1, 1, 1), (1, 1, 1, 1, 1, 1), (1, 1, 1), 1, 1, True, True, 1.0),
]


def make_inputs(case: Case, dtype: torch.dtype, device: str, seed: int = 0):
    nd = len(case.size)
    geometry = DeformConvGeometry.build(
        nd, case.kernel, case.stride, list(case.padding), case.dilation, case.group, case.offset_group
    )
    out = geometry.output_size(case.size)
    g = torch.Generator().manual_seed(seed)
    points = geometry.kernel_points
    x = torch.randn(case.batch, case.channels, *case.size, generator=g)
    w = torch.randn(case.out_channels, case.channels // case.group, *case.kernel, generator=g) * 0.3
    off = (torch.rand(case.batch, case.offset_group * points * nd, *out, generator=g) * 2 - 1) * case.offset_scale
    b = torch.randn(case.out_channels, generator=g) if case.bias else None
    m = torch.rand(case.batch, case.offset_group * points, *out, generator=g) if case.mask else None
    to = (lambda t: None if t is None else t.to(device=device, dtype=dtype))
    return geometry, to(x), to(off), to(w), to(b), to(m)


def test_the_extension_implements_the_ops_own_cuda_key():
    """The bindings register kernels for comix::deform_conv2d/3d (not a side entry point of their own)."""
    source = (REPO / "plugins" / "torch" / "csrc" / "deform_conv_bindings.cpp").read_text()
    assert "TORCH_LIBRARY_IMPL(comix, CUDA, m)" in source
    assert 'm.impl("deform_conv2d"' in source and 'm.impl("deform_conv3d"' in source
    assert "m.def(" not in source


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
    dry = subprocess.run([nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True)
    for line in (dry.stdout + dry.stderr).splitlines():
        if line.startswith("#$ TOP="):
            top = Path(line.split("=", 1)[1]).resolve()
            cuda_include = top / "include" if (top / "include").exists() else top.parent / "include"
    torch_include = Path(torch.__file__).parent / "include"
    command = [
        "g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Wextra", "-DTORCH_EXTENSION_NAME=_C",
        "-DTORCH_API_INCLUDE_EXTENSION_H", "-isystem", str(_c10_cuda_stub(tmp_path)), "-isystem", str(torch_include),
        "-isystem", str(torch_include / "torch" / "csrc" / "api" / "include"),
        "-isystem", sysconfig.get_paths()["include"], "-isystem", str(cuda_include),
        f"-I{REPO / 'plugins' / 'include'}", f"-I{REPO / 'plugins' / 'cuda' / 'include'}",
        str(REPO / "plugins" / "torch" / "csrc" / "deform_conv_bindings.cpp"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", f"binding syntax check: got exit {result.returncode}:\n{output}"


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_float64_reference(case: Case, dtype: torch.dtype):
    load_extension()
    assert torch._C._dispatch_has_kernel_for_dispatch_key("comix::deform_conv3d", "CUDA")
    geometry, x, off, w, b, m = make_inputs(case, dtype, "cuda")
    with torch.no_grad():
        y = deform_conv(x, off, w, b, m, geometry)
    torch.cuda.synchronize()
    # Reference from the same (possibly FP16-rounded) inputs, so only the kernel's own error is measured.
    expected = deform_conv_reference(
        *(None if t is None else t.double().cpu() for t in (x, off, w, b, m)), geometry
    )
    assert tuple(y.shape) == expected.shape, f"{case.name}: got shape {tuple(y.shape)}, expected {expected.shape}"
    assert y.dtype == dtype
    if expected.size == 0:
        return
    got = y.double().cpu().numpy()
    scale = max(float(np.abs(expected).max()), 1.0 if dtype == torch.float32 else 1e-6)
    error = float(np.abs(got - expected).max())
    assert error <= TOLERANCE[dtype] * scale, (
        f"{case.name} {dtype}: got max abs error {error:.3e}, expected <= {TOLERANCE[dtype]:.0e} x output scale {scale:.3f}"
    )


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
def test_non_contiguous_input_and_public_wrappers():
    load_extension()
    case = CASES[5]
    geometry, x, off, w, b, m = make_inputs(case, torch.float32, "cuda", seed=3)
    x_nc = x.transpose(3, 4).contiguous().transpose(3, 4)  # same values, non-contiguous strides
    assert not x_nc.is_contiguous()
    with torch.no_grad():
        y = deform_conv3d(x_nc, off, w, b, m, stride=case.stride, padding=list(case.padding), dilation=case.dilation)
        y_ref = deform_conv(x, off, w, b, m, geometry)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason=GPU_REASON)
def test_bad_shapes_raise_with_got_expected():
    geometry, x, off, w, b, m = make_inputs(CASES[0], torch.float32, "cuda")
    load_extension()
    attributes = (list(geometry.kernel), list(geometry.stride), geometry.onnx_pads, list(geometry.dilation),
                  geometry.group, geometry.offset_group)
    with pytest.raises(RuntimeError, match="got shape"):  # straight to the CUDA kernel, past the Python checks
        torch.ops.comix.deform_conv2d(x, off[:, :-1], w, b, m, *attributes)
    with pytest.raises(RuntimeError, match="expected float32 or float16"):
        torch.ops.comix.deform_conv2d(x.double(), off.double(), w.double(), None, None, *attributes)
