"""Device memory, pinned host memory, streams and CUDA graphs for the TensorRT runtime — one small adapter.

Two implementations of :class:`CudaApi`:

* ``cuda-python`` (default): NVIDIA's own bindings, what TensorRT's Python samples use now. It installs
  from PyPI on any machine (also CPU-only CI) and imports without a driver, so the import and the
  "no driver" path are tested everywhere; its runtime API shares the primary context TensorRT uses.
* ``pycuda``: named by the project's users and common on Jetson. It needs the CUDA driver to build and
  to import, so it is exercised only on GPU hosts. It works in the device's primary context (retained
  and pushed), which is the one TensorRT's runtime API uses.

Every CUDA status is checked: a failure raises :class:`CudaError` naming the call and the CUDA error.
Addresses are plain ``int`` device pointers (what ``IExecutionContext.set_tensor_address`` takes).
"""

from __future__ import annotations

import ctypes
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from comix.errors import BadInputError, FailedError

API_NAMES = ("cuda-python", "pycuda")
DEFAULT_API = "cuda-python"
# cuda-python's major version must match the driver's CUDA major: 13.x bindings refuse a CUDA 12 driver
# (JetPack 6) with cudaErrorInsufficientDriver. One extra per CUDA major (pyproject.toml).
CUDA_PYTHON_EXTRAS = {12: "gpu-cu12", 13: "gpu-cu13"}
CUDA_PYTHON_HINT = (
    "pip install 'comix-deploy[gpu-cu12]' for a CUDA 12 driver (JetPack 6), "
    "'comix-deploy[gpu-cu13]' for CUDA 13 (JetPack 7, current x86_64 drivers)"
)


class CudaError(FailedError):
    """A CUDA call failed (message names the call and the CUDA error)."""


class CudaUnavailable(BadInputError):
    """No usable CUDA here (package missing, no driver, no device); the message says what to do."""


