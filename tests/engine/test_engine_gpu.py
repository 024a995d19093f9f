"""Engines on a GPU host with TensorRT's full package (markers ``gpu`` and ``tensorrt``): build the tiny
canonical graph with our plugins, check the parsed network used *our* DCN plugins, run it through the
TensorRT backend against ONNX Runtime (FP32: max |Δlogit| <= 1e-3, identical classes), with and without
CUDA graphs, per-layer times, and the record check refusing another plugin library.

Skips with the reason anywhere else (no GPU, no TensorRT builder, or no plugin library built for it)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt, pytest.mark.slow]


def _skip_reason() -> str | None:
    try:
        from comix.tensorrt.version import import_tensorrt

        import_tensorrt(builder=True)
    except Exception as error:
        return f"no TensorRT builder: {str(error)[:160]}"
    try:
        from comix.tensorrt.cuda_memory import open_cuda

        open_cuda()
    except Exception as error:
        return f"no CUDA GPU: {str(error)[:160]}"
    try:
        from comix.tensorrt.plugin_library import find_plugin_library

        find_plugin_library()
    except Exception as error:
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
        options=BuildOptions(timing_cache=path.with_suffix(".cache")),
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
def test_layer_times_are_the_backend_interface_rows(engine):
    from comix.runtime.backend import LayerTime
    from comix.runtime.tensorrt_backend import TensorRTBackend

    backend = TensorRTBackend(engine[0])
    try:
        rows = backend.layer_times(
            np.zeros((2, 6, 48, 64), np.float32), np.zeros((2, 1, 48, 64), np.float32), runs=5
        )
    finally:
        backend.close()
    assert rows and all(r.milliseconds >= 0 and r.calls == 1 for r in rows)
    assert all(isinstance(r, LayerTime) and r.name for r in rows)


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
