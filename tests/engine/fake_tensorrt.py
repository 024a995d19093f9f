"""Test doubles of TensorRT's Python module and of the CUDA adapter, to drive the REAL
:class:`~comix.tensorrt.runner.EngineRunner` and :class:`~comix.runtime.tensorrt_backend.TensorRTBackend`
on a CPU. They behave like the real ones where the runner depends on it:

* :class:`FakeCuda` (a :class:`~comix.tensorrt.cuda_memory.CudaApi`) gives device memory as
  bounds-checked allocations: a read or write that runs past an allocation's end, or touches a freed
  one, raises :class:`IllegalAddress` (on a GPU: ``cudaErrorIllegalAddress``, or silent corruption).
  Work enqueued on a capturing stream is recorded, not done; launching the graph replays it with the
  addresses it captured (what CUDA stream capture does).
* :func:`fake_tensorrt` makes a ``tensorrt`` module whose engine (deserialised from the bytes
  :func:`write_fake_engine` writes) has named inputs with optimisation profiles and outputs whose
  shapes the execution context computes from the input shapes (``-1`` dims until every input shape is
  set). ``set_input_shape`` outside the active profile returns False and logs an error, as TensorRT does;
  switching profiles forgets the input shapes. ``execute_async_v3`` reads every input from its device
  address and writes every output, of its real size, to its address; with a profiler attached it reports
  one time per layer.

The network is a stand-in for CoMiX with a closed form, so every output element can be checked:
``logits[b, k] = (k + 1) * mean_c(hsi[b, c]) + sum_c(x[b, c]) - k`` (B, classes, H, W), and an optional
``aux`` output (B, 2, H // 2, W // 2), the 2x2 mean of ``mean_c(hsi)`` and of ``sum_c(x)`` (a second
output whose shape differs from the first's).

:func:`binding_names_used` lists the TensorRT members the fakes implement, so a test can check each exists
in the real (lean) bindings.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.metadata import ModelRecord
from comix.tensorrt.cuda_memory import CudaApi, DeviceInfo
from comix.tensorrt.engine_record import EngineFacts, write_engine_record
from comix.tensorrt.plugin_library import PluginLibrary

FAKE_VERSION = "11.1.0.106"
FAKE_GPU = DeviceInfo(0, "Fake H100", (9, 0), 80 << 30, "13.0", "13.0")
LAYERS = ("hsi_branch/Conv", "hsi_branch/DeformConv3D", "x_branch/DeformConv", "head/Conv")


class IllegalAddress(RuntimeError):
    """A device access outside every live allocation (cudaErrorIllegalAddress on a GPU)."""


# ------------------------------------------------------------------------------------------------ CUDA
@dataclass
class _Stream:
    handle: int
    capturing: bool = False
    captured: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class FakeGraph:
    work: list[Callable[[], None]]
    destroyed: bool = False


class FakeCuda(CudaApi):
    """Bounds-checked device memory, streams and stream capture (see the module doc)."""

    name = "fake-cuda"
    GAP = 1 << 16  # unmapped bytes between allocations, so an overrun never lands in a neighbour

    def __init__(self, info: DeviceInfo = FAKE_GPU) -> None:
        self.info = info
        self.memory: dict[int, np.ndarray] = {}  # base address -> bytes (live allocations)
        self.freed: set[int] = set()
        self.next_address = 0x7F0000000000
        self.streams: dict[int, _Stream] = {}
        self.graphs: list[FakeGraph] = []
        self.launched = 0

    # memory
    def malloc(self, nbytes: int) -> int:
        base = self.next_address
        self.memory[base] = np.zeros(max(nbytes, 1), np.uint8)
        self.next_address += max(nbytes, 1) + self.GAP
        return base

    def free(self, pointer: int) -> None:
        if pointer not in self.memory:
            raise IllegalAddress(f"cudaFree({pointer:#x}): got no live allocation at that address")
        del self.memory[pointer]
        self.freed.add(pointer)

    def _span(self, pointer: int, nbytes: int) -> tuple[np.ndarray, int]:
        for base, data in self.memory.items():
            if base <= pointer < base + data.size:
                if pointer + nbytes > base + data.size:
                    raise IllegalAddress(
                        f"access of {nbytes} bytes at {pointer:#x}: runs "
                        f"{pointer + nbytes - base - data.size} bytes past the end of a "
                        f"{data.size}-byte allocation"
                    )
                return data, pointer - base
        what = "a freed allocation" if any(b <= pointer for b in self.freed) else "no allocation"
        raise IllegalAddress(f"access of {nbytes} bytes at {pointer:#x}: in {what}")

    def read(self, pointer: int, nbytes: int) -> bytes:
        data, start = self._span(pointer, nbytes)
        return data[start : start + nbytes].tobytes()

    def write(self, pointer: int, payload: bytes) -> None:
        data, start = self._span(pointer, len(payload))
        data[start : start + len(payload)] = np.frombuffer(payload, np.uint8)

    def pinned_empty(self, shape, dtype) -> np.ndarray:
        return np.full(shape, np.nan if np.dtype(dtype).kind == "f" else 0, dtype)

    def release_pinned(self, array: np.ndarray) -> None:
        pass

    # streams and graphs
    def stream(self):
        stream = _Stream(handle=0x5000 + len(self.streams))
        self.streams[stream.handle] = stream
        return stream

    def stream_handle(self, stream) -> int:
        return stream.handle

    def destroy_stream(self, stream) -> None:
        del self.streams[stream.handle]

    def enqueue(self, handle: int, work: Callable[[], None]) -> None:
        """Run ``work`` now, or record it when the stream is being captured."""
        stream = self.streams[handle]
        if stream.capturing:
            stream.captured.append(work)
        else:
            work()

    def copy_to_device(self, pointer: int, array: np.ndarray, stream) -> None:
        self.enqueue(stream.handle, lambda: self.write(pointer, array.tobytes()))

    def copy_to_host(self, array: np.ndarray, pointer: int, stream) -> None:
        def work():
            array[...] = np.frombuffer(self.read(pointer, array.nbytes), array.dtype).reshape(
                array.shape
            )

        self.enqueue(stream.handle, work)

    def synchronize(self, stream) -> None:
        if stream.capturing:
            raise RuntimeError(
                "cudaStreamSynchronize during capture: cudaErrorStreamCaptureUnsupported"
            )

    def begin_capture(self, stream) -> None:
        stream.capturing, stream.captured = True, []

    def end_capture(self, stream):
        graph = FakeGraph(list(stream.captured))
        stream.capturing, stream.captured = False, []
        self.graphs.append(graph)
        return graph

    def launch_graph(self, graph, stream) -> None:
        if graph.destroyed:
            raise IllegalAddress("cudaGraphLaunch: got a destroyed graph")
        self.launched += 1
        for work in graph.work:
            self.enqueue(stream.handle, work)

    def destroy_graph(self, graph) -> None:
        graph.destroyed = True

    def device_info(self) -> DeviceInfo:
        return self.info


# ------------------------------------------------------------------------------------------- TensorRT
Shape = tuple[int, ...]


@dataclass(frozen=True)
class FakeNetwork:
    """What the fake engine computes: inputs hsi (B, bands, H, W) and x (B, x_channels, H, W), one
    (min, opt, max) batch and (H, W) per profile; output logits (and aux when ``aux``)."""

    bands: int = 5
    x_channels: int = 2
    classes: int = 3
    profiles: tuple = (
        ((1, 32, 32), (2, 32, 32), (4, 32, 32)),
    )  # per profile: (B, H, W) min/opt/max
    aux: bool = False

    def input_shapes(self, profile: int) -> dict[str, tuple[Shape, Shape, Shape]]:
        points = self.profiles[profile]
        return {
            "hsi": tuple((b, self.bands, h, w) for b, h, w in points),
            "x": tuple((b, self.x_channels, h, w) for b, h, w in points),
        }

    def output_shapes(self, hsi: Shape) -> dict[str, Shape]:
        b, _, h, w = hsi
        shapes = {"logits": (b, self.classes, h, w)}
        if self.aux:
            shapes["aux"] = (b, 2, h // 2, w // 2)
        return shapes

    def compute(self, hsi: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        """The closed form of the module doc (float64, cast by the caller)."""
        spectral, height = hsi.astype(np.float64).mean(axis=1), x.astype(np.float64).sum(axis=1)
        logits = np.stack([(k + 1) * spectral + height - k for k in range(self.classes)], axis=1)
        outputs = {"logits": logits}
        if self.aux:
            b, h, w = spectral.shape
            pooled = [
                a[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
                for a in (spectral, height)
            ]
            outputs["aux"] = np.stack(pooled, axis=1)
        return outputs

    def to_json(self) -> str:
        return json.dumps({"kind": "fake engine", **self.__dict__})

    @classmethod
    def from_bytes(cls, data: bytes) -> FakeNetwork:
        values = json.loads(data)
        if values.pop("kind", None) != "fake engine":
            raise ValueError("not a fake engine")
        values["profiles"] = tuple(
            tuple(tuple(p) for p in profile) for profile in values["profiles"]
        )
        return cls(**values)


class _Enum:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class TensorIOMode:
    INPUT, OUTPUT = _Enum("INPUT"), _Enum("OUTPUT")


class DataType:
    FLOAT, HALF = _Enum("FLOAT"), _Enum("HALF")


def nptype(data_type) -> type:
    return {DataType.FLOAT: np.float32, DataType.HALF: np.float16}[data_type]


class Logger:
    WARNING, ERROR = 2, 1

    def __init__(self, severity: int = WARNING) -> None:
        self.severity = severity


class IProfiler:
    def __init__(self) -> None:
        pass


class _Registry:
    def __init__(self) -> None:
        self.loaded: list[str] = []

    def load_library(self, path: str):
        if not Path(path).is_file():
            return None
        self.loaded.append(path)
        return object()

    def get_creator(self, name: str, version: str, namespace: str = ""):
        return (name, version, namespace) if self.loaded else None


class FakeEngine:
    """ICudaEngine: named I/O tensors, profiles, execution contexts."""

    def __init__(self, network: FakeNetwork, trt: types.ModuleType) -> None:
        self.network, self.trt = network, trt
        self.inputs = ("hsi", "x")
        self.outputs = tuple(network.output_shapes((1, network.bands, 2, 2)))

    @property
    def num_io_tensors(self) -> int:
        return len(self.inputs) + len(self.outputs)

    @property
    def num_optimization_profiles(self) -> int:
        return len(self.network.profiles)

    def get_tensor_name(self, index: int) -> str:
        return (self.inputs + self.outputs)[index]

    def get_tensor_mode(self, name: str):
        return TensorIOMode.INPUT if name in self.inputs else TensorIOMode.OUTPUT

    def get_tensor_dtype(self, name: str):
        return DataType.FLOAT

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[Shape]:
        if name not in self.inputs or not 0 <= profile < self.num_optimization_profiles:
            raise RuntimeError(f"get_tensor_profile_shape({name!r}, {profile}): invalid argument")
        return [list(s) for s in self.network.input_shapes(profile)[name]]

    def create_execution_context(self) -> FakeContext:
        return FakeContext(self)


class FakeContext:
    """IExecutionContext (see the module doc)."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.active_optimization_profile = 0
        self.shapes: dict[str, Shape] = {}
        self.addresses: dict[str, int] = {}
        self.profiler = None
        self.errors: list[str] = []
        self.executions = 0

    def _error(self, message: str) -> bool:
        self.errors.append(message)
        return False

    def set_optimization_profile_async(self, profile: int, stream: int) -> bool:
        if not 0 <= profile < self.engine.num_optimization_profiles:
            return self._error(f"setOptimizationProfileAsync: profile {profile} out of range")
        self.active_optimization_profile = profile
        self.shapes.clear()  # TensorRT wants the input shapes again after a profile switch
        return True

    def set_input_shape(self, name: str, shape) -> bool:
        shape = tuple(int(d) for d in shape)
        if name not in self.engine.inputs:
            return self._error(f"setInputShape: {name!r} is not an input tensor")
        low, _, high = self.engine.network.input_shapes(self.active_optimization_profile)[name]
        if len(shape) != len(high) or not all(lo <= s <= hi for s, lo, hi in zip(shape, low, high)):
            return self._error(
                f"IExecutionContext::setInputShape: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: {name} shape {shape} within profile "
                f"{self.active_optimization_profile} range {low}..{high})"
            )
        self.shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> Shape:
        if name in self.engine.inputs:
            return self.shapes.get(name, (-1, -1, -1, -1))
        if set(self.shapes) != set(self.engine.inputs):
            return (-1, -1, -1, -1)
        return self.engine.network.output_shapes(self.shapes["hsi"])[name]

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = int(address)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        missing = [n for n in self.engine.inputs if n not in self.shapes]
        unbound = [n for n in self.engine.inputs + self.engine.outputs if n not in self.addresses]
        if missing or unbound:
            return self._error(f"enqueueV3: input shapes {missing} / addresses {unbound} not set")
        self.executions += 1
        cuda: FakeCuda = self.engine.trt.cuda
        shapes = dict(self.shapes)
        addresses = dict(self.addresses)
        network = self.engine.network

        def work():  # what the GPU would do, with the shapes and addresses of this enqueue
            feeds = {
                name: np.frombuffer(
                    cuda.read(addresses[name], int(np.prod(shape)) * 4), np.float32
                ).reshape(shape)
                for name, shape in shapes.items()
            }
            for name, value in network.compute(feeds["hsi"], feeds["x"]).items():
                cuda.write(addresses[name], value.astype(np.float32).tobytes())

        cuda.enqueue(stream_handle, work)
        if self.profiler is not None:
            for index, layer in enumerate(LAYERS):
                self.profiler.report_layer_time(layer, 0.25 * (index + 1))
        return True


