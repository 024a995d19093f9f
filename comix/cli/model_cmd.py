"""``comix model ...``: inspect the registered variants (CoMiX segmentation and SHIP fusion)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from comix.cli.errors import command
from comix.model.info import ModelInfo, count_macs, count_parameters, variant_info
from comix.model.registry import build_model, list_variants, variant_task
from comix.tasks import FUSION_PANSHARPEN, SEGMENTATION

app = typer.Typer(
    help="Inspect model variants (CoMiX segmentation, SHIP fusion).", no_args_is_help=True
)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def _render(info: ModelInfo, console: Console) -> None:
    summary = Table(
        title=f"{info.name}: hsi {_shape(info.input_shapes['hsi'])}, x {_shape(info.input_shapes['x'])}"
    )
    summary.add_column("quantity")
    summary.add_column("value", justify="right")
    padded = (info.stages[0].x[-2] * 4, info.stages[0].x[-1] * 4)
    summary.add_row("parameters", f"{info.parameters:,}")
    summary.add_row("padded tile (multiple of 32)", _shape(padded))
    summary.add_row("MACs per tile", f"{info.macs.total:,} ({info.macs.total / 1e9:.3f} G)")
    summary.add_row("  conv/linear/matmul", f"{info.macs.dense:,}")
    summary.add_row("  DCN sampling", f"{info.macs.dcn_sampling:,}")
    for part, macs in sorted(info.macs.by_part.items(), key=lambda item: -item[1]):
        summary.add_row(f"  {part}", f"{macs:,}")
    summary.add_row("logits", _shape(info.logits_shape))
    console.print(summary)
    stages = Table(title="per-stage shapes (B, C, [D,] H, W)")
    for column in ("stage", "HSI (3-D)", "X (2-D)", "fused"):
        stages.add_column(column)
    for stage in info.stages:
        stages.add_row(
            str(stage.stage + 1), _shape(stage.hsi), _shape(stage.x), _shape(stage.fused)
        )
    console.print(stages)


@command(app, "info")
def info(
    name: str = typer.Argument(..., help=f"Variant name: {', '.join(list_variants())}."),
    bands: int = typer.Option(144, "--bands", help="HSI band count."),
    x_channels: int = typer.Option(1, "--x-channels", help="X-modality channel count."),
    size: tuple[int, int] = typer.Option((128, 128), "--size", help="Tile height and width."),
    classes: int | None = typer.Option(
        None, "--classes", help="Class count (variant default if omitted)."
    ),
) -> None:
    """Print parameters, MACs per tile (counted) and per-stage shapes of a variant (for a SHIP variant:
    parameters, MACs and the output shape; --bands sets a pan-sharpening model's MS band count)."""
    console = Console()
    if variant_task(name) != SEGMENTATION:
        _render_fusion(name, bands, size, console)
        return
    _render(variant_info(name, bands, x_channels, size, classes), console)


def _render_fusion(name: str, bands: int, size: tuple[int, int], console: Console) -> None:
    import torch

    overrides = {"primary_channels": bands} if variant_task(name) == FUSION_PANSHARPEN else {}
    model = build_model(name, **overrides).eval()
    cfg = model.config
    inputs = (
        torch.zeros(1, cfg.primary_channels, *size),
        torch.zeros(1, cfg.guide_channels, *size),
    )
    macs = count_macs(model, *inputs)
    with torch.no_grad():
        fused = model(*inputs)
    names = model.input_names
    table = Table(
        title=f"{name} ({cfg.task}): {names[0]} {_shape(tuple(inputs[0].shape))}, "
        f"{names[1]} {_shape(tuple(inputs[1].shape))}"
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("parameters", f"{count_parameters(model)[0]:,}")
    table.add_row(
        "MACs per tile (conv/linear/matmul; FFTs not counted)",
        f"{macs.total:,} ({macs.total / 1e9:.3f} G)",
    )
    for part, value in sorted(macs.by_part.items(), key=lambda item: -item[1]):
        table.add_row(f"  {part}", f"{value:,}")
    table.add_row("fused", _shape(tuple(fused.shape)))
    console.print(table)


@command(app, "list")
def list_command() -> None:
    """List the registered variants and their tasks."""
    for variant in list_variants():
        typer.echo(f"{variant}\t{variant_task(variant)}")
