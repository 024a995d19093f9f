"""What ``comix profile`` measured, as data: one :class:`ConfigResult` per (tile, batch, threads), and the
:class:`ProfileReport` around them (model, backend, machine, peak). JSON via ``to_json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from comix.profile.memory import MemoryPeak
from comix.profile.peak import CorePeak
from comix.profile.stats import LatencyStats
from comix.runtime.backend import LayerTime

SCHEMA = "comix.profile/1"


@dataclass
class Throughput:
    """From the median latency of one call of ``batch`` tiles of ``tile`` pixels."""

    tiles_per_second: float
    megapixels_per_second: float
    seconds_per_km2: float | None = None  # whole scene at the GSD, tiles overlapping by ``overlap``
    gsd_m: float | None = None
    overlap: int | None = None


@dataclass
class ConfigResult:
    tile: tuple[int, int]
    batch: int
    threads: int
    latency: LatencyStats
    stop_reason: str
    throughput: Throughput
    memory: MemoryPeak | None = None
    macs_per_tile: int | None = None
    fraction_of_nominal_peak: float | None = None
    fraction_of_measured_gemm: float | None = None
    layers: list[LayerTime] | None = None
    parts_ms: dict[str, float] = field(default_factory=dict)
    breakdown_note: str = ""
    power_watts: float | None = None
    energy_joules_per_tile: float | None = None
    power_source: str = ""

    @property
    def label(self) -> str:
        return f"{self.tile[0]}x{self.tile[1]} b{self.batch} t{self.threads}"


@dataclass
class SceneRun:
    """A whole scene segmented with the sliding window: seconds measured, area from the GSD."""

    path: str
    height: int
    width: int
    tile: tuple[int, int]
    overlap: int
    batch: int
    tiles: int
    seconds: float
    gsd_m: float | None
    km2: float | None
    seconds_per_km2: float | None


@dataclass
class ProfileReport:
    model: str
    model_name: str
    graph_kind: str
    backend: str
    machine: dict
    peak: CorePeak
    configs: list[ConfigResult] = field(default_factory=list)
    scene: SceneRun | None = None
    created: str = ""
    tool: str = ""
    schema: str = SCHEMA

    def to_dict(self, samples: bool = True) -> dict:
        document = asdict(self)
        for config, result in zip(document["configs"], self.configs):
            config["label"] = result.label
            if not samples:
                config["latency"].pop("samples_ms", None)
                config["latency"].pop("cpu_samples_ms", None)
            if result.memory is not None:
                config["memory"]["host_growth_mib"] = result.memory.host_growth_mib
        return document

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"
