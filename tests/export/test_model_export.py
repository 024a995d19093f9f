"""Model level: ``comix export`` of comix_t and comix_s checkpoints, ORT vs PyTorch parity at several tiles
and batches.

Slow, so marked ``slow``; run with ``pytest -m slow tests/export``. Measured on 2 shared cores (2026-11):
one dynamic export takes ~1.1-2.4 min for comix_t and ~1.8-2.4 min for comix_s; the whole file (both
variants, both graphs) 9.5 min, of which comix_s ~5.5 min (exports, and 1 min for its PyTorch reference
logits, computed once and shared by the two graphs). Fixtures are module-scoped and parametrised over the
variant, so each variant is exported once per graph kind. The portable graph always runs; the canonical
one where the custom-op library is built (skipped with the reason otherwise).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from comix.cli.app import app
from comix.export.checkpoint import sample_inputs
from comix.hashing import file_sha256
from comix.metadata import ModelRecord
from comix.ops.spec import CUSTOM_DOMAIN
from comix.runtime import OnnxRuntimeBackend, find_custom_op_library

pytestmark = pytest.mark.slow
BANDS, X_CHANNELS, CLASSES = 16, 1, 6
TILES = [(64, 64), (128, 128), (100, 76)]
VARIANTS = ["comix_t", "comix_s"]


@pytest.fixture(scope="module", params=VARIANTS)
def checkpoint(request, tmp_path_factory):
    """(folder, eval model): ``request.param`` (comix_t or comix_s) with deforming offsets and non-trivial
    BatchNorm statistics, saved as a checkpoint (BANDS bands, X_CHANNELS X channels, CLASSES classes)."""
    from comix.export.testing import deform_for_parity
    from comix.model import build_model, save_checkpoint

    variant = request.param
    torch.manual_seed(0)
    model = build_model(variant, bands=BANDS, x_channels=X_CHANNELS, classes=CLASSES)
    deform_for_parity(model, seed=1)
    model.set_normalization(
        torch.linspace(100, 900, BANDS), torch.linspace(20, 60, BANDS), [30.0], [8.0]
    )
    folder = tmp_path_factory.mktemp("ckpt") / variant
    save_checkpoint(
        model.eval(),
        folder,
        variant=variant,
        class_names=[f"c{i}" for i in range(CLASSES)],
        band_wavelengths_nm=[400.0 + 40 * i for i in range(BANDS)],
    )
    return folder, model.eval()


def _export(checkpoint, tmp_path_factory, portable: bool):
    """Run ``comix export`` (dynamic, traced around a 64x64 tile) on the checkpoint; path of the .onnx."""
    folder, _ = checkpoint
    output = tmp_path_factory.mktemp("onnx") / (
        f"{folder.name}.portable.onnx" if portable else f"{folder.name}.onnx"
    )
    args = ["export", str(folder), "-o", str(output), "--tile", "64"] + (
        ["--portable"] if portable else []
    )
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture(scope="module")
def portable_model(checkpoint, tmp_path_factory):
    return _export(checkpoint, tmp_path_factory, portable=True)


@pytest.fixture(scope="module")
def canonical_model(checkpoint, tmp_path_factory):
    if find_custom_op_library() is None:
        pytest.skip(
            "canonical parity needs the ONNX Runtime custom-op library (python plugins/build.py)"
        )
    return _export(checkpoint, tmp_path_factory, portable=False)


@pytest.fixture(scope="module")
def reference(checkpoint):
    """PyTorch logits per case, computed once per variant and shared by the portable and canonical checks:
    list of (hsi (B, BANDS, H, W), x (B, X_CHANNELS, H, W), logits (B, CLASSES, H, W)) numpy float32,
    for batch 1 and 4 and every tile in TILES."""
    model = checkpoint[1]
    cases = []
    for batch in (1, 4):
        for height, width in TILES:
            hsi, x = sample_inputs(model, batch, height, width, seed=batch * 1000 + height + width)
            with torch.no_grad():
                cases.append((hsi.numpy(), x.numpy(), model(hsi, x).numpy()))
    return cases


def _parity(path, reference):
    """ORT vs PyTorch on every tile in TILES at batch 1 and 4: max abs logit error <= 1e-4, argmax all
    equal."""
    backend = OnnxRuntimeBackend(path)
    rows = []
    for hsi, x, expected in reference:
        batch, _, height, width = hsi.shape
        got = backend.run(hsi, x)
        assert got.shape == expected.shape == (batch, CLASSES, height, width)
        error = float(np.abs(got - expected).max())
        agreement = float((got.argmax(1) == expected.argmax(1)).mean())
        rows.append((batch, height, width, error, agreement))
        print(
            f"batch {batch} {height}x{width}: max abs {error:.3g}, argmax agreement {agreement:.4%}"
        )
    for batch, height, width, error, agreement in rows:
        assert error <= 1e-4, (
            f"batch {batch} {height}x{width}: max abs logit error got {error:.3g}, expected <= 1e-4"
        )
        assert agreement == 1.0, (
            f"batch {batch} {height}x{width}: argmax agreement got {agreement:.4%}, expected 100 %"
        )


def test_portable_export_is_dynamic_portable_and_carries_metadata(portable_model, checkpoint):
    model = onnx.load(str(portable_model))
    assert {n.domain for n in model.graph.node} <= {"", "ai.onnx"}
    dims = [
        [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in model.graph.input
    ]
    assert dims == [["batch", BANDS, "height", "width"], ["batch", X_CHANNELS, "height", "width"]]
    # the logits are named like the inputs, not the exporter's Min(s12, 4*(...)+4) expression of pad-and-crop
    outputs = [
        [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
        for o in model.graph.output
    ]
    assert outputs == [["batch", CLASSES, "height", "width"]]
    meta = ModelRecord.read_onnx(model)
    folder, torch_model = checkpoint
    assert meta.model_name == folder.name and meta.class_names == [f"c{i}" for i in range(CLASSES)]
    assert (
        len(meta.class_colors) == CLASSES
        and meta.wavelengths_nm[1] == 440.0
        and meta.hsi_bands == BANDS
    )
    assert meta.config["widths"] == list(
        torch_model.config.widths
    ) and meta.checkpoint_sha256 == file_sha256(folder / "model.safetensors")
    report = json.loads(
        portable_model.with_name(portable_model.name + ".validation.json").read_text()
    )
    assert report["parity"] == "passed" and report["max_abs_error"] <= 1e-4


def test_portable_parity_at_three_tiles_and_two_batches(portable_model, reference):
    _parity(portable_model, reference)


def test_canonical_parity_at_three_tiles_and_two_batches(canonical_model, checkpoint, reference):
    model = onnx.load(str(canonical_model))
    blocks = sum(
        checkpoint[1].config.depths
    )  # one DeformConv3D per 3-D DCN block: 5 in comix_t, 10 in comix_s
    custom = sum(n.domain == CUSTOM_DOMAIN for n in model.graph.node)
    assert custom == blocks, f"{CUSTOM_DOMAIN} nodes: got {custom}, expected {blocks}"
    _parity(canonical_model, reference)


def test_whole_scene_classes_identical_between_pytorch_and_onnxruntime(portable_model, checkpoint):
    from comix.runtime import SlidingWindow, TorchBackend

    model = checkpoint[1]
    hsi, x = sample_inputs(model, 1, 150, 130, seed=7)
    hsi, x = hsi[0].numpy(), x[0].numpy()
    got = SlidingWindow(OnnxRuntimeBackend(portable_model), tile=64, overlap=16, batch=4)(hsi, x)
    want = SlidingWindow(TorchBackend(model), tile=64, overlap=16, batch=4)(hsi, x)
    assert got.tiles == want.tiles == 9
    assert np.abs(got.logits - want.logits).max() <= 1e-4
    assert np.array_equal(got.classes, want.classes)
