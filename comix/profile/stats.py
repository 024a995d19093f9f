"""Latency statistics and the rule that decides when a measurement has enough iterations.

Timing loop (``measure``): ``warmup`` untimed calls, then timed calls until the relative standard error
of the mean latency is at most ``target_rse`` (after at least ``min_iterations``), or ``max_iterations``
calls, or ``max_seconds`` of timed work — whichever comes first; the result says which. Each call's
wall time and the process's CPU time are recorded: on a shared machine the CPU time of a one-thread
run is the steadier number (it leaves out time the scheduler gave to other processes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from comix.errors import BadInputError


@dataclass
class LatencyStats:
    """Summary of per-iteration latencies, in milliseconds.

    ``rse`` is the relative standard error of the mean (sample std / sqrt(n) / mean); percentiles are
    numpy's linear interpolation between order statistics (with fewer than 100 samples p99 lies between
    the two largest); p25/p75 give the spread (interquartile range). ``cpu_*`` are the same for the CPU
    time per iteration.
    """

    iterations: int
    mean_ms: float
    std_ms: float
    rse: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_mean_ms: float
    cpu_p50_ms: float
    p25_ms: float = math.nan
    p75_ms: float = math.nan
    cpu_p25_ms: float = math.nan
    cpu_p75_ms: float = math.nan
    samples_ms: list[float] = field(default_factory=list, repr=False)
    cpu_samples_ms: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def from_samples(
        cls, wall_seconds: Sequence[float], cpu_seconds: Sequence[float] | None = None
    ) -> LatencyStats:
        wall = np.asarray(wall_seconds, dtype=np.float64) * 1e3
        if wall.size == 0:
            raise BadInputError("latency samples: got none, expected at least one")
        cpu = np.asarray(cpu_seconds if cpu_seconds is not None else [], dtype=np.float64) * 1e3
        std = float(wall.std(ddof=1)) if wall.size > 1 else 0.0
        mean = float(wall.mean())
        rse = std / math.sqrt(wall.size) / mean if wall.size > 1 and mean > 0 else math.inf
        p25, p50, p75, p90, p99 = (float(v) for v in np.percentile(wall, (25, 50, 75, 90, 99)))
        cpu_p25, cpu_p50, cpu_p75 = (
            (float(v) for v in np.percentile(cpu, (25, 50, 75))) if cpu.size else (math.nan,) * 3
        )
        return cls(
            int(wall.size),
            mean,
            std,
            rse,
            float(wall.min()),
            p50,
            p90,
            p99,
            float(wall.max()),
            float(cpu.mean()) if cpu.size else math.nan,
            cpu_p50,
            p25,
            p75,
            cpu_p25,
            cpu_p75,
            wall.tolist(),
            cpu.tolist(),
        )

    def as_dict(self, samples: bool = True) -> dict:
        values = asdict(self)
        if not samples:
            values.pop("samples_ms")
            values.pop("cpu_samples_ms")
        return values


@dataclass
class StoppingRule:
    """When to stop timing (see the module doc); ``warmup`` calls are never timed."""

    warmup: int = 3
    min_iterations: int = 10
    max_iterations: int = 200
    target_rse: float = 0.02
    max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise BadInputError(f"--warmup: got {self.warmup}, expected >= 0")
        if not 1 <= self.min_iterations <= self.max_iterations:
            raise BadInputError(
                f"iterations: got min {self.min_iterations} and max {self.max_iterations}, "
                "expected 1 <= min <= max"
            )
        if not self.target_rse > 0:
            raise BadInputError(
                f"--target-rse: got {self.target_rse}, expected > 0 (e.g. 0.02 for 2 %)"
            )
        if not self.max_seconds > 0:
            raise BadInputError(f"--max-seconds: got {self.max_seconds}, expected > 0")

    def stop_reason(self, wall_seconds: Sequence[float], elapsed: float) -> str | None:
        """Why to stop now, or None to go on."""
        n = len(wall_seconds)
        if n >= self.max_iterations:
            return f"iteration cap ({self.max_iterations})"
        if n >= self.min_iterations:
            mean = sum(wall_seconds) / n
            var = sum((t - mean) ** 2 for t in wall_seconds) / (n - 1) if n > 1 else math.inf
            rse = math.sqrt(var / n) / mean if mean > 0 else math.inf
            if rse <= self.target_rse:
                return f"relative standard error {rse:.2%} <= {self.target_rse:.2%}"
        if n >= 1 and elapsed >= self.max_seconds:
            return f"time cap ({self.max_seconds:g} s)"
        return None


@dataclass
class Measurement:
    stats: LatencyStats
    stop_reason: str


def measure(
    run: Callable[[], object],
    rule: StoppingRule,
    *,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
    on_iteration: Callable[[int], None] | None = None,
) -> Measurement:
    """Time ``run()`` under ``rule``; ``on_iteration(n)`` is called after each timed call (progress)."""
    for _ in range(rule.warmup):
        run()
    wall: list[float] = []
    cpu: list[float] = []
    started = clock()
    while True:
        t0, c0 = clock(), cpu_clock()
        run()
        t1, c1 = clock(), cpu_clock()
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
        if on_iteration is not None:
            on_iteration(len(wall))
        reason = rule.stop_reason(wall, t1 - started)
        if reason is not None:
            return Measurement(LatencyStats.from_samples(wall, cpu), reason)


def measure_interleaved(
    runners: dict[str, Callable[[], object]],
    rounds: int,
    warmup: int = 2,
    cpu_clock: Callable[[], float] = time.thread_time,
    on_round: Callable[[int], None] | None = None,
) -> dict[str, LatencyStats]:
    """Side by side: ``warmup`` calls of each runner, then ``rounds`` rounds of one timed call of every runner
    in turn, so load from other processes falls on all of them alike. CPU time is the calling thread's
    (``time.thread_time``): right for one-thread runs, where it leaves out time the scheduler gave away."""
    if rounds < 1:
        raise BadInputError(f"rounds: got {rounds}, expected >= 1")
    for run in runners.values():
        for _ in range(warmup):
            run()
    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for index in range(rounds):
        for name, run in runners.items():
            t0, c0 = time.perf_counter(), cpu_clock()
            run()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(cpu_clock() - c0)
        if on_round is not None:
            on_round(index + 1)
    return {name: LatencyStats.from_samples(wall[name], cpu[name]) for name in runners}