@dataclass(frozen=True)
class DeviceInfo:
    """One GPU: name, compute capability (major, minor), memory in bytes, driver and runtime versions."""

    index: int
    name: str
    compute_capability: tuple[int, int]
    total_memory: int
    driver_version: str
    runtime_version: str

    @property
    def sm(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"


INSUFFICIENT_DRIVER = 35  # cudaErrorInsufficientDriver


def bindings_version() -> str:
    """Version of the installed cuda-python bindings ("unknown" when the metadata is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("cuda-bindings", "cuda-python"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "unknown"


def cuda_python_extra(driver_cuda: str) -> str:
    """The extra whose cuda-python matches a driver's CUDA version ("12.6" -> "gpu-cu12")."""
    major = int(str(driver_cuda).split(".")[0])
    return CUDA_PYTHON_EXTRAS.get(major, CUDA_PYTHON_EXTRAS[max(CUDA_PYTHON_EXTRAS)])


def _cuda_version(number: int) -> str:
    """CUDA encodes 12.4 as 12040."""
    return f"{number // 1000}.{(number % 1000) // 10}" if number else "none"


class CudaApi(ABC):
    """What the engine runner needs from CUDA. ``stream``/``graph`` handles are opaque objects."""

    name = "abstract"

    @abstractmethod
    def device_info(self) -> DeviceInfo: ...

    @abstractmethod
    def malloc(self, nbytes: int) -> int: ...

    @abstractmethod
    def free(self, pointer: int) -> None: ...

    @abstractmethod
    def pinned_empty(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A host array in page-locked memory (freed when :meth:`release_pinned` is called on it)."""

    @abstractmethod
    def release_pinned(self, array: np.ndarray) -> None: ...

    @abstractmethod
    def stream(self): ...

    @abstractmethod
    def stream_handle(self, stream) -> int:
        """The ``cudaStream_t`` as an int (what ``execute_async_v3`` takes)."""

    @abstractmethod
    def destroy_stream(self, stream) -> None: ...

    @abstractmethod
    def copy_to_device(self, pointer: int, array: np.ndarray, stream) -> None:
        """Asynchronous host -> device copy of a C-contiguous (pinned) array."""

    @abstractmethod
    def copy_to_host(self, array: np.ndarray, pointer: int, stream) -> None:
        """Asynchronous device -> host copy into a C-contiguous (pinned) array."""

    @abstractmethod
    def synchronize(self, stream) -> None: ...

    @abstractmethod
    def begin_capture(self, stream) -> None: ...

    @abstractmethod
    def end_capture(self, stream):
        """End stream capture; returns an instantiated, launchable graph."""

    @abstractmethod
    def launch_graph(self, graph, stream) -> None: ...

    @abstractmethod
    def destroy_graph(self, graph) -> None: ...


class CudaPython(CudaApi):
    """:class:`CudaApi` over cuda-python's runtime bindings (``cuda.bindings.runtime``; 12.x:
    ``cuda.cudart``)."""

    name = "cuda-python"

    def __init__(self, device: int = 0) -> None:
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            try:
                from cuda import cudart  # cuda-python 12.x
            except ImportError:
                raise CudaUnavailable(
                    f"cuda-python: not installed; {CUDA_PYTHON_HINT} (or use --cuda pycuda)"
                ) from None
        self.rt = cudart
        self.device = device
        count = self._call("cudaGetDeviceCount", cudart.cudaGetDeviceCount(), unavailable=True)
        if device >= count:
            raise CudaUnavailable(
                f"CUDA device {device}: got {count} device(s), expected index < {count}"
            )
        self._call("cudaSetDevice", cudart.cudaSetDevice(device), unavailable=True)

    def _error_name(self, status) -> str:
        try:
            return self.rt.cudaGetErrorName(status)[1].decode()
        except Exception:
            return str(status)

    def _call(self, what: str, result, unavailable: bool = False):
        """Check a cuda-python ``(status, *values)`` result; return the value(s)."""
        status, *values = result if isinstance(result, tuple) else (result,)
        if int(status) != 0:
            message = (
                f"{what}: got {self._error_name(status)} ({int(status)}), expected cudaSuccess"
            )
            if unavailable:
                if int(status) == INSUFFICIENT_DRIVER:
                    message += (
                        f"; cuda-python {bindings_version()} needs a driver of CUDA "
                        f"{bindings_version().split('.')[0]} or newer: no driver here, or an older one "
                        f"({CUDA_PYTHON_HINT})"
                    )
                raise CudaUnavailable(
                    message + "; is an NVIDIA driver installed and a GPU visible? "
                    "(`comix doctor` checks)"
                )
            raise CudaError(message)
        return values[0] if len(values) == 1 else (tuple(values) if values else None)

    def device_info(self) -> DeviceInfo:
        props = self._call("cudaGetDeviceProperties", self.rt.cudaGetDeviceProperties(self.device))
        name = (
            props.name.decode(errors="replace").rstrip("\x00")
            if isinstance(props.name, bytes)
            else str(props.name)
        )
        driver = self._call("cudaDriverGetVersion", self.rt.cudaDriverGetVersion())
        version = self._call("cudaRuntimeGetVersion", self.rt.cudaRuntimeGetVersion())
        return DeviceInfo(
            self.device,
            name,
            (int(props.major), int(props.minor)),
            int(props.totalGlobalMem),
            _cuda_version(int(driver)),
            _cuda_version(int(version)),
        )

    def malloc(self, nbytes: int) -> int:
        return int(self._call("cudaMalloc", self.rt.cudaMalloc(max(nbytes, 1))))

    def free(self, pointer: int) -> None:
        self._call("cudaFree", self.rt.cudaFree(pointer))

    def pinned_empty(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
        pointer = int(self._call("cudaMallocHost", self.rt.cudaMallocHost(nbytes)))
        raw = (ctypes.c_byte * nbytes).from_address(pointer)
        array = np.frombuffer(raw, dtype=np.uint8, count=nbytes)[
            : int(np.prod(shape)) * dtype.itemsize
        ]
        view = array.view(dtype).reshape(shape)
        self._pinned = getattr(self, "_pinned", {})
        self._pinned[view.ctypes.data] = pointer
        return view

    def release_pinned(self, array: np.ndarray) -> None:
        pointer = getattr(self, "_pinned", {}).pop(array.ctypes.data, None)
        if pointer is not None:
            self._call("cudaFreeHost", self.rt.cudaFreeHost(pointer))

    def stream(self):
        return self._call(
            "cudaStreamCreateWithFlags",
            self.rt.cudaStreamCreateWithFlags(self.rt.cudaStreamNonBlocking),
        )

    def stream_handle(self, stream) -> int:
        return int(stream)

    def destroy_stream(self, stream) -> None:
        self._call("cudaStreamDestroy", self.rt.cudaStreamDestroy(stream))

    def copy_to_device(self, pointer: int, array: np.ndarray, stream) -> None:
        self._call(
            "cudaMemcpyAsync(HostToDevice)",
            self.rt.cudaMemcpyAsync(
                pointer,
                array.ctypes.data,
                array.nbytes,
                self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice,
                stream,
            ),
        )

    def copy_to_host(self, array: np.ndarray, pointer: int, stream) -> None:
        self._call(
            "cudaMemcpyAsync(DeviceToHost)",
            self.rt.cudaMemcpyAsync(
                array.ctypes.data,
                pointer,
                array.nbytes,
                self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                stream,
            ),
        )

    def synchronize(self, stream) -> None:
        self._call("cudaStreamSynchronize", self.rt.cudaStreamSynchronize(stream))

    def begin_capture(self, stream) -> None:
        self._call(
            "cudaStreamBeginCapture",
            self.rt.cudaStreamBeginCapture(
                stream, self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
            ),
        )

    def end_capture(self, stream):
        graph = self._call("cudaStreamEndCapture", self.rt.cudaStreamEndCapture(stream))
        executable = self._call("cudaGraphInstantiate", self.rt.cudaGraphInstantiate(graph, 0))
        return graph, executable

    def launch_graph(self, graph, stream) -> None:
        self._call("cudaGraphLaunch", self.rt.cudaGraphLaunch(graph[1], stream))

    def destroy_graph(self, graph) -> None:
        self._call("cudaGraphExecDestroy", self.rt.cudaGraphExecDestroy(graph[1]))
        self._call("cudaGraphDestroy", self.rt.cudaGraphDestroy(graph[0]))


class PyCuda(CudaApi):
    """:class:`CudaApi` over pycuda's driver API, in the device's primary context (shared with TensorRT)."""

    name = "pycuda"

    def __init__(self, device: int = 0) -> None:
        try:
            import pycuda.driver as driver
        except (ImportError, OSError) as error:  # not installed, or no CUDA driver library
            raise CudaUnavailable(
                f"pycuda: cannot import ({type(error).__name__}: {error}); it needs the CUDA "
                "driver to build and import (pip install pycuda on the GPU host), or use "
                "--cuda cuda-python"
            ) from None
        self.driver = driver
        self.device = device
        try:
            driver.init()
            count = driver.Device.count()
            if device >= count:
                raise CudaUnavailable(
                    f"CUDA device {device}: got {count} device(s), expected index < {count}"
                )
            self._device = driver.Device(device)
            self._context = self._device.retain_primary_context()
            self._context.push()
        except driver.Error as error:
            raise CudaUnavailable(
                f"pycuda: {error}; is an NVIDIA driver installed and a GPU visible?"
            ) from None

    def close(self) -> None:
        try:
            self.driver.Context.pop()
        except self.driver.Error:
            pass

    def device_info(self) -> DeviceInfo:
        major, minor = self._device.compute_capability()
        return DeviceInfo(
            self.device,
            self._device.name(),
            (major, minor),
            self._device.total_memory(),
            _cuda_version(self.driver.get_driver_version()),
            _cuda_version(self.driver.get_version()[0] * 1000 + self.driver.get_version()[1] * 10),
        )

    def malloc(self, nbytes: int) -> int:
        allocation = self.driver.mem_alloc(max(nbytes, 1))
        self._allocations = getattr(self, "_allocations", {})
        self._allocations[int(allocation)] = allocation
        return int(allocation)

    def free(self, pointer: int) -> None:
        allocation = getattr(self, "_allocations", {}).pop(pointer, None)
        if allocation is not None:
            allocation.free()

    def pinned_empty(self, shape, dtype) -> np.ndarray:
        return self.driver.pagelocked_empty(shape, dtype)

    def release_pinned(self, array: np.ndarray) -> None:
        base = getattr(array, "base", None)
        if base is not None and hasattr(base, "free"):
            base.free()

    def stream(self):
        return self.driver.Stream()

    def stream_handle(self, stream) -> int:
        return int(stream.handle)

    def destroy_stream(self, stream) -> None:
        del stream  # pycuda frees the stream with the object

    def copy_to_device(self, pointer: int, array: np.ndarray, stream) -> None:
        self.driver.memcpy_htod_async(pointer, array, stream)

    def copy_to_host(self, array: np.ndarray, pointer: int, stream) -> None:
        self.driver.memcpy_dtoh_async(array, pointer, stream)

    def synchronize(self, stream) -> None:
        stream.synchronize()

    def begin_capture(self, stream) -> None:
        stream.begin_capture(self.driver.capture_mode.THREAD_LOCAL)

    def end_capture(self, stream):
        graph = stream.end_capture()
        return graph, graph.instance()

    def launch_graph(self, graph, stream) -> None:
        graph[1].launch(stream)

    def destroy_graph(self, graph) -> None:
        del graph


def open_cuda(api: str = DEFAULT_API, device: int = 0) -> CudaApi:
    """The :class:`CudaApi` named ``api`` (``cuda-python`` or ``pycuda``) on ``device``."""
    if api == "cuda-python":
        return CudaPython(device)
    if api == "pycuda":
        return PyCuda(device)
    raise CudaUnavailable(f"--cuda: got {api!r}, expected one of {list(API_NAMES)}")
