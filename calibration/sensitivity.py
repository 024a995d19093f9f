"""Per-node quantisation error, measured in isolation, and the fallback search for ``--max-drop``.

Isolated error: a *shadow* graph holds, beside every quantisable node of the FP32 graph, a copy whose
activation inputs pass through QuantizeLinear/DequantizeLinear with the calibrated parameters of the
target and whose weight is fake-quantised per output channel (symmetric, 127 or 63 levels with
``reduce_range``). The shadow reads the FP32 graph's own inputs, so its error is this node's alone, not
what upstream nodes passed on. One run over a few calibration tiles gives every node's SQNR
``10 log10(sum y^2 / sum (y_q - y)^2)`` (dB; lower = more sensitive).

Fallback (:func:`fallback_search`): with the nodes ranked most sensitive first, the ``k`` first go back to
float for k = 0, 1, 2, 4, 8, ... until the held-out loss is within the budget (or every node is float): mIoU
points for segmentation, the budget metric's own unit for fusion (e.g. PSNR dB).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from comix.calibration.graph import graph_inputs
from comix.calibration.int8 import quantizable_nodes
from comix.calibration.lint import weight_axis
from comix.calibration.recipe import Int8Target
from comix.calibration.statistics import ActivationStatistics
from comix.calibration.tiles import CalibrationTiles


@dataclass
class NodeSensitivity:
    node: str
    op_type: str
    sqnr_db: float
    relative_rms_error: float


def _activation_qparams(low: float, high: float, target: Int8Target) -> tuple[float, int, int]:
    """(scale, zero point, onnx element type) as the target's quantiser computes them."""
    if target.activation_symmetric:
        peak = max(abs(low), abs(high), 1e-12)
        return peak / 127.0, 0, onnx.TensorProto.INT8
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max(high - low, 1e-12) / 255.0
    return scale, int(np.clip(round(-low / scale), 0, 255)), onnx.TensorProto.UINT8


def fake_quantize_weight(weight: np.ndarray, axis: int, levels: int) -> np.ndarray:
    """Symmetric per-channel quantise-dequantise of a weight along ``axis`` with ``levels`` per side."""
    axis = axis % weight.ndim
    reduce = tuple(i for i in range(weight.ndim) if i != axis)
    peak = np.max(np.abs(weight), axis=reduce, keepdims=True)
    scale = np.where(peak > 0, peak / levels, 1.0)
    return (np.clip(np.round(weight / scale), -levels, levels) * scale).astype(weight.dtype)


def shadow_model(
    model: onnx.ModelProto,
    statistics: ActivationStatistics,
    target: Int8Target,
    nodes: list[onnx.NodeProto],
) -> tuple[onnx.ModelProto, list[tuple[str, str, str]]]:
    """FP32 graph plus one fake-quantised copy per node; returns it and
    (node, float output, shadow output)."""
    shadow = onnx.ModelProto()
    shadow.CopyFrom(model)
    weights = {t.name: t for t in model.graph.initializer}
    levels = 63 if target.reduce_range else 127
    pairs = []
    for node in nodes:
        inputs = []
        for position, name in enumerate(node.input):
            if not name:
                inputs.append(name)
            elif name in weights:
                if position == 1 and weights[name].data_type == onnx.TensorProto.FLOAT:
                    array = numpy_helper.to_array(weights[name])
                    fake = fake_quantize_weight(array, weight_axis(node), levels)
                    shadow.graph.initializer.append(
                        numpy_helper.from_array(fake, f"{name}__shadow_{node.name}")
                    )
                    inputs.append(f"{name}__shadow_{node.name}")
                else:
                    inputs.append(name)  # bias stays float
            elif name in statistics.threshold:
                scale, zero, element = _activation_qparams(*statistics.range(name), target)
                stem = f"{name}__shadow_{node.name}"
                shadow.graph.initializer.extend(
                    [
                        helper.make_tensor(f"{stem}_scale", onnx.TensorProto.FLOAT, [], [scale]),
                        helper.make_tensor(f"{stem}_zero", element, [], [zero]),
                    ]
                )
                shadow.graph.node.extend(
                    [
                        helper.make_node(
                            "QuantizeLinear", [name, f"{stem}_scale", f"{stem}_zero"], [f"{stem}_q"]
                        ),
                        helper.make_node(
                            "DequantizeLinear",
                            [f"{stem}_q", f"{stem}_scale", f"{stem}_zero"],
                            [f"{stem}_dq"],
                        ),
                    ]
                )
                inputs.append(f"{stem}_dq")
            else:
                inputs.append(name)
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = f"{node.name}__shadow"
        del copy.input[:]
        copy.input.extend(inputs)
        del copy.output[:]
        copy.output.extend(
            [f"{node.output[0]}__shadow"] + [f"{o}__shadow_extra" for o in node.output[1:]]
        )
        shadow.graph.node.append(copy)
        pairs.append((node.name, node.output[0], f"{node.output[0]}__shadow"))
    existing = {o.name for o in shadow.graph.output}
    for _, reference, quantised in pairs:
        for name in (reference, quantised):
            if name not in existing:
                shadow.graph.output.append(
                    helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                )
                existing.add(name)
    return shadow, pairs


