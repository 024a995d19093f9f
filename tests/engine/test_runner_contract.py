"""The REAL EngineRunner and TensorRTBackend, driven on a CPU through the fakes of fake_tensorrt.py.

The fakes behave like TensorRT and CUDA where the runner depends on it (output shapes computed from input
shapes by the execution context, out-of-profile shapes refused, every output written at its real size to
its device address, bounds-checked device memory, stream capture replayed with captured addresses), so
each test fails on the bug it names: a one-element output buffer (the bug this file was written for),
an input set in the wrong profile, a padded batch copied into a too-small buffer, a stale graph.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from fake_tensorrt import (
    FAKE_VERSION,
    LAYERS,
    FakeCuda,
    FakeNetwork,
    IllegalAddress,
    binding_names_used,
    fake_tensorrt,
    write_fake_engine,
)

from comix.tensorrt import runner as runner_module
from comix.tensorrt.plugin_library import ENV_LIBRARY, PluginLibrary
from comix.tensorrt.runner import EngineRunner

TWO_PROFILES = FakeNetwork(
    profiles=(
        ((1, 16, 16), (1, 16, 16), (2, 16, 16)),
        ((3, 24, 40), (4, 24, 40), (6, 24, 40)),
    ),
    aux=True,
)


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """(fake CUDA, fake tensorrt module, plugin library); TensorRT and CUDA are the fakes from here on."""
    cuda = FakeCuda()
    trt = fake_tensorrt(cuda)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(runner_module, "open_cuda", lambda api, device: cuda)
    library = tmp_path / "libcomix_trt_plugins.so"
    library.write_bytes(b"\x7fELF fake plugin library")
    monkeypatch.setenv(ENV_LIBRARY, str(library))
    return cuda, trt, PluginLibrary.at(library)


def _feeds(network: FakeNetwork, batch: int, height: int, width: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "hsi": rng.normal(size=(batch, network.bands, height, width)).astype(np.float32),
        "x": rng.normal(size=(batch, network.x_channels, height, width)).astype(np.float32),
    }


def _expected(network: FakeNetwork, feeds: dict) -> dict:
    return {k: v.astype(np.float32) for k, v in network.compute(feeds["hsi"], feeds["x"]).items()}


def _assert_outputs(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=1e-6, atol=1e-6, err_msg=name)


def test_the_fake_memory_catches_the_one_element_buffer_bug():
    """What the old runner did: a 4-byte buffer for a whole logits tensor must fail, not pass."""
    cuda = FakeCuda()
    pointer = cuda.malloc(4)
    with pytest.raises(IllegalAddress, match="runs 4 bytes past the end of a 4-byte allocation"):
        cuda.write(pointer, np.zeros(2, np.float32).tobytes())
    cuda.free(pointer)
    with pytest.raises(IllegalAddress, match="freed allocation"):
        cuda.read(pointer, 4)


def test_the_fake_context_refuses_shapes_outside_the_profile_like_tensorrt(fakes, tmp_path):
    cuda, trt, plugin = fakes
    network = FakeNetwork()
    engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(network.to_json().encode())
    context = engine.create_execution_context()
    assert context.set_input_shape("hsi", (5, network.bands, 32, 32)) is False
    assert "API Usage Error" in context.errors[-1] and "(5, 5, 32, 32)" in context.errors[-1]
    assert tuple(context.get_tensor_shape("logits")) == (-1, -1, -1, -1), "inputs not all set"
    assert context.set_input_shape("hsi", (2, network.bands, 32, 32))
    assert context.set_input_shape("x", (2, network.x_channels, 32, 32))
    assert tuple(context.get_tensor_shape("logits")) == (2, network.classes, 32, 32)


def test_output_buffers_hold_the_largest_output_of_every_profile(fakes, tmp_path):
    cuda, _, plugin = fakes
    runner = EngineRunner(write_fake_engine(tmp_path, TWO_PROFILES, plugin=plugin))
    try:
        specs = {t.name: t for t in runner.tensors}
        classes = TWO_PROFILES.classes
        assert specs["logits"].capacity == 6 * classes * 24 * 40, "profile 1's max batch and tile"
        assert specs["aux"].capacity == 6 * 2 * 12 * 20
        assert specs["hsi"].capacity == 6 * TWO_PROFILES.bands * 24 * 40
        assert specs["logits"].profiles == (
            ((1, classes, 16, 16), (1, classes, 16, 16), (2, classes, 16, 16)),
            ((3, classes, 24, 40), (4, classes, 24, 40), (6, classes, 24, 40)),
        )
        for name, spec in specs.items():
            pointer = runner.device_buffers[name]
            assert cuda.memory[pointer].size == spec.capacity * 4, name
            assert runner.host_buffers[name].size == spec.capacity, name
    finally:
        runner.close()


def test_every_profile_runs_at_its_largest_and_smallest_shapes(fakes, tmp_path):
    cuda, trt, plugin = fakes
    runner = EngineRunner(write_fake_engine(tmp_path, TWO_PROFILES, plugin=plugin))
    try:
        for batch, height, width, profile in (
            (2, 16, 16, 0),
            (6, 24, 40, 1),
            (3, 24, 40, 1),
            (1, 16, 16, 0),
        ):
            feeds = _feeds(TWO_PROFILES, batch, height, width, seed=batch)
            _assert_outputs(runner.run(feeds), _expected(TWO_PROFILES, feeds))
            assert runner.context.active_optimization_profile == profile
        assert not runner.context.errors, runner.context.errors
    finally:
        runner.close()


def test_shapes_outside_every_profile_are_refused_with_got_and_expected(fakes, tmp_path):
    _, _, plugin = fakes
    runner = EngineRunner(write_fake_engine(tmp_path, TWO_PROFILES, plugin=plugin))
    try:
        with pytest.raises(ValueError) as error:
            runner.run(_feeds(TWO_PROFILES, 7, 24, 40))
        message = str(error.value)
        assert (
            "got hsi (7, 5, 24, 40)" in message
            and "profile 1: hsi (3, 5, 24, 40)..(6, 5, 24, 40)" in message
        )
        with pytest.raises(
            ValueError, match=r"engine inputs: got \['hsi'\], expected \['hsi', 'x'\]"
        ):
            runner.run({"hsi": np.zeros((1, 5, 16, 16), np.float32)})
    finally:
        runner.close()


def test_a_shape_tensorrt_refuses_is_an_engine_run_failure(fakes, tmp_path, monkeypatch):
    """If TensorRT says no (its profile differs from what the runner read), the runner says so."""
    _, _, plugin = fakes
    runner = EngineRunner(write_fake_engine(tmp_path, FakeNetwork(), plugin=plugin))
    try:
        monkeypatch.setattr(runner.context, "set_input_shape", lambda name, shape: False)
        with pytest.raises(
            runner_module.EngineRunFailed,
            match=r"input hsi: TensorRT refused shape \(1, 5, 32, 32\) in profile 0",
        ):
            runner.run(_feeds(FakeNetwork(), 1, 32, 32))
    finally:
        runner.close()


@pytest.mark.parametrize(
    "profiles", [FakeNetwork().profiles, TWO_PROFILES.profiles], ids=["one", "two"]
)
def test_cuda_graphs_capture_once_per_shape_and_replay_current_inputs(fakes, tmp_path, profiles):
    cuda, _, plugin = fakes
    network = FakeNetwork(profiles=profiles, aux=True)
    runner = EngineRunner(write_fake_engine(tmp_path, network, plugin=plugin), cuda_graphs=True)
    try:
        low, _, high = profiles[-1]
        sizes = [
            high,
            high,
            low,
            high,
        ]  # capture, replay, capture another shape, replay the first again
        for index, (batch, height, width) in enumerate(sizes):
            feeds = _feeds(network, batch, height, width, seed=10 + index)
            _assert_outputs(runner.run(feeds), _expected(network, feeds))
        distinct = len({tuple(s) for s in sizes})
        assert len(runner._graphs) == distinct
        assert runner.context.executions == 2 * distinct, (
            "one plain enqueue + one captured, per shape"
        )
        assert cuda.launched == len(sizes)
    finally:
        runner.close()
    assert all(graph.destroyed for graph in cuda.graphs)


def test_close_frees_every_allocation_and_graph(fakes, tmp_path):
    cuda, _, plugin = fakes
    runner = EngineRunner(
        write_fake_engine(tmp_path, FakeNetwork(), plugin=plugin), cuda_graphs=True
    )
    runner.run(_feeds(FakeNetwork(), 2, 32, 32))
    runner.close()
    assert cuda.memory == {} and cuda.streams == {}
    assert all(graph.destroyed for graph in cuda.graphs)


def test_layer_times_come_from_the_attached_profiler(fakes, tmp_path):
    _, _, plugin = fakes
    runner = EngineRunner(
        write_fake_engine(tmp_path, FakeNetwork(), plugin=plugin), cuda_graphs=True
    )
    try:
        rows = runner.layer_times(_feeds(FakeNetwork(), 2, 32, 32), repeats=4, warmup=1)
        assert [r.name for r in rows] == list(LAYERS)
        assert [r.runs for r in rows] == [4] * len(LAYERS)
        assert [r.median_ms for r in rows] == [0.25, 0.5, 0.75, 1.0]
        assert runner.context.profiler is None and runner.cuda_graphs, (
            "profiler detached, graphs back"
        )
    finally:
        runner.close()


def test_the_record_check_runs_before_the_engine_is_touched(fakes, tmp_path, monkeypatch):
    cuda, _, plugin = fakes
    path = write_fake_engine(tmp_path, FakeNetwork(), plugin=plugin)
    other = tmp_path / "other.so"
    other.write_bytes(b"another library")
    monkeypatch.setenv("COMIX_TRT_PLUGIN_LIBRARY", str(other))
    with pytest.raises(runner_module.EngineMismatch, match="plugin library: engine built with"):
        EngineRunner(path)
    assert cuda.memory == {}, "nothing allocated for an engine that cannot run here"


# ---------------------------------------------------------------------------------------- the backend
def _backend(tmp_path, network, plugin, **kwargs):
    from comix.runtime.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(write_fake_engine(tmp_path, network, plugin=plugin), **kwargs)


@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_backend_splits_to_the_profile_max_and_pads_to_its_min(fakes, tmp_path, cuda_graphs):
    _, _, plugin = fakes
    network = FakeNetwork(profiles=(((2, 32, 48), (3, 32, 48), (3, 32, 48)),))
    backend = _backend(tmp_path, network, plugin, cuda_graphs=cuda_graphs)
    try:
        assert (backend.info.bands, backend.info.x_channels) == (network.bands, network.x_channels)
        assert backend.info.tile == (32, 48) and backend.info.max_batch == 3
        assert (backend.min_batch, backend.max_batch) == (2, 3)
        batches = []
        run = backend.runner.run
        backend.runner.run = lambda feeds: batches.append(len(feeds["hsi"])) or run(feeds)
        for count, calls in ((7, [3, 3, 2]), (1, [2])):  # 7 = 3 + 3 + 1 padded to 2; 1 padded to 2
            batches.clear()
            feeds = _feeds(network, count, 32, 48, seed=count)
            logits = backend.run(feeds["hsi"], feeds["x"])
            assert batches == calls
            np.testing.assert_allclose(
                logits, _expected(network, feeds)["logits"], rtol=1e-6, atol=1e-6
            )
    finally:
        backend.close()


def test_backend_layer_times_are_backend_rows_in_execution_order(fakes, tmp_path):
    _, _, plugin = fakes
    network = FakeNetwork()
    backend = _backend(tmp_path, network, plugin)
    try:
        feeds = _feeds(network, 2, 32, 32)
        rows = backend.layer_times(feeds["hsi"], feeds["x"], runs=3)
    finally:
        backend.close()
    assert [(r.name, r.milliseconds) for r in rows] == [
        (n, 0.25 * (i + 1)) for i, n in enumerate(LAYERS)
    ]


def test_backend_refuses_an_engine_without_two_inputs(fakes, tmp_path, monkeypatch):
    from fake_tensorrt import FakeEngine

    _, _, plugin = fakes
    monkeypatch.setattr(FakeEngine, "outputs", (), raising=False)
    monkeypatch.setattr(FakeEngine, "__init__", _engine_without_outputs)
    with pytest.raises(
        ValueError, match=r"got inputs \['hsi', 'x'\] and outputs \[\], expected hsi, x and logits"
    ):
        _backend(tmp_path, FakeNetwork(), plugin)


def _engine_without_outputs(self, network, trt):
    self.network, self.trt, self.inputs, self.outputs = network, trt, ("hsi", "x"), ()


# ------------------------------------------------------------------------- the fakes against TensorRT
@pytest.mark.tensorrt
def test_the_fakes_stand_in_only_for_members_the_real_bindings_have():
    """Each TensorRT member the fakes implement exists in the installed lean bindings (TensorRT 11.1)."""
    trt = pytest.importorskip(
        "tensorrt_lean_bindings",
        reason="TensorRT lean wheels absent: pip install -e '.[tensorrt-lean]'",
    )
    assert trt.__version__ == FAKE_VERSION
    missing = [
        f"{owner}.{member}"
        for owner, members in binding_names_used().items()
        for member in members
        if not hasattr(trt if owner == "<module>" else getattr(trt, owner), member)
    ]
    assert not missing, f"TensorRT {trt.__version__} (lean) lacks {missing}: the fakes drifted"
