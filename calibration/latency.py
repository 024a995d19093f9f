"""Latency of one tile through ONNX Runtime, measured side by side for several graphs (interleaved rounds).

Used by ``comix calibrate`` (what a fallback costs in speed) and ``tools/bench_precision.py``. On a shared
machine graphs are timed in interleaved rounds (A B C A B C ...), so a burst of load hits all of them;
the median per graph and the ratios of medians are what to quote.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping

import numpy as np
import onnx

from comix.calibration.graph import graph_inputs


def tile_latency(
    models: Mapping[str, onnx.ModelProto | bytes],
    bands: int,
    x_channels: int,
    tile: int | tuple[int, int] = 128,
    rounds: int = 10,
    warmup: int = 2,
    threads: int = 1,
    seed: int = 0,
) -> dict[str, dict]:
    """name -> {"median_ms", "min_ms", "runs", "times_ms" (one per round)} for one
    (1, bands, H, W) + (1, C, H, W) tile (``tile`` = H = W or (H, W)); ``bands`` / ``x_channels``
    are the first and second input's channels (a fusion model's primary and guide image)."""
    from comix.runtime.session import SessionFactory

    rng = np.random.default_rng(seed)
    height, width = (tile, tile) if isinstance(tile, int) else tile
    hsi = rng.uniform(0.0, 1.0, (1, bands, height, width)).astype(np.float32)
    x = rng.uniform(0.0, 1.0, (1, x_channels, height, width)).astype(np.float32)
    sessions, feeds = {}, {}
    for name, model in models.items():
        proto = model if isinstance(model, onnx.ModelProto) else onnx.load_from_string(model)
        names = graph_inputs(proto)
        sessions[name] = SessionFactory(
            proto, providers=["CPUExecutionProvider"], threads=threads
        )()
        feeds[name] = {names.hsi: hsi, names.x: x}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for round_index in range(warmup + rounds):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, feeds[name])
            if round_index >= warmup:
                times[name].append(1000.0 * (time.perf_counter() - start))
    return {
        name: {
            "median_ms": statistics.median(values),
            "min_ms": min(values),
            "runs": len(values),
            "times_ms": values,
        }
        for name, values in times.items()
    }


def paired_ratio(timed: Mapping[str, dict], name: str, reference: str) -> float:
    """Median over rounds of ``name``'s time / ``reference``'s time in the same round (:func:`tile_latency`'s
    result): the two ran back to back, so a burst of load that spans a round cancels out of its ratio."""
    return statistics.median(
        a / b for a, b in zip(timed[name]["times_ms"], timed[reference]["times_ms"])
    )
