"""``comix calibrate MODEL.onnx --precision fp16|int8 --data DATA -o OUT.onnx`` and ``comix lint``.

DATA follows the model's task: a CoMiX scene's dataset YAML, a PanCollection .h5 or an IR-VIS pair folder
(SHIP).

The work is :func:`comix.calibration.pipeline.calibrate`; this module parses options, shows progress and
prints the summary. ``comix lint`` runs the TensorRT lint alone on any Q/DQ or FP16 graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from comix.calibration import recipe
from comix.cli.errors import CommandFailed
from comix.cli.options import threads_option, tile_option
from comix.tiles import parse_tile

_STAGES = {
    "tiles": "calibration tiles",
    "score": "scoring graphs on held-out pixels",
    "fallback": "fallback search (--max-drop)",
    "speed": "speed pass (INT8 vs float per group)",
}


def calibrate_command(
    model: Path = typer.Argument(
        ..., help="FP32 ONNX graph written by `comix export` (canonical or --portable)."
    ),
    precision: str = typer.Option(
        ..., "--precision", help=f"Precision inside the graph: {', '.join(recipe.PRECISIONS)}."
    ),
    data: Path = typer.Option(
        ...,
        "--data",
        help="Held-out data of the model's task. CoMiX: a scene's dataset YAML "
        "(tiles from its training pixels, report on its held-out pixels). SHIP: a PanCollection "
        ".h5 (pan-sharpening) or an ir/ vi/ pair folder (IR-VIS), scored with the task's "
        "metrics; calibration crops come from it unless --calibration-data is given.",
    ),
    calibration_data: Path = typer.Option(
        None,
        "--calibration-data",
        help="SHIP only: fusion data to draw the "
        "calibration crops from (e.g. train.h5), instead of --data.",
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Path of the calibrated .onnx (its folder must exist)."
    ),
    target: str = typer.Option(
        recipe.DEFAULT_TARGET,
        "--target",
        help="Runtime the INT8 form is made for: tensorrt "
        "(symmetric S8S8 Q/DQ TensorRT fuses) or cpu (U8S8, 7-bit weights: what ONNX Runtime "
        "fuses on x86).",
    ),
    method: str = typer.Option(
        recipe.DEFAULT_METHOD,
        "--method",
        help="INT8 activation ranges: entropy (KL), percentile or max.",
    ),
    percentile: float = typer.Option(
        recipe.DEFAULT_PERCENTILE,
        "--percentile",
        help="Percentile of |x| kept by --method percentile.",
    ),
    tiles: int = typer.Option(
        recipe.DEFAULT_TILES,
        "--tiles",
        min=1,
        help="Number of calibration tiles "
        "(stratified over classes, rarest first; SHIP: over content strata).",
    ),
    tile: str = tile_option("Calibration tile."),
    seed: int = typer.Option(recipe.DEFAULT_SEED, "--seed", help="Seed of the tile draw."),
    dcn_offsets: str = typer.Option(
        "int8",
        "--dcn-offsets",
        help="Offset/mask convolutions of the DCN blocks: int8 "
        "or float (the DCN nodes themselves never take INT8).",
    ),
    exclude: list[str] = typer.Option(
        [], "--exclude", help="Node name to keep in float (repeatable)."
    ),
    speed_pass: bool = typer.Option(
        True,
        "--speed-pass/--no-speed-pass",
        help="--target cpu: time each group of "
        "quantised nodes (model part x conv/3-D conv/matmul) INT8 vs float on this CPU "
        "and keep float the groups INT8 makes slower (about a minute; the result is "
        "tuned to this machine and says so).",
    ),
    max_drop: float = typer.Option(
        None,
        "--max-drop",
        help="INT8: largest held-out loss against FP32 — CoMiX: mIoU "
        "points; SHIP: in --budget-metric's unit (PSNR: dB); the most sensitive nodes go "
        "back to float until it holds.",
    ),
    budget_metric: str = typer.Option(
        None,
        "--budget-metric",
        help="SHIP: the metric --max-drop is in (default: psnr "
        "for pan-sharpening with a reference, qnr without, ssim for IR-VIS).",
    ),
    report: bool = typer.Option(
        True,
        "--report/--no-report",
        help="Score FP32 and the new graph on the held-out "
        "data (JSON, Markdown table, PNG beside the output): OA/mIoU for CoMiX, the task's "
        "image-quality metrics for SHIP.",
    ),
    cache_dir: Path = typer.Option(
        None,
        "--cache-dir",
        help="Statistics cache folder (default: $COMIX_CACHE_DIR or ~/.cache/comix/calibration).",
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Reuse statistics of identical inputs."
    ),
    rebuild_cache: bool = typer.Option(
        False,
        "--rebuild-cache",
        help="Recompute the statistics and overwrite the "
        "cache entry (e.g. after a corrupt entry was refused).",
    ),
    threads: int = threads_option(
        "ONNX Runtime intra-op threads", default=1, runtime="ONNX Runtime"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Write an FP16 or INT8 (explicit Q/DQ) graph calibrated on the data of the model's task (a CoMiX
    scene or SHIP fusion pairs), with its recipe, the TensorRT lint and an accuracy report (FP32 vs the new
    graph on held-out data)."""
    from comix.calibration.pipeline import (
        CalibrationRequest,
        calibrate,
    )

    request = CalibrationRequest(
        model=model,
        precision=precision,
        dataset=data,
        output=output,
        target=target,
        calibration_data=calibration_data,
        budget_metric=budget_metric,
        method=method,
        percentile=percentile,
        tiles=tiles,
        tile=parse_tile(tile, minimum=8) if tile else None,
        seed=seed,
        dcn_offsets=dcn_offsets,
        exclude=list(exclude),
        speed_pass=speed_pass,
        max_drop=max_drop,
        report=report,
        cache_dir=cache_dir,
        use_cache=cache,
        rebuild_cache=rebuild_cache,
        threads=threads,
    )
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = calibrate(request, progress=update)
    _print_summary(result)


