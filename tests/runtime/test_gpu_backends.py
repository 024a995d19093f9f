"""The GPU backends' front end: ``--backend tensorrt`` and ``--backend torch --device cuda`` through
``open_backend``; refusals on a machine without them. (The TensorRT backend's batch splitting and padding
run through the real engine runner in tests/engine/test_runner_contract.py.)

On a GPU host (marker ``gpu``): the PyTorch CUDA path — our CUDA DCN kernels through the extension —
segments a scene with the same classes as ONNX Runtime, TF32 off (cuDNN's default TF32 alone can move a
logit by 1e-3)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from runtime_helpers import make_scene, tiny_net
from typer.testing import CliRunner

from comix.cli.app import app
from comix.runtime import OnnxRuntimeBackend, SlidingWindow, TorchBackend
from comix.runtime.errors import RuntimeInputError
from comix.runtime.segment import open_backend


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible")
def test_device_cuda_without_a_gpu_is_refused_in_one_sentence(tmp_path):
    with pytest.raises(
        RuntimeInputError, match="--device cuda: got torch .* with no usable CUDA device"
    ):
        TorchBackend(tiny_net(), device="cuda")


def test_device_cuda_is_only_for_the_torch_backend(portable_onnx):
    with pytest.raises(
        RuntimeInputError, match="--device cuda: got backend 'onnxruntime', expected torch"
    ):
        open_backend(portable_onnx, "auto", device="cuda")
    with pytest.raises(RuntimeInputError, match="--device: got 'tpu'"):
        open_backend(portable_onnx, "auto", device="tpu")


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT's full package is installed"
)
def test_engine_without_tensorrt_exits_2(tmp_path):
    hsi, x = make_scene(20, 20)
    np.save(tmp_path / "hsi.npy", hsi.transpose(1, 2, 0))
    np.save(tmp_path / "x.npy", x.transpose(1, 2, 0))
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"not an engine")
    result = CliRunner().invoke(
        app,
        [
            "infer",
            str(engine),
            "--hsi",
            str(tmp_path / "hsi.npy"),
            "--x",
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "seg.npy"),
            "--quiet",
        ],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert (
        "--backend tensorrt: cannot run here" in result.output and "Traceback" not in result.output
    )
    assert not (tmp_path / "seg.npy").exists()


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason=f"no CUDA GPU (torch {torch.__version__}, CUDA build {torch.version.cuda})",
)
def test_torch_cuda_backend_segments_like_onnx_runtime(portable_onnx):
    from comix.plugins.torch import load_extension
    from comix.plugins.torch.tf32 import tf32

    load_extension()  # a build error of the extension fails here, as itself
    hsi, x = make_scene(150, 130, seed=4)
    cuda = TorchBackend(tiny_net(), device="cuda")
    ort = OnnxRuntimeBackend(portable_onnx)
    with tf32(False):
        on_gpu = SlidingWindow(cuda, tile=64, overlap=16, batch=4)(hsi, x)
    on_cpu = SlidingWindow(ort, tile=64, overlap=16, batch=4)(hsi, x)
    agreement = float(np.mean(on_gpu.classes == on_cpu.classes))
    assert agreement >= 0.999, f"class agreement {agreement:.4%}"
    assert np.abs(on_gpu.logits - on_cpu.logits).max() < 1e-3
