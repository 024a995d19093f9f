"""The speed pass of ``--target cpu``: node groups whose INT8 form runs slower than float here stay float.

ONNX Runtime's INT8 kernels are not uniformly faster than its FP32 ones. On an x86 core without VNNI
(AVX2 only) its U8S8 kernels pair bytes with ``vpmaddubsw`` — at best about twice the multiply-adds of an
FP32 FMA per instruction — while its FP32 convolutions run NCHWc-blocked; a 3-D convolution with few
channels becomes ``Transpose -> QLinearConv (NHWC) -> Transpose`` and runs slower than float (measured on
comix_t, docs/calibration.md: its stem's 1-channel 3-D convolution 10.6 ms INT8 vs 1.5 ms FP32). Which op
wins depends on the CPU, so this is decided by timing on the machine that calibrates, the way TensorRT
times tactics: the quantised nodes are grouped (model part x kind: 3-D conv, conv, matmul), and group by
group, in graph order, a graph with that group float is timed against the current graph (one tile, the two
back to back in each of :data:`SPEED_ROUNDS` rounds); the group stays float when the median over rounds of
float time / INT8 time is below ``1 -`` :data:`SPEED_MARGIN` (a ratio per round, so load that comes and goes
between rounds cancels out). A group kept float is then split by module (``hsi_stem.conv1``,
``hsi_stages.0`` ...) and each piece timed INT8 against the graph so far, by the same rule: one slow layer
(comix_t's 1-channel stem convolution) no longer keeps a whole branch float.

The result is machine-specific and says so: the trials (group, nodes, both medians, the ratio) go
into the graph's sidecar and every node left float carries its last trial's measurement as its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import onnx

from comix.calibration.int8 import quantizable_nodes
from comix.calibration.recipe import Int8Target
from comix.profile.parts import part_of, split_scoped_name

# float must beat INT8 by this fraction of the tile: noise on a shared core leaves a group INT8
SPEED_MARGIN = 0.015
SPEED_ROUNDS = 10  # interleaved rounds per trial (plus the warm-up of comix.calibration.latency)
PIECE = " › "  # a piece's trial is named "<group> › <module>"

# excluded node names -> graph;
# {"int8": graph, "float": graph} -> {"int8": ms, "float": ms, "ratio": float/int8}
BuildGraph = Callable[[list[str]], onnx.ModelProto]
MeasureGraphs = Callable[[Mapping[str, onnx.ModelProto]], dict[str, float]]


@dataclass
class SpeedTrial:
    """One group timed both ways (medians); float won when ``ratio`` (the median of per-round
    float / INT8 times) is below ``1 - margin``."""

    group: str
    nodes: list[str]
    int8_ms: float
    float_ms: float
    ratio: float
    kept_float: bool

    def reason(self) -> str:
        return (
            f"speed pass: INT8 slower on this CPU (group {self.group!r}: one tile "
            f"{self.float_ms:.1f} ms with it float vs {self.int8_ms:.1f} ms INT8, "
            f"ratio {self.ratio:.3f})"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _kind(node: onnx.NodeProto, weight_ranks: dict[str, int]) -> str:
    if node.op_type == "Conv":
        return "3-D conv" if weight_ranks.get(node.input[1], 4) == 5 else "conv"
    return "matmul"


def node_groups(
    model: onnx.ModelProto, target: Int8Target, skip: set[str] = frozenset()
) -> dict[str, list[str]]:
    """Group name ("<model part> (<kind>)") -> names of the quantisable nodes in it, in graph order; ``skip``:
    nodes already float (excluded) that no group takes."""
    weight_ranks = {t.name: len(t.dims) for t in model.graph.initializer}
    groups: dict[str, list[str]] = {}
    for node in quantizable_nodes(model, target):
        if node.name not in skip:
            groups.setdefault(
                f"{part_of(node.name, node.op_type)} ({_kind(node, weight_ranks)})", []
            ).append(node.name)
    return groups


def module_pieces(nodes: list[str]) -> dict[str, list[str]]:
    """Nodes of one group by module: the first two items of the module path (``hsi_stages.0``,
    ``hsi_stem.conv1``), in graph order; unscoped nodes form one piece."""
    pieces: dict[str, list[str]] = {}
    for name in nodes:
        scope = split_scoped_name(name)
        piece = ".".join(scope[0].split(".")[:2]) if scope else "unscoped"
        pieces.setdefault(piece, []).append(name)
    return pieces


def select_float_groups(
    groups: Mapping[str, list[str]],
    build: BuildGraph,
    measure: MeasureGraphs,
    margin: float = SPEED_MARGIN,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[str], list[SpeedTrial]]:
    """(nodes to keep float, every trial). Greedy in the order of ``groups``: each trial times the
    graph with the group float against the graph of the decisions so far, so a later trial sees the
    earlier ones. A group kept float that spans several modules is split (:func:`module_pieces`) and
    each piece, right after its group, is timed back in INT8 against the graph so far: unless float
    still wins by the margin, the piece is quantised again (its trial says ``kept_float=False``).
    ``progress(done, known)``: ``known`` grows when a group splits."""
    kept: list[str] = []
    current = build(kept)
    trials: list[SpeedTrial] = []
    # (group name, its nodes, whether it is a piece of a float group), in the order they are tried
    queue = [(group, list(nodes), False) for group, nodes in groups.items()]
    index = 0
    while index < len(queue):
        group, nodes, piece = queue[index]
        if piece:  # float so far: time the graph with this piece back in INT8 against it
            back = set(nodes)
            rest = [name for name in kept if name not in back]
            candidate = build(rest)
            times = measure({"int8": candidate, "float": current})
        else:
            candidate = build(kept + nodes)
            times = measure({"int8": current, "float": candidate})
        float_wins = times["ratio"] < 1.0 - margin
        trials.append(
            SpeedTrial(group, nodes, times["int8"], times["float"], times["ratio"], float_wins)
        )
        if piece and not float_wins:
            kept, current = rest, candidate
        elif not piece and float_wins:
            kept, current = kept + nodes, candidate
            pieces = module_pieces(nodes)
            if len(pieces) > 1:  # tried next, so the groups after see the finer choice
                queue[index + 1 : index + 1] = [
                    (f"{group}{PIECE}{name}", members, True) for name, members in pieces.items()
                ]
        index += 1
        if progress:
            progress(index, len(queue))
    return kept, trials


def float_reasons(trials: list[SpeedTrial]) -> dict[str, str]:
    """Node name -> the reason recorded for it, for the nodes the pass left float: the last trial of a
    node decides (a piece timed after its group overrides the group's verdict)."""
    reasons: dict[str, str] = {}
    for trial in trials:
        for node in trial.nodes:
            if trial.kept_float:
                reasons[node] = trial.reason()
            else:
                reasons.pop(node, None)
    return reasons


def describe(trials: list[SpeedTrial]) -> str:
    """One line for the run summary: how many quantisable nodes the pass left float, and where
    ("HSI branch (3-D conv) in 2 of 9 modules (hsi_stem.conv1, hsi_stem.conv2)")."""
    groups = [trial for trial in trials if PIECE not in trial.group]
    total = sum(len(trial.nodes) for trial in groups)
    left_float = len(float_reasons(trials))
    where = []
    for group in (trial for trial in groups if trial.kept_float):
        pieces = [trial for trial in trials if trial.group.startswith(f"{group.group}{PIECE}")]
        still = [trial.group.split(PIECE, 1)[1] for trial in pieces if trial.kept_float]
        if not pieces:
            where.append(group.group)
        elif still:
            where.append(
                f"{group.group} in {len(still)} of {len(pieces)} modules ({', '.join(still)})"
            )
    text = f"{left_float} of {total} quantisable nodes float" + (
        f": {'; '.join(where)}" if where else ""
    )
    if total and left_float == total:
        text += "; every group ran faster in float here, so the graph has no INT8 node"
    return text
