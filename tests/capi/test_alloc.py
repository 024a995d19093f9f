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


def count_stream(tool, model, width, lines, tile, batch) -> dict[str, dict[str, int]]:
    result = run([tool, "--stream", model, width, lines, tile, batch])
    assert result.returncode == 0, result.stderr
    phases = {}
    for line in result.stdout.splitlines():
        name, *pairs = line.split()
        phases[name] = {k: int(v) for k, v in (p.split("=") for p in pairs)}
    return phases


@pytest.mark.parametrize(("width", "batch"), [(37, 1), (45, 3)])
def test_a_line_stream_allocates_nothing_of_ours_after_its_first_row(clients, tiny, width, batch):
    """comix_stream_open allocates the stream's buffers (the control); after the first row of tiles, no
    line, no finish and no second pass (after comix_stream_reset) allocates in our code. The lines carry
    nodata (the nearest fill runs, tiles are skipped); with batch 3, calls of 3, 2 and 1 tiles occur."""
    phases = count_stream(clients["alloc_count"], tiny["canonical"], width, 60, 16, batch)
    assert phases["stream_open"]["ours"] > 0, phases["stream_open"]
    assert phases["stats"]["tiles_skipped"] > 0 and phases["stats"]["lines_in"] == 77
    for name in ("stream_lines", "stream_finish", "stream_second_pass"):
        counts = phases[name]
        assert counts["ours"] == 0, f"{name}: our code allocated after the first row: {counts}"
        assert counts["ort"] > 0, f"{name}: saw no ONNX Runtime allocation at all: {counts}"
    lines, second = phases["stream_lines"], phases["stream_second_pass"]
    per_line = {k: round(v / lines["runs"], 1) for k, v in lines.items() if k != "runs"}
    calls = phases["stats"]["model_calls"]  # of the second pass (the counters restart at the reset)
    per_call = {k: round(v / calls, 1) for k, v in second.items() if k != "runs"}
    print(f"stream width {width} batch {batch}: per line {per_line}; per model call {per_call}")


@pytest.mark.slow
def test_a_line_stream_of_comix_t_allocates_nothing_of_ours_after_its_first_row(clients, comix_t):
    phases = count_stream(clients["alloc_count"], comix_t["canonical"], 100, 40, 32, 1)
    for name in ("stream_lines", "stream_finish", "stream_second_pass"):
        assert phases[name]["ours"] == 0, (
            f"{name}: our code allocated after the first row: {phases[name]}"
        )
    lines = phases["stream_lines"]
    calls = phases["stats"]["model_calls"]
    per_line = {k: round(v / lines["runs"], 1) for k, v in lines.items() if k != "runs"}
    per_call = {
        k: round(v / calls, 1) for k, v in phases["stream_second_pass"].items() if k != "runs"
    }
    print(f"comix_t stream width 100 tile 32: per line {per_line}; per model call {per_call}")