class Runtime:
    def __init__(self, logger: Logger) -> None:
        self.logger = logger
        self.engine_host_code_allowed = False

    def deserialize_cuda_engine(self, data: bytes):
        try:
            return FakeEngine(FakeNetwork.from_bytes(data), self._trt)
        except ValueError:
            return None  # what TensorRT returns for bytes it cannot read


def fake_tensorrt(cuda: FakeCuda) -> types.ModuleType:
    """A ``tensorrt`` module (full package: it has a Builder attribute) wired to ``cuda``'s memory."""
    module = types.ModuleType("tensorrt")
    registry = _Registry()

    class BoundRuntime(Runtime):
        _trt = module

    module.__dict__.update(
        __version__=FAKE_VERSION,
        cuda=cuda,
        registry=registry,
        Logger=Logger,
        Runtime=BoundRuntime,
        TensorIOMode=TensorIOMode,
        DataType=DataType,
        IProfiler=IProfiler,
        nptype=nptype,
        get_plugin_registry=lambda: registry,
    )
    return module


def binding_names_used() -> dict[str, list[str]]:
    """{TensorRT binding class: members the fakes stand in for}, for a check against real bindings."""
    return {
        "ICudaEngine": [
            "num_io_tensors",
            "num_optimization_profiles",
            "get_tensor_name",
            "get_tensor_mode",
            "get_tensor_dtype",
            "get_tensor_profile_shape",
            "create_execution_context",
        ],
        "IExecutionContext": [
            "active_optimization_profile",
            "set_optimization_profile_async",
            "set_input_shape",
            "get_tensor_shape",
            "set_tensor_address",
            "execute_async_v3",
            "profiler",
        ],
        "Runtime": ["deserialize_cuda_engine", "engine_host_code_allowed"],
        "IPluginRegistry": ["load_library", "get_creator"],
        "TensorIOMode": ["INPUT", "OUTPUT"],
        "DataType": ["FLOAT", "HALF"],
        "Logger": ["WARNING", "ERROR"],
        "<module>": ["nptype", "get_plugin_registry", "IProfiler", "Runtime", "Logger"],
    }


def write_fake_engine(
    folder: Path, network: FakeNetwork, *, plugin: PluginLibrary, name: str = "fake.engine"
) -> Path:
    """The fake engine's bytes and a real engine record beside it (TensorRT, GPU and plugin library of
    the fakes, so the runner's compatibility check passes)."""
    path = folder / name
    path.write_bytes(network.to_json().encode())
    facts = EngineFacts(
        engine_file=path.name,
        tensorrt_version=FAKE_VERSION,
        gpu={"name": FAKE_GPU.name, "compute_capability": FAKE_GPU.sm},
        plugin_library=plugin.facts(),
        build_options={"version_compatible": False},
    )
    record = ModelRecord(
        model_name="fake",
        class_names=[f"class{k}" for k in range(network.classes)],
        hsi_bands=network.bands,
        x_channels=network.x_channels,
        training_tile=[32, 32],
        config={"classes": network.classes},
    )
    write_engine_record(path, facts, record)
    return path
