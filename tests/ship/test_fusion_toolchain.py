"""SHIP through export, runtime and the commands: DFT and DFT-free graphs vs PyTorch, whole-scene fusion with
blended image output, products, and the task check of every command that loads a model."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from fusion_helpers import tiny_ship
from typer.testing import CliRunner

from comix.cli.app import app
from comix.metadata import ModelRecord
from comix.model import build_model, save_checkpoint
from comix.runtime.ort_backend import OnnxRuntimeBackend
from comix.runtime.sliding_window import SlidingWindow
from comix.runtime.torch_backend import TorchBackend
from comix.ship.data import bicubic_upsample
from comix.ship.export import FusionExportOptions, export_fusion_checkpoint
from comix.ship.runtime.fuse import fuse_image, fuse_scene, prepare_inputs
from comix.tasks import TaskMismatchError

TILE = 32


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny SHIP pan-sharpening checkpoint (folder, model)."""
    folder = tmp_path_factory.mktemp("ship")
    model = tiny_ship("ship_pansharpen", fourier_padding=2)
    save_checkpoint(model, folder / "checkpoint", variant="ship_pansharpen")
    return folder, model


@pytest.fixture(scope="module")
def exported(checkpoint):
    """The checkpoint's two ONNX graphs, exported once for the module (1-3 min on 2 shared cores:
    ``slow`` tests)."""
    folder, model = checkpoint
    dft = export_fusion_checkpoint(
        folder / "checkpoint", folder / "dft.onnx", FusionExportOptions(tile=(TILE, TILE))
    )
    matrix = export_fusion_checkpoint(
        folder / "checkpoint",
        folder / "matrix.onnx",
        FusionExportOptions(lowering="matrix", dynamic=False, tile=(TILE, TILE)),
    )
    return folder, model, dft, matrix


@pytest.mark.slow
def test_both_fourier_lowerings_match_pytorch_and_the_matrix_graph_has_no_dft(exported):
    folder, _, dft, matrix = exported
    for result in (dft, matrix):
        assert result.report.parity == "passed" and result.report.max_abs_error <= 1e-4
    assert dft.node_counts.get("DFT", 0) > 0
    assert "DFT" not in matrix.node_counts and matrix.node_counts["MatMul"] > 0
    record = ModelRecord.read_onnx(onnx.load(str(folder / "matrix.onnx")))
    assert (
        record.task == "fusion-pansharpen"
        and record.graph_kind == "dft-free"
        and record.class_names == []
    )
    assert [i.name for i in onnx.load(str(folder / "dft.onnx")).graph.input] == ["ms", "pan"]


@pytest.mark.slow
def test_whole_scene_fusion_in_onnx_runtime_equals_pytorch(exported, tmp_path):
    folder, model, _, _ = exported
    rng = np.random.default_rng(0)
    ms, pan = rng.random((4, 20, 24)).astype(np.float32), rng.random((1, 80, 96)).astype(np.float32)
    ort_backend = OnnxRuntimeBackend(folder / "matrix.onnx")
    assert ort_backend.info.tile == (TILE, TILE) and ort_backend.info.task == "fusion-pansharpen"
    run = fuse_scene(ort_backend, ms, pan, tmp_path / "fused.tif")
    reference = fuse_image(TorchBackend(model), ms, pan, tile=TILE)
    assert run.image.shape == (4, 80, 96) and np.abs(run.image - reference.logits).max() < 1e-4
    summary = json.loads((tmp_path / "fused.json").read_text())
    assert summary["task"] == "fusion-pansharpen" and summary["overlap"] == TILE // 4
    assert (tmp_path / "fused.png").is_file() and (tmp_path / "fused.tif").is_file()


def test_image_windows_blend_without_argmax_and_one_tile_is_one_pass():
    model = tiny_ship("ship_pansharpen")
    backend = TorchBackend(model)
    primary, guide = (
        np.random.default_rng(1).random((2, 1, 4, 40, 36)).astype(np.float32)[:, 0].repeat(2, 0)[:2]
    )
    primary = np.random.default_rng(1).random((4, 40, 36)).astype(np.float32)
    guide = np.random.default_rng(2).random((1, 40, 36)).astype(np.float32)
    single = SlidingWindow(backend, tile=64, overlap=0, labels=False)(primary, guide)
    with torch.no_grad():
        full = model(torch.from_numpy(primary)[None], torch.from_numpy(guide)[None])[0].numpy()
    assert single.classes is None and np.abs(single.logits - full).max() < 1e-5
    np.testing.assert_allclose(
        prepare_inputs(backend, primary[:, :10, :9], guide)[0],
        bicubic_upsample(primary[:, :10, :9], 4),
    )


