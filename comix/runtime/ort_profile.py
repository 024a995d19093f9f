"""Per-node times of an ONNX Runtime session, from ONNX Runtime's own profiler.

:func:`profile_session` gives ``comix profile`` its per-layer times; :func:`profile_nodes` gives the
benchmarks the same times with the input shapes each node ran on (to count multiply-adds).

The profiler writes a Chrome trace (a JSON list of events, times in microseconds): one ``Session``
event named ``model_run`` per ``run`` call, and per executed node ``Node`` events named
``<node name>_kernel_time`` with ``args.op_name`` (and ``_fence_before``/``_fence_after`` events, which are
not kernel work).

ONNX Runtime's optimiser renames what it rewrites: a convolution in its blocked NCHWc layout is
``<output value>_nchwc`` (``<output value>_bn_nchwc`` for a BatchNorm turned into one), layout changes are
``ReorderInput``/``ReorderOutput_token_<n>``, other inserted nodes ``<Op>_token_<n>``. Such names lose the
module scope our export put into node names (:func:`comix.export.passes.scoped_name`); they get it back
from the exported node that produced the same value, found through the optimised graph, which the
profiling session saves for this.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.errors import BadInputError
from comix.model_digest import GraphNode, graph_nodes
from comix.runtime.backend import LayerTime
from comix.runtime.session import SessionFactory

KERNEL_SUFFIX = "_kernel_time"
WARMUP_RUNS = 1  # the first run allocates and plans; it is profiled but not counted


def kernel_events(events: Sequence[Mapping], runs: int) -> Iterator[tuple[str, Mapping]]:
    """(node name, event) of every node's kernel event inside the last ``runs`` ``model_run`` events
    of a trace."""
    model_runs = sorted(
        (e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
        key=lambda e: e["ts"],
    )
    if runs < 1 or len(model_runs) < runs:
        raise BadInputError(
            f"ONNX Runtime profile: got {len(model_runs)} model runs, expected at least {runs}"
        )
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in model_runs[-runs:]]
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        if any(start <= event["ts"] <= end for start, end in windows):
            yield name[: -len(KERNEL_SUFFIX)], event


def node_times(events: Sequence[Mapping], runs: int) -> list[LayerTime]:
    """Mean kernel time per node over the last ``runs`` ``model_run`` events of a trace.

    Returns one :class:`LayerTime` per node name, in order of first execution; ``calls`` is how often
    the node ran per run (1 in a plain graph).
    """
    totals: dict[str, list] = {}
    for node, event in kernel_events(events, runs):
        entry = totals.setdefault(node, [event.get("args", {}).get("op_name", ""), 0.0, 0])
        entry[1] += float(event["dur"])
        entry[2] += 1
    return [
        LayerTime(node, kind, micros / runs / 1e3, max(1, round(count / runs)))
        for node, (kind, micros, count) in totals.items()
    ]


def _scope_prefix(name: str) -> str | None:
    """``path[Class]`` of a scoped node name ``path[Class]/node``, else None."""
    head, slash, _ = name.partition("]/")
    return head + "]" if slash and "[" in head else None


def _value_of_renamed(name: str) -> str | None:
    """The output value an NCHWc-rewritten node was named after (``conv2d_3_nchwc`` -> ``conv2d_3``)."""
    if not name.endswith("_nchwc"):
        return None
    value = name[: -len("_nchwc")]
    return value[: -len("_bn")] if value.endswith("_bn") else value


def restore_scopes(
    layers: list[LayerTime], exported: list[GraphNode], optimized: list[GraphNode] | None
) -> list[LayerTime]:
    """Give nodes renamed by ONNX Runtime the scope of the exported node behind them (module doc):
    ``<scope>/<ONNX Runtime's name>``. Names already scoped, and names with no scoped origin, stay.
    ``exported`` / ``optimized``: the nodes of the graph as exported and as ONNX Runtime optimised it."""
    producer = {value: node.name for node in exported for value in node.outputs}
    rewritten = {node.name: node for node in optimized} if optimized is not None else {}
    restored = []
    for layer in layers:
        name = layer.name
        if _scope_prefix(name) is None:
            candidates = [_value_of_renamed(name)]
            if (
                name in rewritten
            ):  # a node ONNX Runtime inserted: where its result goes, else where it reads from
                candidates += [*rewritten[name].outputs, *rewritten[name].inputs]
            origins = [_scope_prefix(producer[v]) for v in candidates if v in producer]
            origin = next((o for o in origins if o is not None), None)
            if origin is not None:
                name = f"{origin}/{name}"
        restored.append(LayerTime(name, layer.kind, layer.milliseconds, layer.calls))
    return restored


def profile_session(factory, feeds: Mapping[str, np.ndarray], runs: int) -> list[LayerTime]:
    """Build a profiling session from ``factory`` (a :class:`~comix.runtime.session.SessionFactory`), run it
    ``WARMUP_RUNS + runs`` times on ``feeds`` and return its :func:`node_times`, scopes restored."""
    with tempfile.TemporaryDirectory(prefix="comix-ort-profile-") as folder:
        optimized_path = Path(folder) / "optimized.onnx"
        session = factory.profiling(Path(folder) / "ort", optimized_path)()
        for _ in range(WARMUP_RUNS + runs):
            session.run(None, dict(feeds))
        trace = Path(session.end_profiling())
        events = json.loads(trace.read_text())
        optimized = graph_nodes(optimized_path.read_bytes()) if optimized_path.is_file() else None
    return restore_scopes(node_times(events, runs), graph_nodes(factory.model_bytes()), optimized)


@dataclass
class NodeRun:
    """Mean kernel time of one node per run; ``inputs``: the shapes of its inputs as ORT ran it."""

    name: str
    op_type: str
    milliseconds: float
    inputs: list[list[int]] = field(default_factory=list)


def profile_nodes(model, feeds: dict, threads: int, runs: int) -> list[NodeRun]:
    """Nodes in order of first execution, times averaged over ``runs`` runs after the warm-up run(s) of
    ``comix.runtime.ort_profile``."""
    with tempfile.TemporaryDirectory() as folder:
        factory = SessionFactory(model, providers=["CPUExecutionProvider"], threads=threads)
        session = factory.profiling(Path(folder) / "profile")()
        for _ in range(WARMUP_RUNS + runs):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    nodes: dict[str, NodeRun] = {}
    for name, event in kernel_events(events, runs):
        args = event.get("args", {})
        node = nodes.setdefault(
            name,
            NodeRun(
                name,
                args.get("op_name", ""),
                0.0,
                [next(iter(shape.values())) for shape in args.get("input_type_shape", [])],
            ),
        )
        node.milliseconds += event["dur"] / 1000.0 / runs
    return list(nodes.values())
