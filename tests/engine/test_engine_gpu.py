"""Engines on a GPU host with TensorRT's full package (markers ``gpu`` and ``tensorrt``): build the tiny
canonical graph with our plugins (TF32 off: the parity below is FP32's), check the parsed network used
*our* DCN plugins, run it through the TensorRT backend against ONNX Runtime (FP32: max |Δlogit| <= 1e-3,
identical classes), with and without CUDA graphs, per-layer times that hold our plugin layers and add up
to about the time of a run, and the record check refusing another plugin library.

Skips with the reason anywhere else — only on the errors that mean "not here" (no TensorRT builder, no
CUDA GPU, no plugin library built); anything else raised on the way is a failure."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt, pytest.mark.slow]


def _skip_reason() -> str | None:
    from comix.tensorrt.cuda_memory import CudaUnavailable, open_cuda
    from comix.tensorrt.plugin_library import PluginLibraryMissing, find_plugin_library
    from comix.tensorrt.version import TensorRTUnavailable, import_tensorrt

    try:
        import_tensorrt(builder=True)
    except TensorRTUnavailable as error:
        return f"no TensorRT builder: {str(error)[:160]}"
    try:
        open_cuda()
    except CudaUnavailable as error:
        return f"no CUDA GPU: {str(error)[:160]}"
    try:
        find_plugin_library()
    except PluginLibraryMissing as error:
        return f"no TensorRT plugin library: {str(error)[:160]}"
    return None


REASON = _skip_reason()
requires_engine = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(scope="module")
def engine(tiny_canonical, tmp_path_factory):
    from comix.metadata import ModelRecord
    from comix.tensorrt.build_options import BuildOptions
    from comix.tensorrt.builder import BuildJob, EngineBuilder
    from comix.tensorrt.plugin_library import find_plugin_library
    from comix.tensorrt.profiles import EngineProfile, ShapeRange, graph_inputs

    graph = onnx.load(str(tiny_canonical))
    path = tmp_path_factory.mktemp("engine") / "tiny.engine"
    job = BuildJob(
        onnx_path=tiny_canonical,
        engine_path=path,
        model=graph,
        record=ModelRecord.read_onnx(graph),
        inputs=graph_inputs(graph),
        profile=EngineProfile(ShapeRange(1, 2, 4), ShapeRange.fixed(48), ShapeRange.fixed(64)),
        options=BuildOptions(timing_cache=path.with_suffix(".cache"), tf32=False),
        plugin=find_plugin_library(),
    )
    facts = EngineBuilder(job)()
    return path, facts


@requires_engine
def test_build_used_our_plugins_and_wrote_the_record(engine):
    path, facts = engine
    assert path.is_file() and path.with_name(path.name + ".json").is_file()
    assert path.with_suffix(".cache").is_file(), "timing cache written back"
    layers = facts.dcn_route["plugin_layers"]
    assert layers.get("DeformConv v1") == 1 and layers.get("DeformConv3D v1") == 1, layers
    assert not [k for k in layers if k.startswith(("ModulatedDeformConv2d", "DeformableConv2d"))]
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["engine"]["gpu"]["compute_capability"] and record["model"]["model_name"] == "tiny"


@requires_engine
@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_engine_matches_onnx_runtime(engine, tiny_canonical, cuda_graphs):
    from comix.runtime import OnnxRuntimeBackend
    from comix.runtime.tensorrt_backend import TensorRTBackend

    rng = np.random.default_rng(0)
    hsi = rng.normal(size=(5, 6, 48, 64)).astype(np.float32)
    x = rng.normal(size=(5, 1, 48, 64)).astype(np.float32)
    trt_backend = TensorRTBackend(engine[0], cuda_graphs=cuda_graphs)
    try:
        assert trt_backend.info.tile == (48, 64) and trt_backend.info.max_batch == 4
        got = trt_backend.run(hsi, x)
        again = trt_backend.run(hsi, x)  # replays the captured graphs when cuda_graphs
    finally:
        trt_backend.close()
    expected = OnnxRuntimeBackend(tiny_canonical).run(hsi, x)
    assert np.abs(got - expected).max() <= 1e-3
    assert np.array_equal(got.argmax(1), expected.argmax(1)) and np.array_equal(got, again)


@requires_engine
def test_layer_times_hold_our_plugin_layers_and_add_up_to_a_run(engine):
    import time

    from comix.runtime.tensorrt_backend import TensorRTBackend

    hsi, x = np.zeros((2, 6, 48, 64), np.float32), np.zeros((2, 1, 48, 64), np.float32)
    backend = TensorRTBackend(engine[0])
    try:
        backend.run(hsi, x)
        start = time.perf_counter()
        for _ in range(5):
            backend.run(hsi, x)
        run_ms = (time.perf_counter() - start) / 5 * 1e3
        rows = backend.layer_times(hsi, x, runs=5)
    finally:
        backend.close()
    names = [r.name for r in rows]
    assert len(set(names)) == len(names) > 2, names
    keys = [n.lower().replace("_", "") for n in names]  # ONNX node names: node_deform_conv3d, ...
    assert any("deformconv3d" in k for k in keys), f"no 3-D DCN plugin layer among {names}"
    assert any("deformconv" in k and "3d" not in k for k in keys), f"no 2-D DCN layer in {names}"
    total = sum(r.milliseconds for r in rows)
    assert all(r.milliseconds >= 0 for r in rows) and total > 0
    # kernel time of the layers cannot exceed a whole run with its copies (generous: timer noise)
    assert total <= 2 * run_ms + 1.0, f"layers sum to {total:.3f} ms, a run takes {run_ms:.3f} ms"


@requires_engine
def test_another_plugin_library_is_refused(engine, tmp_path):
    from comix.tensorrt.engine_record import EngineMismatch, read_engine_record, write_engine_record
    from comix.tensorrt.runner import EngineRunner

    path, _ = engine
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    facts, record = read_engine_record(path)
    library = dict(facts.plugin_library, sha256="0" * 64)
    write_engine_record(copy, dataclasses.replace(facts, plugin_library=library), record)
    with pytest.raises(EngineMismatch, match="plugin library: engine built with"):
        EngineRunner(copy)