def test_fusion_products_are_all_or_nothing(tmp_path):
    backend = TorchBackend(tiny_ship("ship_irvis"))
    with pytest.raises(
        ValueError, match=r"got suffix '.png', expected one of \['.tif', '.tiff', '.npy'\]"
    ):
        fuse_scene(
            backend,
            np.zeros((3, 16, 16), np.float32),
            np.zeros((1, 16, 16), np.float32),
            tmp_path / "x.png",
        )
    with pytest.raises(ValueError, match="infrared image: got 2 channels, expected 1"):
        fuse_scene(
            backend,
            np.zeros((3, 16, 16), np.float32),
            np.zeros((2, 16, 16), np.float32),
            tmp_path / "f.tif",
        )
    assert list(tmp_path.iterdir()) == []


def _error(result) -> str:
    return result.output.strip().splitlines()[-1]


def test_commands_refuse_a_model_of_the_other_kind_in_one_sentence(checkpoint, tmp_path):
    folder, _ = checkpoint
    runner = CliRunner()
    comix_folder = tmp_path / "comix"
    save_checkpoint(
        build_model("comix_t", bands=6, x_channels=1, classes=3), comix_folder, variant="comix_t"
    )
    cases = [
        (
            [
                "infer",
                str(folder / "checkpoint"),
                "--hsi",
                "a.npy",
                "--x",
                "b.npy",
                "-o",
                str(tmp_path / "s.tif"),
            ],
            "got a SHIP pan-sharpening model (task 'fusion-pansharpen'), but `comix infer` expects a CoMiX "
            "segmentation model; use `comix fusion ...` for it",
        ),
        (
            ["export", str(folder / "checkpoint"), "-o", str(tmp_path / "m.onnx")],
            "`comix export` expects a CoMiX",
        ),
        (["eval", str(folder / "checkpoint"), "missing.yaml"], "`comix eval` expects a CoMiX"),
        (
            ["train", "missing.yaml", "--variant", "ship_irvis"],
            "variant ship_irvis: got a SHIP infrared-visible",
        ),
        (
            ["fusion", "export", str(comix_folder), "-o", str(tmp_path / "f.onnx")],
            "got a CoMiX segmentation model (task 'segmentation'), but `comix fusion export` expects a SHIP "
            "infrared-visible fusion model or a SHIP pan-sharpening model; use "
            "`comix train/eval/export/infer` for it",
        ),
        (
            [
                "fusion",
                "infer",
                str(comix_folder),
                "--primary",
                "a.npy",
                "--guide",
                "b.npy",
                "-o",
                str(tmp_path / "f.tif"),
            ],
            "`comix fusion infer` expects a SHIP",
        ),
    ]
    for arguments, message in cases:
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert _error(result).startswith("error: ") and message in _error(result), _error(result)
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "f.onnx").exists()


@pytest.mark.slow
def test_fusion_infer_command_writes_the_products(exported, tmp_path):
    folder, _, _, _ = exported
    rng = np.random.default_rng(3)
    np.save(tmp_path / "ms.npy", rng.random((4, 12, 10)).astype(np.float32))
    np.save(tmp_path / "pan.npy", rng.random((1, 48, 40)).astype(np.float32))
    result = CliRunner().invoke(
        app,
        [
            "fusion",
            "infer",
            str(folder / "dft.onnx"),
            "--primary",
            str(tmp_path / "ms.npy"),
            "--guide",
            str(tmp_path / "pan.npy"),
            "--layout",
            "CHW",
            "-o",
            str(tmp_path / "fused.tif"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "fused.json").read_text())["scene"] == {
        "bands": 4,
        "height": 48,
        "width": 40,
    }


def test_task_errors_are_value_errors_with_got_and_expected():
    with pytest.raises(TaskMismatchError) as info:
        fuse_image(
            TorchBackend(build_model("comix_t", bands=4, x_channels=1, classes=2)),
            np.zeros((4, 8, 8), np.float32),
            np.zeros((1, 8, 8), np.float32),
        )
    assert isinstance(info.value, ValueError) and "got a CoMiX segmentation model" in str(
        info.value
    )
