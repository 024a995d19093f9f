"""Peak memory while a measurement runs: host (this process's resident set) and, where there is one,
the GPU.

Host: Linux keeps a process's high-water mark ``VmHWM``; writing ``5`` to ``/proc/self/clear_refs`` resets
it to the current resident set, so the peak of one measurement can be read on its own. Where that is not
possible the peak since the process started (``ru_maxrss``) is reported, marked as such.

GPU: with the PyTorch backend, the caching allocator's peak (``torch.cuda.max_memory_allocated``); with any
other backend on a GPU (ONNX Runtime's CUDA provider, TensorRT), the device's used memory sampled by
``nvidia-smi`` every 100 ms, minus what was used when the measurement started.
"""

from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

from comix.errors import BadInputError, FailedError
from comix.profile.line_sampler import LineSampler

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(key: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_bytes() -> int:
    """Bytes: the high-water mark of this process's own resident set (``VmHWM`` in /proc/self/status).

    Not ``ru_maxrss``: Linux carries the spawning parent's peak RSS into a child's ``ru_maxrss`` at exec
    (measured here: a child of a parent holding 500 MiB reports 527 MiB, VmHWM 13 MiB)."""
    kib = _status_kib("VmHWM")
    if kib is None:
        raise FailedError("/proc/self/status: got no VmHWM line, expected Linux procfs")
    return kib * 1024


@dataclass
class MemoryPeak:
    """Host peak resident set (MiB), the resident set at the start (MiB), how it was measured, and the
    GPU memory peak (MiB) when a GPU was used, with how it was measured."""

    host_peak_mib: float
    host_start_mib: float
    host_method: str
    device_peak_mib: float | None = None
    device_method: str = ""

    @property
    def host_growth_mib(self) -> float:
        return self.host_peak_mib - self.host_start_mib


def visible_gpu() -> str:
    """The GPU a CUDA process uses first: the first entry of CUDA_VISIBLE_DEVICES (index or UUID), else 0."""
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return first or "0"


class NvidiaSmiSampler(LineSampler):
    """Peak growth of the GPU's used memory (MiB) over the sampler's lifetime, from ``nvidia-smi -lms``."""

    def __init__(self, executable: str = "nvidia-smi", interval_ms: int = 100) -> None:
        super().__init__()
        self.executable = executable
        self.interval_ms = interval_ms
        self.samples: list[float] = []

    def __enter__(self) -> NvidiaSmiSampler:
        path = shutil.which(self.executable)
        if path is not None:
            self.start(
                [
                    path,
                    f"--id={visible_gpu()}",
                    "--query-gpu=memory.used",
                    "--format=csv,noheader,nounits",
                    f"-lms={self.interval_ms}",
                ]
            )
        return self

    def on_line(self, line: str) -> None:
        try:
            self.samples.append(float(line.split(",")[0]))
        except ValueError:
            pass

    @property
    def peak_growth_mib(self) -> float | None:
        return max(self.samples) - self.samples[0] if len(self.samples) >= 2 else None


class PeakMemoryMonitor:
    """``with PeakMemoryMonitor(device=...) as monitor: ...`` then ``monitor.result``; ``device`` is "cpu",
    "torch-cuda" (PyTorch's allocator) or "gpu" (any other GPU backend: nvidia-smi)."""

    def __init__(self, device: str = "cpu") -> None:
        if device not in ("cpu", "torch-cuda", "gpu"):
            raise BadInputError(f"device: got {device!r}, expected 'cpu', 'torch-cuda' or 'gpu'")
        self.device = device
        self.result: MemoryPeak | None = None
        self._reset = False
        self._start_kib = 0
        self._smi: NvidiaSmiSampler | None = None

    def __enter__(self) -> PeakMemoryMonitor:
        try:
            CLEAR_REFS.write_text("5")
            self._reset = True
        except OSError:
            self._reset = False
        self._start_kib = _status_kib("VmRSS") or 0
        if self.device == "torch-cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        elif self.device == "gpu":
            self._smi = NvidiaSmiSampler().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        hwm = _status_kib("VmHWM") if self._reset else None
        if hwm is not None:
            peak_kib, method = hwm, "VmHWM after reset (this measurement)"
        else:
            peak_kib, method = (
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "ru_maxrss (since process start)",
            )
        device, device_method = None, ""
        if self.device == "torch-cuda":
            import torch

            device, device_method = (
                torch.cuda.max_memory_allocated() / 2**20,
                "torch.cuda.max_memory_allocated",
            )
        elif self._smi is not None:
            self._smi.__exit__(*exc)
            device = self._smi.peak_growth_mib
            device_method = (
                "nvidia-smi used memory, peak - start"
                if device is not None
                else "nvidia-smi: no samples"
            )
        self.result = MemoryPeak(
            peak_kib / 1024, self._start_kib / 1024, method, device, device_method
        )
