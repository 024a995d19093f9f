"""Per-node kernel times of one ONNX Runtime CPU session with the input shapes each node ran on (for benchmarks).

``comix.runtime.ort_profile`` is the product's reader (times and module scopes); the benchmark scripts also
need the shapes ORT reports per node (``args.input_type_shape``), to count multiply-adds. Both read the trace
through :func:`comix.runtime.ort_profile.kernel_events`.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from comix.runtime.ort_profile import WARMUP_RUNS, kernel_events
from comix.runtime.session import SessionFactory


@dataclass
class NodeRun:
    """Mean kernel time of one node per run; ``inputs``: the shapes of its inputs as ORT ran it."""

    name: str
    op_type: str
    milliseconds: float
    inputs: list[list[int]] = field(default_factory=list)


def profile_nodes(model: onnx.ModelProto, feeds: dict, threads: int, runs: int) -> list[NodeRun]:
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
