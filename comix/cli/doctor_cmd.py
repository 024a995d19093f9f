"""``comix doctor``: what this machine can run (GPU, driver, CUDA, TensorRT, bindings, ONNX Runtime, our
plugin libraries) and what to do about each thing missing. The probes are :mod:`comix.doctor`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

STYLE = {"ok": "green", "missing": "yellow", "problem": "red", "info": "cyan"}


def doctor_command(
    json_output: Path = typer.Option(
        None, "--json", help="Also write the report as JSON to this file."
    ),
) -> None:
    """Check the GPU, driver, CUDA, TensorRT, cuda-python/pycuda, ONNX Runtime and our plugin libraries."""
    from comix.atomic import check_parent, write_text_atomic
    from comix.doctor import diagnose, to_json

    if json_output is not None:
        check_parent(json_output)
    console = Console()
    with Console(stderr=True).status("checking..."):
        rows = diagnose()
    table = Table(title="comix doctor")
    for column in ("area", "status", "found", "what to do"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.area, f"[{STYLE.get(row.status, 'white')}]{row.status}[/]", row.found, row.action
        )
    console.print(table)
    if json_output is not None:
        write_text_atomic(json_output, to_json(rows))