def _print_summary(result) -> None:
    console = Console()
    table = Table(title=str(result.output))
    table.add_column("item")
    table.add_column("value")
    r = result.recipe
    table.add_row(
        "precision / target", f"{r.precision} / {r.target}" + (f", {r.method}" if r.method else "")
    )
    table.add_row(
        "calibration tiles",
        f"{r.tiles} x {r.tile_size[0]}x{r.tile_size[1]}"
        + (" (statistics from cache)" if result.statistics_from_cache else ""),
    )
    table.add_row("nodes kept float", str(len(r.kept_float)))
    if result.speed_trials:
        from comix.calibration.speed import describe

        table.add_row("speed pass (this CPU)", describe(result.speed_trials))
    if result.sensitivity:
        worst = ", ".join(f"{s['node']} {s['sqnr_db']:.1f} dB" for s in result.sensitivity[:3])
        table.add_row("most sensitive (SQNR)", worst)
    if result.fallback is not None:
        f = result.fallback
        table.add_row(
            "--max-drop",
            f"{'met' if f.met else 'NOT met'}: {len(f.excluded)} nodes back to float, "
            f"{f.metric} loss {f.steps[-1].loss:.3g} {f.unit} (budget {f.budget:g})",
        )
    if result.latency:
        fp32, reduced = result.latency["fp32"]["median_ms"], result.latency["int8"]["median_ms"]
        table.add_row(
            "one tile, ORT CPU",
            f"fp32 {fp32:.1f} ms, int8 {reduced:.1f} ms ({reduced / fp32:.2f}x)",
        )
    table.add_row("TensorRT lint", result.lint.summary())
    if result.accuracy is not None and hasattr(
        result.accuracy, "budget_metric"
    ):  # fusion: image quality
        metric = result.accuracy.budget_metric
        for g in result.accuracy.graphs:
            text = ", ".join(f"{name} {value:.4g}" for name, value in g.metrics.items())
            if g.deltas:
                text += (
                    f" ({metric} loss {g.deltas[metric]['loss']:+.4g}; PSNR vs fp32 "
                    f"{g.fidelity['psnr_db']:.1f} dB)"
                )
            table.add_row(f"held-out {g.name}", text)
    elif result.accuracy is not None:
        for g in result.accuracy.graphs:
            table.add_row(
                f"held-out {g.name}",
                f"OA {g.overall_accuracy:.4f}, mIoU {g.mean_iou:.4f} "
                f"(Δ {g.delta_points['mean_iou']:+.2f} points), "
                f"argmax agreement {g.argmax_agreement_scored:.4%}",
            )
    table.add_row(
        "written", ", ".join(str(p) for p in [result.output, result.sidecar, *result.report_paths])
    )
    console.print(table)


def lint_command(
    model: Path = typer.Argument(..., help="A Q/DQ or FP16 ONNX graph."),
    statistics: Path = typer.Option(
        None,
        "--statistics",
        help="Calibration statistics (a cache entry written by "
        "`comix calibrate`) for the FP16 range rule; default: the one named in "
        "MODEL.calibration.json when present.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check a graph against the rules a strongly typed TensorRT build needs (symmetric INT8 scales, zero
    points 0, explicit Q/DQ pairs, no INT8 into DCN plugins, fusable placement, FP16 range); exit 1 on
    errors."""
    from comix.calibration.graph import name_nodes
    from comix.calibration.lint import lint_graph
    from comix.calibration.pipeline import load_statistics_file, sidecar_path
    from comix.runtime.session import load_onnx

    graph = load_onnx(model)
    name_nodes(graph)
    if statistics is None:
        sidecar = sidecar_path(model)
        if sidecar.is_file():
            named = json.loads(sidecar.read_text()).get("statistics", {}).get("cache")
            statistics = Path(named) if named and Path(named).is_file() else None
    lint = lint_graph(graph, load_statistics_file(statistics) if statistics is not None else None)
    if as_json:
        typer.echo(json.dumps(lint.as_dict(), indent=2))
    else:
        table = Table(title=lint.summary())
        for column in ("rule", "severity", "node", "message"):
            table.add_column(column)
        for finding in lint.findings[:50]:
            table.add_row(finding.rule, finding.severity, finding.node, finding.message)
        Console().print(table)
    if not lint.passed:
        raise CommandFailed(lint.summary())
