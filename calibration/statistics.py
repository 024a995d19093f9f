"""Activation statistics of an FP32 graph over calibration tiles, through our own ONNX Runtime session.

ONNX Runtime's calibrators open a plain ``InferenceSession``, which cannot run the canonical graph's
``ai.comix::DeformConv3D`` nodes; here the graph, with every float activation made a graph output, runs
in :class:`comix.runtime.SessionFactory` (which loads our custom-op library when the graph needs it), one
tile at a time. The portable graph runs the same way.

Per tensor the pass keeps the min, the max and ``|max|`` (all float tensors: the FP16 range check), and
for the tensors a quantiser will see, a histogram of ``|x|`` (:data:`HISTOGRAM_BINS` bins of fixed width;
when a later tile exceeds the range, bins are added, and merged pairwise past 4x the count). The method
then turns a histogram into a clipping threshold (:mod:`comix.calibration.thresholds`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import onnx

from comix.calibration import thresholds
from comix.calibration.errors import CalibrationError
from comix.calibration.graph import float_tensors, graph_inputs
from comix.calibration.recipe import ENTROPY_QUANTIZED_BINS, HISTOGRAM_BINS, METHODS
from comix.calibration.tiles import CalibrationTiles
from comix.errors import BadInputError

Progress = Callable[[int, int], None]


@dataclass
class TensorHistogram:
    """Histogram of ``|x|``: ``counts[i]`` values in ``[i * width, (i + 1) * width)``."""

    width: float
    counts: np.ndarray

    def add(self, values: np.ndarray, amax: float) -> None:
        if self.width <= 0.0:
            self.width = amax / HISTOGRAM_BINS if amax > 0 else 0.0
            if self.width == 0.0:
                self.counts[0] += values.size
                return
        needed = int(amax / self.width) + 1
        while needed > 4 * HISTOGRAM_BINS:  # keep memory bounded: merge pairs of bins
            counts = self.counts if self.counts.size % 2 == 0 else np.append(self.counts, 0)
            self.counts = counts.reshape(-1, 2).sum(axis=1)
            self.width *= 2.0
            needed = int(amax / self.width) + 1
        if needed > self.counts.size:
            self.counts = np.append(
                self.counts, np.zeros(needed - self.counts.size, dtype=np.int64)
            )
        index = np.minimum((values / self.width).astype(np.int64), self.counts.size - 1)
        self.counts += np.bincount(index, minlength=self.counts.size)


@dataclass
class ActivationStatistics:
    """What a calibration pass measured; ``ranges`` are the (low, high) a quantiser uses, per tensor."""

    method: str
    symmetric: bool
    percentile: float
    tiles: int
    minimum: dict[str, float] = field(default_factory=dict)
    maximum: dict[str, float] = field(default_factory=dict)
    threshold: dict[str, float] = field(default_factory=dict)

    def absmax(self, name: str) -> float:
        return max(abs(self.minimum[name]), abs(self.maximum[name]))

    def range(self, name: str) -> tuple[float, float]:
        """(low, high): ``(-t, t)`` when symmetric, else the observed range clipped to ``[-t, t]``."""
        t = self.threshold[name]
        if self.symmetric:
            return -t, t
        return max(self.minimum[name], -t), min(self.maximum[name], t)

    def ranges(self) -> dict[str, tuple[float, float]]:
        return {name: self.range(name) for name in self.threshold}

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "symmetric": self.symmetric,
            "percentile": self.percentile,
            "tiles": self.tiles,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, document: dict) -> ActivationStatistics:
        values = {
            key: document[key]
            for key in (
                "method",
                "symmetric",
                "percentile",
                "tiles",
                "minimum",
                "maximum",
                "threshold",
            )
        }
        statistics = cls(**values)
        for name in statistics.threshold:
            if name not in statistics.minimum or name not in statistics.maximum:
                raise BadInputError(f"tensor {name!r} has a threshold but no min/max")
        numbers = [
            *statistics.minimum.values(),
            *statistics.maximum.values(),
            *statistics.threshold.values(),
        ]
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in numbers):
            raise BadInputError("non-finite or non-numeric statistics")
        return statistics

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def augmented_model(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of ``model`` (shape-inferred) whose outputs are every float activation; and those names."""
    import comix.export.schema  # noqa: F401 - registers DeformConv3D's schema for shape inference

    inferred = onnx.shape_inference.infer_shapes(model)
    names = float_tensors(inferred)
    augmented = onnx.ModelProto()
    augmented.CopyFrom(inferred)
    existing = {o.name for o in augmented.graph.output}
    types = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.input)}
    for name in names:
        if name not in existing and name in types:
            augmented.graph.output.append(types[name])
    return augmented, names


def collect_statistics(
    model: onnx.ModelProto,
    tiles: CalibrationTiles,
    method: str,
    symmetric: bool,
    percentile: float,
    histogram_tensors: Iterable[str],
    threads: int = 1,
    progress: Progress | None = None,
) -> ActivationStatistics:
    """Run ``model`` (FP32) over every tile and reduce each activation to a clipping threshold.

    ``histogram_tensors``: the activations a quantiser will see (others get min/max only).
    """
    from comix.runtime.session import SessionFactory

    if method not in METHODS:
        raise CalibrationError(f"--method: got {method!r}, expected one of {list(METHODS)}")
    if not 0.0 < percentile <= 100.0:
        raise CalibrationError(f"--percentile: got {percentile}, expected a value in (0, 100]")
    augmented, names = augmented_model(model)
    inputs = graph_inputs(model)
    session = SessionFactory(augmented, providers=["CPUExecutionProvider"], threads=threads)()
    wanted = set(histogram_tensors)
    histograms = {
        name: TensorHistogram(0.0, np.zeros(HISTOGRAM_BINS, dtype=np.int64))
        for name in names
        if name in wanted
    }
    statistics = ActivationStatistics(method, symmetric, percentile, len(tiles))
    for index in range(len(tiles)):
        feeds = {inputs.hsi: tiles.hsi[index : index + 1], inputs.x: tiles.x[index : index + 1]}
        for name, value in zip(names, session.run(names, feeds)):
            if value.size == 0:
                continue
            low, high = float(value.min()), float(value.max())
            if not (np.isfinite(low) and np.isfinite(high)):
                raise CalibrationError(
                    f"calibration tile {index}: tensor {name} holds non-finite values, expected "
                    "finite activations (check the model and the tile's raw input values)"
                )
            statistics.minimum[name] = min(low, statistics.minimum.get(name, low))
            statistics.maximum[name] = max(high, statistics.maximum.get(name, high))
            if name in histograms and method != "max":
                histograms[name].add(np.abs(value).ravel(), max(abs(low), abs(high)))
        if progress is not None:
            progress(index + 1, len(tiles))
    for name in histograms:
        amax = statistics.absmax(name)
        if method == "max":
            statistics.threshold[name] = thresholds.max_threshold(amax)
        elif method == "percentile":
            h = histograms[name]
            statistics.threshold[name] = min(
                amax, thresholds.percentile_threshold(h.counts, h.width, percentile)
            )
        else:
            h = histograms[name]
            statistics.threshold[name] = min(
                amax, thresholds.entropy_threshold(h.counts, h.width, ENTROPY_QUANTIZED_BINS)
            )
    return statistics
