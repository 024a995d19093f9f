"""``comix export CHECKPOINT -o model.onnx``: checkpoint -> validated ONNX (canonical or --portable)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from comix.cli.errors import fail
from comix.cli.options import tile_option
from comix.export.exporter import DEFAULT_OPSET, MIN_OPSET, MIN_PORTABLE_OPSET
from comix.export.validate import DEFAULT_ATOL
from comix.tiles import DEFAULT_TILE, parse_tile


def export_command(
    checkpoint: Path = typer.Argument(
        ..., help="Checkpoint folder (model.safetensors + config.json) or either file."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Path of the ONNX file to write (its folder must exist)."
    ),
    portable: bool = typer.Option(
        False,
        "--portable",
        help="Lower the 3-D DCN to standard ONNX ops (a 2-D "
        "DeformConv on the flattened volume; GridSample + MatMul for a strided one) so "
        "any ONNX runtime can run the model without our custom-op library.",
    ),
    opset: int = typer.Option(
        DEFAULT_OPSET,
        "--opset",
        help=f"ONNX opset (>= {MIN_OPSET} for DeformConv; "
        f">= {MIN_PORTABLE_OPSET} with --portable).",
    ),
    dynamic: bool = typer.Option(
        True,
        "--dynamic/--static",
        help="Symbolic batch, height and width (default), or "
        "fixed shapes equal to --tile and --batch.",
    ),
    tile: str = tile_option("The trace sample's tile, the parity check's and a --static graph's."),
    batch: int = typer.Option(
        1, "--batch", help="Batch size of a --static graph (ignored with --dynamic)."
    ),
    validate: bool = typer.Option(
        True,
        "--validate/--no-validate",
        help="Run the ONNX checker, shape inference and "
        "the ONNX Runtime vs PyTorch parity check before writing (default on).",
    ),
    atol: float = typer.Option(
        DEFAULT_ATOL, "--atol", help="Largest allowed max-abs logit difference ORT vs PyTorch."
    ),
) -> None:
    """Export a CoMiX checkpoint to ONNX, validate it and write it atomically with a validation report."""
    from comix.atomic import check_parent
    from comix.export.checkpoint import ExportOptions, export_checkpoint

    console = Console(stderr=True)
    if not checkpoint.exists():
        fail(f"checkpoint {checkpoint}: got no such file or folder, expected a checkpoint folder")
    check_parent(output)
    if output.suffix != ".onnx":
        fail(f"output {output}: got suffix {output.suffix!r}, expected '.onnx'")
    tile = parse_tile(tile or DEFAULT_TILE)
    if batch < 1:
        fail(f"--batch: got {batch}, expected a positive batch")
    minimum = MIN_PORTABLE_OPSET if portable else MIN_OPSET
    if opset < minimum:  # refused before the checkpoint is read
        fail(
            f"--opset: got {opset}, expected >= {minimum} "
            + ("with --portable (5-D GridSample)" if portable else "(ONNX DeformConv)")
        )
    options = ExportOptions(
        portable=portable,
        opset=opset,
        dynamic=dynamic,
        tile=tuple(tile),
        batch=batch,
        validate=validate,
        atol=atol,
    )
    with console.status(
        f"exporting {checkpoint} ({'portable' if portable else 'canonical'} graph)..."
    ):
        result = export_checkpoint(checkpoint, output, options)
    table = Table(title=f"{result.path}")
    table.add_column("check")
    table.add_column("result")
    report = result.report
    table.add_row("onnx.checker", report.checker)
    table.add_row("shape inference", report.shape_inference)
    table.add_row("ORT vs PyTorch", report.parity.split(";")[0])
    if report.max_abs_error is not None:
        table.add_row("max |logit error|", f"{report.max_abs_error:.3g} (<= {report.atol:g})")
        table.add_row("argmax agreement", f"{report.min_argmax_agreement_measured:.4%}")
    ops = ", ".join(
        f"{k} x{v}" for k, v in result.node_counts.items() if "Deform" in k or "GridSample" in k
    )
    table.add_row("DCN nodes", ops or "none")
    if result.report_path is not None:
        table.add_row("report", str(result.report_path))
    Console().print(table)
