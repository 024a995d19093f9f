"""Load a CoMiX engine and run it: named I/O tensors, pinned host buffers, async copies on one stream,
optional CUDA graphs, per-layer times.

    runner = EngineRunner("model.engine")                  # checks <engine>.json against this machine first
    outputs = runner.run({"hsi": hsi, "x": x})             # (B, ...) numpy in, {name: numpy} out
    runner.layer_times({"hsi": hsi, "x": x}, repeats=20)   # [LayerTime] per layer, execution order
    runner.close()

Buffers are allocated once (device memory and page-locked host memory), so a call only sets input shapes,
copies in, enqueues, copies out and synchronises. An input's buffer holds its largest shape over every
optimisation profile; an output's holds the largest shape TensorRT's execution context reports for it
when the inputs are set to each profile's min, opt and max shapes (an output has no profile of its own:
its shape follows from the inputs'). A call runs in the first profile whose range holds its input shapes.
With ``cuda_graphs`` the enqueue of each distinct (profile, input shapes) is captured once (after one
ordinary run, as TensorRT requires after a shape change) and replayed; copies stay outside the graph.

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


Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorSpec:
    """One I/O tensor: name, is it an input, numpy dtype, its (min, opt, max) shapes per optimisation
    profile, and the elements its buffers hold (the largest of those shapes).

    For an input the shapes are the profile's; for an output they are what the execution context reports
    with the inputs at the profile's min, opt and max shapes. ``min_shape``/``opt_shape``/``max_shape``
    are profile 0's.
    """

    name: str
    is_input: bool
    dtype: np.dtype
    profiles: tuple[tuple[Shape, Shape, Shape], ...]
    capacity: int

    @property
    def min_shape(self) -> Shape:
        return self.profiles[0][0]

    @property
    def opt_shape(self) -> Shape:
        return self.profiles[0][1]

    @property
    def max_shape(self) -> Shape:
        return self.profiles[0][2]

    def holds(self, profile: int, shape: Shape) -> bool:
        """Whether ``shape`` lies within the (min, max) range of ``profile``."""
        low, _, high = self.profiles[profile]
        return len(shape) == len(high) and all(lo <= s <= hi for s, lo, hi in zip(shape, low, high))


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
        self.stream = self.cuda.stream()
        self.tensors = self._describe()
        self.device_buffers: dict[str, int] = {}
        self.host_buffers: dict[str, np.ndarray] = {}
        for spec in self.tensors:
            self.device_buffers[spec.name] = self.cuda.malloc(spec.capacity * spec.dtype.itemsize)
            self.host_buffers[spec.name] = self.cuda.pinned_empty((spec.capacity,), spec.dtype)
            self.context.set_tensor_address(spec.name, self.device_buffers[spec.name])
        self.cuda_graphs = cuda_graphs
        self._graphs: dict[tuple, object] = {}
        self._shapes: tuple | None = None

    # ------------------------------------------------------------------ description
    def _describe(self) -> list[TensorSpec]:
        """Every I/O tensor with its shapes per profile; outputs measured through the execution context."""
        trt, engine = self.trt, self.engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        profiles = range(engine.num_optimization_profiles)
        ranges = {
            name: tuple(
                tuple(
                    tuple(int(d) for d in shape)
                    for shape in engine.get_tensor_profile_shape(name, p)
                )
                for p in profiles
            )
            for name in inputs
        }
        outputs: dict[str, list[tuple[Shape, ...]]] = {n: [] for n in names if n not in ranges}
        for profile in profiles:
            self._select_profile(profile)
            per_output: dict[str, list[Shape]] = {n: [] for n in outputs}
            for point in range(3):  # min, opt, max
                for name in inputs:
                    self._set_shape(name, ranges[name][profile][point])
                for name in outputs:
                    per_output[name].append(self._output_shape(name))
            for name, shapes in per_output.items():
                outputs[name].append(tuple(shapes))
        self._select_profile(0)
        specs = []
        for name in names:
            shapes = ranges.get(name) or tuple(outputs[name])
            capacity = max(int(np.prod(s)) for triple in shapes for s in triple)
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            specs.append(TensorSpec(name, name in ranges, dtype, shapes, capacity))
        return specs

    def _select_profile(self, profile: int) -> None:
        if self.context.active_optimization_profile == profile:
            return
        handle = self.cuda.stream_handle(self.stream)
        if not self.context.set_optimization_profile_async(profile, handle):
            raise EngineRunFailed(f"{self.path}: TensorRT refused optimisation profile {profile}")
        self.cuda.synchronize(self.stream)

    def _set_shape(self, name: str, shape: Shape) -> None:
        if not self.context.set_input_shape(name, shape):
            raise EngineRunFailed(
                f"input {name}: TensorRT refused shape {shape} in profile "
                f"{self.context.active_optimization_profile} (its log above says why)"
            )

    def _output_shape(self, name: str) -> Shape:
        shape = tuple(int(d) for d in self.context.get_tensor_shape(name))
        if any(d < 0 for d in shape):
            raise EngineRunFailed(
                f"output {name}: TensorRT reports shape {shape} with every input shape set, expected "
                "a concrete shape (outputs whose shape depends on the data are not supported)"
            )
        return shape

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
        """Copy ``feeds`` into the pinned buffers, pick the profile and set the shapes; returns the key
        (profile, input shapes) of this call."""
        names = {t.name for t in self.inputs}
        if set(feeds) != names:
            raise BadInputError(f"engine inputs: got {sorted(feeds)}, expected {sorted(names)}")
        shapes = tuple(tuple(int(s) for s in feeds[spec.name].shape) for spec in self.inputs)
        profile = self._profile_for(shapes)
        for spec, shape in zip(self.inputs, shapes):
            array = feeds[spec.name]
            host = self.host_buffers[spec.name][: array.size].reshape(shape)
            np.copyto(host, array, casting="same_kind")
        key = (profile, shapes)
        if key != self._shapes:
            self._select_profile(profile)
            for spec, shape in zip(self.inputs, shapes):
                self._set_shape(spec.name, shape)
            self._shapes = key
        return key

    def _profile_for(self, shapes: tuple[Shape, ...]) -> int:
        """The first profile whose ranges hold every input shape; a got/expected error if none does."""
        for profile in range(len(self.inputs[0].profiles)):
            if all(spec.holds(profile, shape) for spec, shape in zip(self.inputs, shapes)):
                return profile
        got = ", ".join(f"{spec.name} {shape}" for spec, shape in zip(self.inputs, shapes))
        expected = "; ".join(
            f"profile {p}: "
            + ", ".join(
                f"{spec.name} {spec.profiles[p][0]}..{spec.profiles[p][2]}" for spec in self.inputs
            )
            for p in range(len(self.inputs[0].profiles))
        )
        raise BadInputError(
            f"engine inputs: got {got}, expected shapes within one profile ({expected}); rebuild "
            "with a wider --batch/--tile to run other sizes"
        )

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
        """Run once; inputs by name (shapes within one profile), outputs by name as new numpy arrays."""
        key = self._set_inputs(feeds)
        for spec, shape in zip(self.inputs, key[1]):
            size = int(np.prod(shape))
            self.cuda.copy_to_device(
                self.device_buffers[spec.name], self.host_buffers[spec.name][:size], self.stream
            )
        self._execute(key)
        shapes = {}
        for spec in self.outputs:
            shape = self._output_shape(spec.name)
            size = int(np.prod(shape))
            if (
                size > spec.capacity
            ):  # cannot happen if TensorRT's shapes are monotone in its inputs'
                raise EngineRunFailed(
                    f"output {spec.name}: got shape {shape} ({size} elements), expected at most "
                    f"{spec.capacity} elements (its buffer, sized from the profiles' shapes)"
                )
            shapes[spec.name] = shape
            self.cuda.copy_to_host(
                self.host_buffers[spec.name][:size], self.device_buffers[spec.name], self.stream
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
