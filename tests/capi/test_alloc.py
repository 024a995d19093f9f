"""After the first run of a shape, comix_run allocates nothing in our code (the C API and our DCN ops);
what ONNX Runtime itself still allocates per run is counted and printed (run with -s to see it).

The counter (alloc_count.c) interposes malloc & co. and attributes each allocation by its call stack;
its control is the first run of a shape, where our code must be seen allocating."""

from __future__ import annotations

import pytest
from capi_helpers import run


def count(tool, model, batch, height, width, runs=5) -> dict[str, dict[str, int]]:
    result = run([tool, model, batch, height, width, runs])
    assert result.returncode == 0, result.stderr
    phases = {}
    for line in result.stdout.splitlines():
        name, *pairs = line.split()
        phases[name] = {k: int(v) for k, v in (p.split("=") for p in pairs)}
    return phases


def check(phases: dict, label: str, control: bool = True) -> None:
    """``control``: the graph runs our DCN ops, whose first run sets up workspaces (a portable graph runs
    none of our code inside ONNX Runtime, so its first run need not allocate in our code)."""
    first = phases["first_run"]
    if control:
        assert first["ours"] > 0, (
            f"{label}: the control saw no allocation of ours in a first run: {first}"
        )
    for name in ("same_buffers", "new_buffers"):
        counts = phases[name]
        assert counts["ours"] == 0, (
            f"{label}: {name}: our code allocated after the first run: {counts}"
        )
        assert counts["ort"] > 0, (
            f"{label}: {name}: saw no ONNX Runtime allocation at all: {counts}"
        )
        per_run = {k: v / counts["runs"] for k, v in counts.items() if k != "runs"}
        print(f"{label} {name}: per run {per_run}")


@pytest.mark.parametrize("kind", ["canonical", "portable"])
def test_no_allocation_of_ours_after_the_first_run(clients, tiny, kind):
    check(count(clients["alloc_count"], tiny[kind], 2, 23, 29), f"tiny {kind}", kind == "canonical")


@pytest.mark.slow
def test_no_allocation_of_ours_after_the_first_run_on_comix_t(clients, comix_t):
    check(count(clients["alloc_count"], comix_t["canonical"], 1, 128, 128), "comix_t canonical")
