"""Peak memory while a measurement runs: host (this process's resident set) and, where there is one,
the GPU (PyTorch's allocator).

Host: Linux keeps a process's high-water mark ``VmHWM``; writing ``5`` to ``/proc/self/clear_refs`` resets
it to the current resident set, so the peak of one measurement can be read on its own. Where that is not
possible the peak since the process started (``ru_maxrss``) is reported, marked as such.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class MemoryPeak:
    """Host peak resident set (MiB), the resident set at the start (MiB), how it was measured, and the
    GPU allocator's peak (MiB) when a CUDA device was used."""

    host_peak_mib: float
    host_start_mib: float
    host_method: str
    device_peak_mib: float | None = None

    @property
    def host_growth_mib(self) -> float:
        return self.host_peak_mib - self.host_start_mib


class PeakMemoryMonitor:
    """``with PeakMemoryMonitor(cuda=...) as monitor: ...`` then ``monitor.result``."""

    def __init__(self, cuda: bool = False) -> None:
        self.cuda = cuda
        self.result: MemoryPeak | None = None
        self._reset = False
        self._start_kib = 0

    def __enter__(self) -> PeakMemoryMonitor:
        try:
            CLEAR_REFS.write_text("5")
            self._reset = True
        except OSError:
            self._reset = False
        self._start_kib = _status_kib("VmRSS") or 0
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc) -> None:
        hwm = _status_kib("VmHWM") if self._reset else None
        if hwm is not None:
            peak_kib, method = hwm, "VmHWM after reset (this measurement)"
        else:
            peak_kib, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss (since process start)"
        device = None
        if self.cuda:
            import torch

            device = torch.cuda.max_memory_allocated() / 2**20
        self.result = MemoryPeak(peak_kib / 1024, self._start_kib / 1024, method, device)
