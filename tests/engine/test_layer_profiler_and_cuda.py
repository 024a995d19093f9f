"""Per-layer time summaries (worked example) and the CUDA adapter's behaviour where there is no GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from comix.tensorrt.cuda_memory import CudaUnavailable, open_cuda
from comix.tensorrt.layer_profiler import summarize


def test_summary_is_median_mean_and_share_in_execution_order():
    samples = {
        "conv": [1.0, 3.0, 2.0],
        "DeformConv3D": [4.0, 6.0, 5.0, 100.0],
        "head": [0.0, 0.0, 0.0],
    }
    rows = summarize(samples)
    assert [r.name for r in rows] == ["conv", "DeformConv3D", "head"]
    conv, dcn, head = rows
    assert (conv.median_ms, conv.mean_ms, conv.runs) == (2.0, 2.0, 3)
    assert (dcn.median_ms, dcn.mean_ms, dcn.runs) == (
        5.5,
        28.75,
        4,
    )  # median of 4 values: (5 + 6) / 2
    assert (
        conv.share == pytest.approx(2.0 / 7.5)
        and dcn.share == pytest.approx(5.5 / 7.5)
        and head.share == 0.0
    )
    assert summarize({"x": [0.0]})[0].share == 0.0


@pytest.mark.tensorrt
def test_layer_timer_is_a_real_tensorrt_profiler():
    """The IProfiler subclass is accepted by TensorRT's bindings (lean runtime) and collects what is
    reported."""
    try:
        import tensorrt_lean_bindings as trt
    except ImportError as error:
        pytest.skip(f"TensorRT lean wheels absent ({error}): pip install -e '.[tensorrt-lean]'")
    from comix.tensorrt.layer_profiler import make_layer_timer

    timer = make_layer_timer(trt)
    assert isinstance(timer, trt.IProfiler)
    timer.report_layer_time("a", 0.5)
    timer.report_layer_time("a", 1.5)
    assert timer.samples == {"a": [0.5, 1.5]}


def _has_gpu() -> bool:
    try:
        open_cuda("cuda-python")
    except CudaUnavailable:  # anything else (a broken binding) is an error, not "no GPU"
        return False
    return True


@pytest.mark.skipif(importlib.util.find_spec("cuda") is None, reason="cuda-python not installed")
@pytest.mark.skipif(_has_gpu(), reason="a GPU is visible here (this checks the no-driver path)")
def test_cuda_python_without_a_driver_says_so():
    with pytest.raises(CudaUnavailable) as error:
        open_cuda("cuda-python")
    message = str(error.value)
    assert "cudaGetDeviceCount: got cudaError" in message and "comix doctor" in message
    if "cudaErrorInsufficientDriver" in message:  # says which binding fits which driver
        assert "needs a driver of CUDA" in message and "comix-deploy[gpu-cu12]" in message


def test_unknown_binding_and_missing_pycuda_are_clear():
    with pytest.raises(
        CudaUnavailable, match=r"--cuda: got 'cupy', expected one of \['cuda-python', 'pycuda'\]"
    ):
        open_cuda("cupy")
    if importlib.util.find_spec("pycuda") is None:
        with pytest.raises(CudaUnavailable, match="pycuda: cannot import"):
            open_cuda("pycuda")


@pytest.mark.gpu
@pytest.mark.skipif(not _has_gpu(), reason="no CUDA GPU (cuda-python sees none)")
@pytest.mark.parametrize("api", ["cuda-python", "pycuda"])
def test_round_trip_through_device_memory_and_a_cuda_graph(api):
    if api == "pycuda" and importlib.util.find_spec("pycuda") is None:
        pytest.skip("pycuda not installed")
    cuda = open_cuda(api)
    info = cuda.device_info()
    assert info.compute_capability[0] >= 5 and info.total_memory > 0
    host = cuda.pinned_empty((1000,), np.float32)
    back = cuda.pinned_empty((1000,), np.float32)
    host[:] = np.arange(1000, dtype=np.float32)
    pointer, stream = cuda.malloc(host.nbytes), cuda.stream()
    cuda.copy_to_device(pointer, host, stream)
    cuda.copy_to_host(back, pointer, stream)
    cuda.synchronize(stream)
    assert np.array_equal(back, host)
    cuda.free(pointer)
    cuda.release_pinned(host)
    cuda.release_pinned(back)
    cuda.destroy_stream(stream)


def test_one_cuda_python_extra_per_cuda_major():
    """JetPack 6 (CUDA 12.6) must get a 12.x binding: 13.x refuses a CUDA 12 driver."""
    from packaging.requirements import Requirement

    from comix.tensorrt.cuda_memory import CUDA_PYTHON_EXTRAS, cuda_python_extra

    tomllib = pytest.importorskip("tomllib", reason="Python < 3.11 has no tomllib")
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    for major, extra in CUDA_PYTHON_EXTRAS.items():
        (requirement,) = [Requirement(r) for r in extras[extra] if r.startswith("cuda-python")]
        admitted = [
            v
            for v in ("12.6.0", "12.9.1", "13.0.0", "13.4.4", "14.0.0")
            if v in requirement.specifier
        ]
        assert admitted and all(v.startswith(f"{major}.") for v in admitted), (extra, admitted)
    for name, requirements in extras.items():
        if name in ("dev",):
            continue  # CPU CI: imports only, no driver
        for text in requirements:
            if text.startswith("cuda-python"):
                assert name in CUDA_PYTHON_EXTRAS.values(), f"extra {name!r}: unpinned {text}"
    assert cuda_python_extra("12.6") == "gpu-cu12" and cuda_python_extra("13.0") == "gpu-cu13"
