"""Per-layer times of an engine through TensorRT's ``IProfiler``, summarised for ``comix profile``.

TensorRT calls ``report_layer_time(layer_name, ms)`` once per layer for every execution while a profiler
is attached to the execution context (CUDA graphs are bypassed then). :func:`make_layer_timer` builds
the IProfiler subclass for the imported TensorRT module; :func:`summarize` turns the collected samples
into one row per layer in execution order (median, mean, share of the total median).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class LayerTime:
    """One layer: median and mean milliseconds per run over ``runs`` runs, share of the summed medians."""

    name: str
    median_ms: float
    mean_ms: float
    runs: int
    share: float


def make_layer_timer(trt):
    """An ``IProfiler`` instance collecting ``{layer name: [ms per run]}`` in first-seen order
    (``.samples``)."""

    class LayerTimer(trt.IProfiler):
        def __init__(self) -> None:
            trt.IProfiler.__init__(self)
            self.samples: dict[str, list[float]] = {}

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            self.samples.setdefault(layer_name, []).append(float(ms))

    return LayerTimer()


def summarize(samples: dict[str, list[float]]) -> list[LayerTime]:
    """Rows in execution order; ``share`` of each median in the sum of medians (0 when all are 0)."""
    medians = {name: statistics.median(values) for name, values in samples.items() if values}
    total = sum(medians.values())
    return [
        LayerTime(
            name,
            medians[name],
            statistics.fmean(samples[name]),
            len(samples[name]),
            medians[name] / total if total > 0 else 0.0,
        )
        for name in samples
        if name in medians
    ]
