"""Load a CoMiX engine and run it: named I/O tensors, pinned host buffers, async copies on one stream,
optional CUDA graphs, per-layer times.

    runner = EngineRunner("model.engine")                  # checks <engine>.json against this machine first
    outputs = runner.run({"hsi": hsi, "x": x})             # (B, ...) numpy in, {name: numpy} out
    runner.layer_times({"hsi": hsi, "x": x}, repeats=20)   # [LayerTime] per layer, execution order
    runner.close()

Buffers are allocated once for the profile's largest shapes (device memory and page-locked host memory),
so a call only sets input shapes, copies in, enqueues, copies out and synchronises. With ``cuda_graphs``
the enqueue of each distinct input-shape set is captured once (after one ordinary run, as TensorRT
requires after a shape change) and replayed; copies stay outside the graph.

Runs on TensorRT's full package or, for engines built ``--version-compatible``, the lean runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.errors import BadInputError, FailedError
from comix.metadata import ModelRecord
from comix.tensorrt.cuda_memory import DEFAULT_API, CudaApi, open_cuda
from comix.tensorrt.engine_record import (
    EngineFacts,
    EngineMismatch,
    RuntimeEnvironment,
    check_compatible,
    read_engine_record,
)
from comix.tensorrt.layer_profiler import LayerTime, make_layer_timer, summarize
from comix.tensorrt.plugin_library import PluginLibrary, find_plugin_library, load_into_registry
from comix.tensorrt.version import import_tensorrt


class EngineRunFailed(FailedError):
    """TensorRT could not deserialize or execute the engine."""


@dataclass(frozen=True)
class TensorSpec:
    """One I/O tensor: name, is it an input, numpy dtype, and (min, opt, max) shapes of profile 0."""

    name: str
    is_input: bool
    dtype: np.dtype
    min_shape: tuple[int, ...]
    opt_shape: tuple[int, ...]
    max_shape: tuple[int, ...]


class EngineRunner:
    """See the module doc. ``cuda`` is ``cuda-python`` (default) or ``pycuda``; ``plugin_library`` overrides
    the search; ``check=False`` skips the record check (only for engines you know fit)."""

    def __init__(
        self,
        engine: str | os.PathLike,
        *,
        cuda: str = DEFAULT_API,
        device: int = 0,
        cuda_graphs: bool = False,
        plugin_library: str | os.PathLike | None = None,
        check: bool = True,
    ):
        self.path = Path(engine)
        if not self.path.is_file():
            raise EngineMismatch(
                f"engine {self.path}: got no such file, expected a .engine written by comix build"
            )
        self.facts, self.record = read_engine_record(self.path)
        self.trt, self.caps = import_tensorrt(builder=False)
        trt = self.trt
        if self.caps.lean and not (self.facts.build_options or {}).get("version_compatible"):
            raise EngineMismatch(
                f"engine {self.path}: the lean TensorRT runtime runs only engines built with "
                "--version-compatible; got a plain engine (install the full tensorrt package)"
            )
        self.cuda: CudaApi = open_cuda(cuda, device)
        self.device = self.cuda.device_info()
        self.plugin: PluginLibrary = find_plugin_library(plugin_library)
        if check:
            check_compatible(
                self.path,
                self.facts,
                RuntimeEnvironment(
                    str(trt.__version__), self.device.name, self.device.sm, self.plugin.sha256
                ),
            )
        self.logger = trt.Logger(trt.Logger.WARNING)
        load_into_registry(trt, self.plugin)
        self.runtime = trt.Runtime(self.logger)
        if (self.facts.build_options or {}).get("version_compatible"):
            self.runtime.engine_host_code_allowed = (
                True  # a version-compatible plan carries its lean runtime
            )
        self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise EngineRunFailed(
                f"TensorRT could not deserialize {self.path} (its log above says why)"
            )
        self.context = self.engine.create_execution_context()
        self.tensors = [self._spec(i) for i in range(self.engine.num_io_tensors)]
        self.stream = self.cuda.stream()
        self.device_buffers: dict[str, int] = {}
        self.host_buffers: dict[str, np.ndarray] = {}
        for spec in self.tensors:
            size = int(np.prod(spec.max_shape))
            self.device_buffers[spec.name] = self.cuda.malloc(size * spec.dtype.itemsize)
            self.host_buffers[spec.name] = self.cuda.pinned_empty((size,), spec.dtype)
            self.context.set_tensor_address(spec.name, self.device_buffers[spec.name])
        self.cuda_graphs = cuda_graphs
        self._graphs: dict[tuple, object] = {}
        self._shapes: tuple | None = None

    # ------------------------------------------------------------------ description
    def _spec(self, index: int) -> TensorSpec:
        trt, engine = self.trt, self.engine
        name = engine.get_tensor_name(index)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
        if is_input:
            low, best, high = (
                tuple(int(d) for d in shape) for shape in engine.get_tensor_profile_shape(name, 0)
            )
        else:
            low = best = high = ()
        return TensorSpec(name, is_input, dtype, low, best, high)

    @property
    def inputs(self) -> list[TensorSpec]:
        return [t for t in self.tensors if t.is_input]

    @property
    def outputs(self) -> list[TensorSpec]:
        return [t for t in self.tensors if not t.is_input]

    @property
    def model_record(self) -> ModelRecord:
        return self.record

    @property
    def engine_facts(self) -> EngineFacts:
        return self.facts

    # ------------------------------------------------------------------ running
    def _set_inputs(self, feeds: dict[str, np.ndarray]) -> tuple:
        names = {t.name for t in self.inputs}
        if set(feeds) != names:
            raise BadInputError(f"engine inputs: got {sorted(feeds)}, expected {sorted(names)}")
        shapes = []
        for spec in self.inputs:
            array = feeds[spec.name]
            if array.ndim != len(spec.max_shape) or any(
                not lo <= s <= hi for s, lo, hi in zip(array.shape, spec.min_shape, spec.max_shape)
            ):
                raise BadInputError(
                    f"input {spec.name}: got shape {tuple(array.shape)}, expected between "
                    f"{spec.min_shape} and {spec.max_shape} (the engine's profile; rebuild with a "
                    "wider --batch/--tile to run other sizes)"
                )
            host = self.host_buffers[spec.name][: array.size].reshape(array.shape)
            np.copyto(host, array, casting="same_kind")
            shapes.append(tuple(array.shape))
        key = tuple(shapes)
        if key != self._shapes:
            for spec, shape in zip(self.inputs, shapes):
                if not self.context.set_input_shape(spec.name, shape):
                    raise EngineRunFailed(f"input {spec.name}: TensorRT refused shape {shape}")
            self._shapes = key
        return key

    def _execute(self, key: tuple) -> None:
        handle = self.cuda.stream_handle(self.stream)
        if not self.cuda_graphs:
            if not self.context.execute_async_v3(handle):
                raise EngineRunFailed(
                    f"{self.path}: execute_async_v3 failed (TensorRT's log above says why)"
                )
            return
        graph = self._graphs.get(key)
        if graph is None:
            # one ordinary enqueue after a shape change, then capture the next one
            if not self.context.execute_async_v3(handle):
                raise EngineRunFailed(
                    f"{self.path}: execute_async_v3 failed before CUDA graph capture"
                )
            self.cuda.synchronize(self.stream)
            self.cuda.begin_capture(self.stream)
            ok = self.context.execute_async_v3(handle)
            graph = self.cuda.end_capture(self.stream)
            if not ok:
                self.cuda.destroy_graph(graph)
                raise EngineRunFailed(
                    f"{self.path}: execute_async_v3 failed during CUDA graph capture"
                )
            self._graphs[key] = graph
        self.cuda.launch_graph(graph, self.stream)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once; inputs by name (shapes within profile 0), outputs by name as new numpy arrays."""
        key = self._set_inputs(feeds)
        for spec, shape in zip(self.inputs, key):
            size = int(np.prod(shape))
            self.cuda.copy_to_device(
                self.device_buffers[spec.name], self.host_buffers[spec.name][:size], self.stream
            )
        self._execute(key)
        shapes = {}
        for spec in self.outputs:
            shape = tuple(int(d) for d in self.context.get_tensor_shape(spec.name))
            shapes[spec.name] = shape
            self.cuda.copy_to_host(
                self.host_buffers[spec.name][: int(np.prod(shape))],
                self.device_buffers[spec.name],
                self.stream,
            )
        self.cuda.synchronize(self.stream)
        return {
            name: self.host_buffers[name][: int(np.prod(shape))].reshape(shape).copy()
            for name, shape in shapes.items()
        }

    def layer_times(
        self, feeds: dict[str, np.ndarray], repeats: int = 20, warmup: int = 3
    ) -> list[LayerTime]:
        """Per-layer times (median/mean ms per run, share) over ``repeats`` runs after ``warmup`` runs.

        Needs an engine built with profiling verbosity ``detailed`` or ``layer_names_only`` (the
        default of comix build) for readable names. CUDA graphs are not used while profiling.
        """
        graphs, self.cuda_graphs = self.cuda_graphs, False
        try:
            for _ in range(warmup):
                self.run(feeds)
            timer = make_layer_timer(self.trt)
            self.context.profiler = timer
            for _ in range(repeats):
                self.run(feeds)
            return summarize(timer.samples)
        finally:
            try:
                self.context.profiler = (
                    None  # detach (bindings that refuse None keep it: harmless, it only collects)
                )
            except TypeError:
                pass
            self.cuda_graphs = graphs

    def close(self) -> None:
        """Free graphs, buffers and the stream (the runner is unusable afterwards)."""
        for graph in self._graphs.values():
            self.cuda.destroy_graph(graph)
        self._graphs.clear()
        for pointer in self.device_buffers.values():
            self.cuda.free(pointer)
        for array in self.host_buffers.values():
            self.cuda.release_pinned(array)
        self.device_buffers.clear()
        self.host_buffers.clear()
        self.cuda.destroy_stream(self.stream)
