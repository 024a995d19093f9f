"""FP32 peak of one CPU core, and the fraction of it a model reaches (counted MACs / latency / peak).

Two peaks, because neither alone is the whole truth:

* **nominal**: FP32 FLOPs per cycle of the widest fused multiply-add the core has, times its clock:
  AVX2+FMA (x86-64-v3) = 2 FMA pipes x 8 lanes x 2 = 32 FLOP/cycle; AVX-512 is counted like AVX2
  (many cores have one 512-bit FMA pipe, or split 512-bit work in two); AVX without FMA 16; SSE 8; Arm
  NEON (asimd) 2 pipes x 4 lanes x 2 = 16. The clock is /proc/cpuinfo's (a virtual machine reports
  the host's base clock; turbo may run above it). ``basis`` says what was assumed.
* **measured**: a single-thread SGEMM (PyTorch, 1024^3) on this machine now, best of a few: what the
  best-tuned dense kernel reaches here, under the machine's current load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class CorePeak:
    nominal_gflops: float | None
    basis: str
    measured_gemm_gflops: float | None = None


def flops_per_cycle(isa: list[str] | set[str]) -> tuple[int, str]:
    """FP32 FLOP/cycle of one core from its ISA flags, and the assumption made."""
    isa = set(isa)
    if {"avx2", "fma"} <= isa:
        return 32, "AVX2+FMA: 2 FMA pipes x 8 FP32 lanes x 2"
    if "avx" in isa:
        return 16, "AVX without FMA: 8 lanes x (1 add + 1 mul)"
    if "asimd" in isa:
        return 16, "NEON: 2 FMA pipes x 4 FP32 lanes x 2"
    if "sse4_2" in isa:
        return 8, "SSE: 4 lanes x (1 add + 1 mul)"
    return 0, "unknown ISA"


def nominal_peak(isa: list[str], mhz: float | None) -> CorePeak:
    per_cycle, basis = flops_per_cycle(isa)
    if not per_cycle or not mhz:
        return CorePeak(None, f"{basis}; clock unknown" if per_cycle else basis)
    return CorePeak(per_cycle * mhz / 1e3, f"{basis} at {mhz:.0f} MHz")


def measured_gemm_gflops(size: int = 1024, repeats: int = 5) -> float:
    """Best single-thread SGEMM rate (GFLOP/s, by the thread's CPU time) over ``repeats`` products."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            start = time.thread_time()
            a @ b
            best = min(best, time.thread_time() - start)
    finally:
        torch.set_num_threads(threads)
    return 2 * size**3 / max(best, 1e-9) / 1e9


def core_peak(cpu: dict, measure: bool = True) -> CorePeak:
    """Nominal peak from a :func:`comix.profile.machine.cpu_record`, plus the measured SGEMM rate."""
    peak = nominal_peak(cpu.get("isa", []), cpu.get("mhz"))
    if measure:
        peak.measured_gemm_gflops = measured_gemm_gflops()
    return peak


def fraction_of_peak(
    macs: int, seconds: float, threads: int, peak_gflops: float | None
) -> float | None:
    """2 * MACs / seconds / (threads x per-core peak), or None when a number is missing."""
    if not peak_gflops or not macs or seconds <= 0 or threads < 1:
        return None
    return 2 * macs / seconds / (threads * peak_gflops * 1e9)
