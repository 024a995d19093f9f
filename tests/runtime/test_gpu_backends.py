"""The GPU backends' front end: ``--backend tensorrt`` and ``--backend torch --device cuda`` through
``open_backend``; refusals on a machine without them; the TensorRT backend's batch splitting and padding.

On a GPU host (marker ``gpu``): the PyTorch CUDA path — our CUDA DCN kernels through the extension —
segments a scene with the same classes as ONNX Runtime."""

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
from comix.runtime.tensorrt_backend import TensorRTBackend


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


class _Runner:
    """Stands in for EngineRunner: a profile of batch 2..3 and logits = per-tile mean of hsi (shape check)."""

    def __init__(self):
        self.calls = []

    def run(self, feeds):
        hsi = feeds["hsi"]
        self.calls.append(hsi.shape[0])
        assert 2 <= hsi.shape[0] <= 3, "the engine's profile allows 2..3"
        return {"logits": np.repeat(hsi.mean(axis=1, keepdims=True), 2, axis=1)}


def test_batches_are_split_to_the_profile_max_and_padded_to_its_min():
    backend = object.__new__(TensorRTBackend)
    backend.runner, backend.input_names, backend.output_name = _Runner(), ["hsi", "x"], "logits"
    backend.min_batch, backend.max_batch = 2, 3
    hsi = np.arange(7 * 2 * 4 * 4, dtype=np.float32).reshape(7, 2, 4, 4)
    logits = backend.run(hsi, np.zeros((7, 1, 4, 4), np.float32))
    assert backend.runner.calls == [3, 3, 2], "7 tiles: 3 + 3 + 1 padded to 2"
    assert logits.shape == (7, 2, 4, 4)
    np.testing.assert_array_equal(logits[:, 0], hsi.mean(axis=1))


def _cuda_extension_loadable() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        from comix.plugins.torch import load_extension

        load_extension()
        return True
    except Exception:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(
    not _cuda_extension_loadable(), reason="no CUDA GPU with our PyTorch CUDA extension"
)
def test_torch_cuda_backend_segments_like_onnx_runtime(portable_onnx):
    hsi, x = make_scene(150, 130, seed=4)
    cuda = TorchBackend(tiny_net(), device="cuda")
    ort = OnnxRuntimeBackend(portable_onnx)
    on_gpu = SlidingWindow(cuda, tile=64, overlap=16, batch=4)(hsi, x)
    on_cpu = SlidingWindow(ort, tile=64, overlap=16, batch=4)(hsi, x)
    agreement = float(np.mean(on_gpu.classes == on_cpu.classes))
    assert agreement >= 0.999, f"class agreement {agreement:.4%}"
    assert np.abs(on_gpu.logits - on_cpu.logits).max() < 1e-3