def node_sensitivity(
    model: onnx.ModelProto,
    statistics: ActivationStatistics,
    target: Int8Target,
    tiles: CalibrationTiles,
    exclude: set[str] | None = None,
    max_tiles: int = 8,
    threads: int = 1,
) -> list[NodeSensitivity]:
    """Isolated quantisation error of every quantisable node, most sensitive (lowest SQNR) first."""
    from comix.runtime.session import SessionFactory

    nodes = [n for n in quantizable_nodes(model, target) if n.name not in (exclude or set())]
    if not nodes:
        return []
    shadow, pairs = shadow_model(model, statistics, target, nodes)
    session = SessionFactory(shadow, providers=["CPUExecutionProvider"], threads=threads)()
    inputs = graph_inputs(model)
    names = [name for _, reference, quantised in pairs for name in (reference, quantised)]
    signal = np.zeros(len(pairs))
    noise = np.zeros(len(pairs))
    for index in range(min(max_tiles, len(tiles))):
        feeds = {inputs.hsi: tiles.hsi[index : index + 1], inputs.x: tiles.x[index : index + 1]}
        values = dict(zip(names, session.run(names, feeds)))
        for i, (_, reference, quantised) in enumerate(pairs):
            y = values[reference].astype(np.float64)
            signal[i] += float(np.sum(y * y))
            noise[i] += float(np.sum((values[quantised] - y) ** 2))
    op_types = {n.name: n.op_type for n in nodes}
    ranked = []
    for i, (name, _, _) in enumerate(pairs):
        sqnr = (
            10.0 * math.log10(signal[i] / noise[i])
            if noise[i] > 0 and signal[i] > 0
            else float("inf")
        )
        ranked.append(
            NodeSensitivity(
                name,
                op_types[name],
                sqnr,
                math.sqrt(noise[i] / signal[i]) if signal[i] > 0 else 0.0,
            )
        )
    return sorted(ranked, key=lambda s: s.sqnr_db)


@dataclass
class FallbackStep:
    """One graph of the search: ``excluded`` nodes back in float, its budget metric ``value`` and ``loss``."""

    excluded: int
    value: float
    loss: float


@dataclass
class FallbackResult:
    """The search: the budget metric, its unit, the budget, the FP32 value, the steps and the nodes
    moved back."""

    metric: str
    unit: str
    budget: float
    reference: float
    steps: list[FallbackStep]
    excluded: list[str]
    met: bool

    def as_dict(self) -> dict:
        return asdict(self)


def fallback_search(
    ranked: list[str],
    budget: float,
    loss: Callable[[list[str]], tuple[float, float]],
    metric: str = "mean_iou",
    unit: str = "points",
    reference: float = float("nan"),
) -> FallbackResult:
    """Exclude the ``k`` most sensitive nodes (k = 0, 1, 2, 4, ...) until the loss is within ``budget``.

    ``loss(excluded)`` returns (metric value, loss against FP32 in ``unit``, > 0 = worse) of the
    graph quantised without ``excluded``: for segmentation the held-out mIoU and its drop in points,
    for fusion the budget metric (e.g. PSNR) and its sign-aware loss (dB).
    """
    steps: list[FallbackStep] = []
    counts = [0]
    while counts[-1] < len(ranked):
        counts.append(min(len(ranked), max(1, 2 * counts[-1])))
    for k in counts:
        value, lost = loss(ranked[:k])
        steps.append(FallbackStep(k, value, lost))
        if lost <= budget:
            return FallbackResult(metric, unit, budget, reference, steps, ranked[:k], True)
    return FallbackResult(metric, unit, budget, reference, steps, list(ranked), False)


def sensitivity_table(ranked: list[NodeSensitivity], top: int = 15) -> list[dict]:
    return [asdict(s) for s in ranked[:top]]
