"""Board power on NVIDIA Jetson from ``tegrastats``, sampled while a measurement runs.

``tegrastats --interval <ms>`` prints one line per sample with the power rails as
``<RAIL> <now>mW/<average>mW`` (JetPack 5/6, e.g. ``VDD_IN 5104mW/5104mW VDD_CPU_GPU_CV 638mW/638mW``) or,
on older boards, ``<RAIL> <now>/<average>`` in mW (``POM_5V_IN 2890/2890``). The board's input power is
the ``VDD_IN`` rail (Orin Nano/NX), ``POM_5V_IN`` (Nano, TX2, Xavier) or, where neither exists (AGX Orin),
the sum of the rails listed. Energy per tile = mean input power x latency per tile.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field

from comix.profile.line_sampler import LineSampler

TEGRASTATS = "tegrastats"
INPUT_RAILS = ("VDD_IN", "POM_5V_IN")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?\b")


def parse_rails(line: str) -> dict[str, int]:
    """{rail: instantaneous mW} of one tegrastats line (RAM/SWAP ``used/total MB`` fields are not rails)."""
    rails = {}
    for name, now, _average in _RAIL.findall(line):
        if name in ("RAM", "SWAP", "IRAM", "LFB"):
            continue
        rails[name] = int(now)
    return rails


def input_power_mw(rails: dict[str, int]) -> tuple[float, str] | None:
    """(board input power in mW, which rail(s)) of one sample, or None without rails."""
    for rail in INPUT_RAILS:
        if rail in rails:
            return float(rails[rail]), rail
    if rails:
        return float(sum(rails.values())), "sum of " + "+".join(sorted(rails))
    return None


@dataclass
class PowerSamples:
    """Input power samples (mW) and the rail they came from."""

    milliwatts: list[float] = field(default_factory=list)
    source: str = ""

    @property
    def mean_watts(self) -> float | None:
        return sum(self.milliwatts) / len(self.milliwatts) / 1e3 if self.milliwatts else None


class TegrastatsSampler(LineSampler):
    """``with TegrastatsSampler(interval_ms) as sampler: ...`` then ``sampler.samples``.

    Raises ``FileNotFoundError`` (one sentence) on entry when ``tegrastats`` is not on PATH.
    """

    def __init__(self, interval_ms: int = 100, executable: str = TEGRASTATS) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.executable = executable
        self.samples = PowerSamples()

    def __enter__(self) -> TegrastatsSampler:
        path = shutil.which(self.executable)
        if path is None:
            raise FileNotFoundError(
                f"--power: got no {self.executable} on PATH, expected a Jetson with tegrastats "
                "(power is measured only on Jetson boards)"
            )
        self.start([path, "--interval", str(self.interval_ms)])
        return self

    def on_line(self, line: str) -> None:
        power = input_power_mw(parse_rails(line))
        if power is not None:
            self.samples.milliwatts.append(power[0])
            self.samples.source = power[1]
