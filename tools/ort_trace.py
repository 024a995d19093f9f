"""Per-node kernel times of one ONNX Runtime CPU session with the input shapes each node ran on (for benchmarks).

``comix.runtime.ort_profile`` is the product's reader (times and module scopes); the benchmark scripts also
need the shapes ORT reports per node (``args.input_type_shape``), to count multiply-adds.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import onnxruntime as ort

from comix.runtime.session import find_custom_op_library, uses_custom_domain


@dataclass
class NodeRun:
    """Mean kernel time of one node per run; ``inputs``: the shapes of its inputs as ORT ran it."""

    name: str
    op_type: str
    milliseconds: float
    inputs: list[list[int]] = field(default_factory=list)


def profile_nodes(model: onnx.ModelProto, feeds: dict, threads: int, runs: int) -> list[NodeRun]:
    """Nodes in order of first execution, times averaged over ``runs`` runs after one unprofiled-in-the-mean
    warm-up run."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / "profile")
        if uses_custom_domain(model):
            options.register_custom_ops_library(str(find_custom_op_library()))
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for _ in range(runs + 1):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    model_runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                        key=lambda e: e["ts"])[-runs:]
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in model_runs]
    nodes: dict[str, NodeRun] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith("_kernel_time"):
            continue
        if not any(start <= event["ts"] <= end for start, end in windows):
            continue
        args = event.get("args", {})
        node = nodes.setdefault(name[: -len("_kernel_time")], NodeRun(
            name[: -len("_kernel_time")], args.get("op_name", ""), 0.0,
            [next(iter(shape.values())) for shape in args.get("input_type_shape", [])]))
        node.milliseconds += event["dur"] / 1000.0 / runs
    return list(nodes.values())
