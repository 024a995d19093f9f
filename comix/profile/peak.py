"""FP32 peak of one core, and the fraction of it a model reaches (counted MACs / latency / peak).

Two peaks, because neither alone is the whole truth:

* **nominal**: FP32 FLOPs per cycle of the widest fused multiply-add the core has, times its clock: vector
  lanes x FMA pipes x 2 (a multiply and an add). The lanes come from the CPU's flags: AVX-512F 16, AVX2+FMA
  8, Arm NEON (asimd) 4; AVX without FMA 8 lanes x (1 add + 1 mul) = 16, SSE 4 x 2 = 8. The number of FMA
  pipes is **not** in the flags: 2 is assumed, the most a core has — Intel Xeon Scalable Gold/Platinum and
  Sapphire Rapids have two 512-bit FMA units, but some Xeon Silver/Bronze and client cores have one, AMD Zen 4
  runs 512-bit work on two 256-bit pipes (the AVX2 rate), and Neoverse V1/V2 have four 128-bit pipes; SVE's
  vector length is not in the flags either (counted as NEON's 128 bits). The clock is /proc/cpuinfo's (a
  virtual machine reports the host's base clock; turbo may run above it, heavy AVX-512 below). ``basis``
  says what was assumed.
* **measured**: a single-thread SGEMM (PyTorch, 1024^3) on this machine now, best of a few: what the
  best-tuned dense kernel reaches here, under the machine's current load. Its fraction of the nominal peak
  is reported beside it: far below 100 % suggests fewer pipes than assumed (or a busy machine), above 100 %
  a clock above the reported one.

On the Xeon of issue 19 (AVX-512, VNNI, AMX; 2.6 GHz reported) the count that knew only AVX2 gave 83.2
GFLOP/s nominal beside a measured 173.6 GFLOP/s SGEMM (209 %); counting its 16 lanes gives 166.4 (104 %).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

ASSUMED_FMA_PIPES = 2
PIPES_NOTE = (
    "FMA pipes assumed: the CPU flags do not say how many a core has (1 on some cores; AMD Zen 4 splits "
    "512-bit work over two 256-bit pipes)"
)


@dataclass
class CorePeak:
    """The nominal FP32 peak of one core (GFLOP/s; None when the ISA or clock is unknown), what it assumed,
    the vector lanes and FMA pipes it counted, and the measured single-thread SGEMM rate with its fraction
    of the nominal peak."""

    nominal_gflops: float | None
    basis: str
    measured_gemm_gflops: float | None = None
    lanes: int | None = None
    fma_pipes: int | None = None
    gemm_fraction_of_nominal: float | None = None

    def with_measured_gemm(self, gflops: float | None) -> CorePeak:
        """Record the measured SGEMM rate and its fraction of the nominal peak; returns self."""
        self.measured_gemm_gflops = gflops
        self.gemm_fraction_of_nominal = (
            gflops / self.nominal_gflops if gflops and self.nominal_gflops else None
        )
        return self

    def sentence(self) -> str:
        """``nominal 166.4 GFLOP/s (...); measured single-thread SGEMM 173.6 GFLOP/s (104 % of nominal)``."""
        nominal = "unknown" if self.nominal_gflops is None else f"{self.nominal_gflops:.1f} GFLOP/s"
        text = f"nominal {nominal} ({self.basis})"
        if self.measured_gemm_gflops is None:
            return text + "; SGEMM not measured"
        text += f"; measured single-thread SGEMM {self.measured_gemm_gflops:.1f} GFLOP/s"
        if self.gemm_fraction_of_nominal is not None:
            text += f" ({100 * self.gemm_fraction_of_nominal:.0f} % of nominal)"
        return text


@dataclass(frozen=True)
class VectorUnit:
    """What the flags say about a core's FP32 arithmetic: lanes per vector, whether it fuses multiply-add,
    and the name of the instruction set."""

    lanes: int
    fma: bool
    name: str


def vector_unit(isa: list[str] | set[str]) -> VectorUnit | None:
    """The widest FP32 vector unit the flags (``/proc/cpuinfo``'s x86 ``flags`` or Arm ``Features``)
    announce, or None for an unknown ISA."""
    isa = set(isa)
    if "avx512f" in isa:  # every AVX-512F core also has FMA3
        return VectorUnit(16, True, "AVX-512F")
    if {"avx2", "fma"} <= isa:
        return VectorUnit(8, True, "AVX2+FMA")
    if "avx" in isa:
        return VectorUnit(8, False, "AVX without FMA")
    if "asimd" in isa:
        return VectorUnit(
            4, True, "NEON" + (" (SVE length not in the flags)" if "sve" in isa else "")
        )
    if "sse4_2" in isa:
        return VectorUnit(4, False, "SSE")
    return None


def flops_per_cycle(isa: list[str] | set[str]) -> tuple[int, str]:
    """FP32 FLOP/cycle of one core from its ISA flags, and the assumption made."""
    unit = vector_unit(isa)
    if unit is None:
        return 0, "unknown ISA"
    if not unit.fma:
        return unit.lanes * 2, f"{unit.name}: {unit.lanes} lanes x (1 add + 1 mul)"
    per_cycle = unit.lanes * ASSUMED_FMA_PIPES * 2
    return (
        per_cycle,
        f"{unit.name}: {ASSUMED_FMA_PIPES} FMA pipes x {unit.lanes} FP32 lanes x 2; {PIPES_NOTE}",
    )


def nominal_peak(isa: list[str], mhz: float | None) -> CorePeak:
    per_cycle, basis = flops_per_cycle(isa)
    unit = vector_unit(isa)
    lanes = unit.lanes if unit else None
    pipes = ASSUMED_FMA_PIPES if unit and unit.fma else None
    if not per_cycle or not mhz:
        return CorePeak(None, f"{basis}; clock unknown" if per_cycle else basis, None, lanes, pipes)
    return CorePeak(per_cycle * mhz / 1e3, f"{basis}; at {mhz:.0f} MHz", None, lanes, pipes)


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
    return peak.with_measured_gemm(measured_gemm_gflops()) if measure else peak


def fraction_of_peak(
    macs: int, seconds: float, threads: int, peak_gflops: float | None
) -> float | None:
    """2 * MACs / seconds / (threads x per-core peak), or None when a number is missing."""
    if not peak_gflops or not macs or seconds <= 0 or threads < 1:
        return None
    return 2 * macs / seconds / (threads * peak_gflops * 1e9)
