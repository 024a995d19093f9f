"""PyTorch and ONNX Runtime backends behind one interface: same classes, metadata, clear errors, memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from runtime_helpers import BANDS, CLASS_NAMES, CLASSES, X_CHANNELS, make_scene, tiny_net

from comix.runtime import (
    CustomOpLibraryMissing,
    OnnxRuntimeBackend,
    RuntimeInputError,
    SlidingWindow,
    TorchBackend,
    find_custom_op_library,
)


def test_onnxruntime_backend_reads_shapes_and_metadata(portable_onnx):
    info = OnnxRuntimeBackend(portable_onnx).info
    assert (info.bands, info.x_channels, info.classes) == (BANDS, X_CHANNELS, CLASSES)
    assert info.tile is None and info.max_batch is None, "dynamic batch, H and W"
    assert info.class_names == CLASS_NAMES and len(info.class_colors) == CLASSES


def test_a_model_exported_before_the_versioned_record_still_loads(portable_onnx, tmp_path):
    """Exports from before schema 2 carry ``comix.tile_size`` and no version: read, tile upgraded."""
    import onnx

    model = onnx.load(str(portable_onnx))
    props = {
        p.key: p.value
        for p in model.metadata_props
        if p.key not in ("comix.schema_version", "comix.training_tile", "comix.precision")
    }
    props["comix.tile_size"] = "[48, 40]"
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(tmp_path / "old.onnx"))
    info = OnnxRuntimeBackend(tmp_path / "old.onnx").info
    assert info.training_tile == [48, 40] and info.class_names == CLASS_NAMES


def test_portable_onnxruntime_and_pytorch_give_identical_classes(portable_onnx):
    hsi, x = make_scene(45, 61, seed=2)
    ort_result = SlidingWindow(OnnxRuntimeBackend(portable_onnx), tile=24, overlap=8, batch=4)(
        hsi, x
    )
    torch_result = SlidingWindow(TorchBackend(tiny_net()), tile=24, overlap=8, batch=4)(hsi, x)
    assert np.abs(ort_result.logits - torch_result.logits).max() <= 1e-4
    assert np.array_equal(ort_result.classes, torch_result.classes)


def test_canonical_graph_runs_with_the_custom_op_library(canonical_onnx):
    if find_custom_op_library() is None:
        pytest.skip("ONNX Runtime custom-op library not built (python plugins/build.py)")
    hsi, x = make_scene(30, 26, seed=3)
    ort_result = SlidingWindow(OnnxRuntimeBackend(canonical_onnx), tile=16, overlap=4, batch=3)(
        hsi, x
    )
    torch_result = SlidingWindow(TorchBackend(tiny_net()), tile=16, overlap=4, batch=3)(hsi, x)
    assert np.abs(ort_result.logits - torch_result.logits).max() <= 1e-4
    assert np.array_equal(ort_result.classes, torch_result.classes)


def test_canonical_graph_without_the_library_says_how_to_build_it_or_use_portable(
    canonical_onnx, monkeypatch
):
    monkeypatch.setenv("COMIX_ORT_LIBRARY", str(canonical_onnx.parent / "no-such-library.so"))
    with pytest.raises(CustomOpLibraryMissing, match=r"plugins/build\.py.*--portable"):
        OnnxRuntimeBackend(canonical_onnx)


def test_truncated_and_non_onnx_files_are_clear_errors(portable_onnx, tmp_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(portable_onnx.read_bytes()[:2000])
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    for path in (truncated, text):
        with pytest.raises(
            RuntimeInputError, match="could not be read as ONNX|no nodes|could not load"
        ):
            OnnxRuntimeBackend(path)
    with pytest.raises(RuntimeInputError, match="no such file"):
        OnnxRuntimeBackend(tmp_path / "missing.onnx")


def _peak_working_bytes(backend, height, width) -> int:
    """tracemalloc peak during a run, minus the scene inputs and the result arrays it must hold."""
    hsi, x = make_scene(height, width)
    window = SlidingWindow(backend, tile=24, overlap=8, batch=2)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = window(hsi, x)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    # what must scale with the scene: accumulated logits (K, H, W) f32, weights (H, W) f32, classes (H, W) u8
    outputs = result.logits.nbytes + height * width * (4 + 1)
    return peak - outputs


def test_working_memory_is_bounded_by_the_batch_not_the_scene(portable_onnx):
    backend = OnnxRuntimeBackend(portable_onnx)
    small = _peak_working_bytes(backend, 48, 48)
    large = _peak_working_bytes(backend, 192, 144)  # 12x the pixels
    assert large < small + 256 * 1024, (
        f"working memory grew from {small} to {large} bytes with the scene"
    )


@pytest.fixture(scope="module")
def static_onnx(tmp_path_factory):
    """A --static portable export: batch 2, tile 16x20."""
    import onnx
    import torch

    from comix.export.exporter import TorchOnnxExporter

    model = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=None, portable=True)(
        tiny_net(), (torch.randn(2, BANDS, 16, 20), torch.randn(2, X_CHANNELS, 16, 20))
    )
    path = tmp_path_factory.mktemp("static") / "tiny.static.onnx"
    onnx.save(model, str(path))
    return path


def test_static_model_gets_its_own_tile_full_batches_and_padding(static_onnx):
    backend = OnnxRuntimeBackend(static_onnx)
    assert backend.info.tile == (16, 20) and backend.info.max_batch == 2
    with pytest.raises(RuntimeInputError, match="got 24x24, expected 16x20"):
        SlidingWindow(backend, tile=24, overlap=4, batch=2)
    with pytest.raises(RuntimeInputError, match="got 3, expected 2"):
        SlidingWindow(backend, tile=(16, 20), overlap=4, batch=3)
    torch_backend = TorchBackend(tiny_net())
    for height, width in (
        (33, 47),
        (10, 12),
    ):  # 3x3 tiles (odd count: last batch half empty); under one tile
        hsi, x = make_scene(height, width, seed=height)
        got = SlidingWindow(backend, tile=(16, 20), overlap=4, batch=2)(hsi, x)
        want = SlidingWindow(torch_backend, tile=(16, 20), overlap=4, batch=2)(hsi, x)
        assert got.classes.shape == (height, width)
        if height >= 16:
            assert np.abs(got.logits - want.logits).max() <= 1e-4 and np.array_equal(
                got.classes, want.classes
            )
