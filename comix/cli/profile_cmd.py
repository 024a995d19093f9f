"""``comix profile MODEL``: latency, throughput, memory and where the time goes, on any backend.

The work is :func:`comix.profile.profile`; this module parses options, shows progress and writes the
report folder (:func:`comix.profile.write_report`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from comix.cli.errors import fail
from comix.cli.options import backend_option, threads_option, tile_option, verify_option
from comix.profile.stats import StoppingRule
from comix.runtime import defaults
from comix.tiles import parse_tile

_RULE = StoppingRule()


def default_output(model: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.profile/``, a checkpoint folder ``run/`` -> ``run.profile/``."""
    return model.with_name(model.name + ".profile")


def profile_command(
    model: Path = typer.Argument(
        ...,
        help="Exported .onnx (ONNX Runtime), checkpoint folder (PyTorch) or TensorRT "
        ".engine (needs the TensorRT backend and a GPU).",
    ),
    backend: str = backend_option(),
    tile: list[str] = tile_option(repeat=True),
    batch: list[int] = typer.Option([1], "--batch", help="Tiles per call; repeat for a sweep."),
    threads: list[int] = threads_option(
        runtime="the backend", repeat=True, note="On a shared machine measure with 1."
    ),
    warmup: int = typer.Option(_RULE.warmup, "--warmup", help="Untimed calls before timing."),
    min_iterations: int = typer.Option(
        _RULE.min_iterations, "--min-iterations", help="Timed calls at least."
    ),
    max_iterations: int = typer.Option(
        _RULE.max_iterations, "--max-iterations", help="Timed calls at most."
    ),
    target_rse: float = typer.Option(
        _RULE.target_rse,
        "--target-rse",
        help="Stop when the relative standard error "
        "of the mean latency is this small (0.02 = 2 %).",
    ),
    max_seconds: float = typer.Option(
        _RULE.max_seconds,
        "--max-seconds",
        help="Stop after this much timed work per configuration.",
    ),
    breakdown: bool = typer.Option(
        True,
        "--breakdown/--no-breakdown",
        help="Per-layer times from the backend's profiler, grouped by model part.",
    ),
    breakdown_runs: int = typer.Option(
        5, "--breakdown-runs", help="Profiled calls averaged for the breakdown."
    ),
    hsi: Path = typer.Option(
        None,
        "--hsi",
        help="A scene's HSI cube: tiles are cut from it, and the whole scene is "
        "segmented once and timed (with --x).",
    ),
    x: Path = typer.Option(None, "--x", help="The scene's X raster (with --hsi)."),
    gsd: float = typer.Option(
        None,
        "--gsd",
        help="Ground sampling distance in metres per pixel for seconds per km² "
        "(default: from the scene's georeference, when in metres).",
    ),
    overlap: int = typer.Option(
        None,
        "--overlap",
        help="Tile overlap for seconds per km² and the scene run (default: "
        f"3/8 of the tile, {defaults.default_overlap(defaults.TILE)} at {defaults.TILE}).",
    ),
    power: bool = typer.Option(
        False, "--power", help="Jetson: board power and energy per tile from tegrastats."
    ),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="Report folder: profile.json, profile.md and PNG plots "
        "(default: MODEL.profile beside the model; its parent must exist).",
    ),
    layers: int = typer.Option(15, "--layers", help="How many of the slowest layers to list."),
    verify: bool = verify_option(),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Measure latency (mean, p50/p90/p99, min/max), throughput, peak memory and the per-part breakdown."""
    from comix.atomic import check_parent
    from comix.profile import ProfileOptions, print_report, profile, write_report

    if (hsi is None) != (x is None):
        fail(
            "--hsi/--x: got only one of them, expected both (the scene's HSI cube and its X raster) or "
            "neither"
        )
    output = output or default_output(model)
    check_parent(output)
    if output.exists() and not output.is_dir():
        fail(f"--output {output}: got an existing file, expected a folder for the report")
    options = ProfileOptions(
        backend=backend,
        verify=verify,
        tiles=[parse_tile(t) for t in tile],
        batches=list(batch),
        threads=list(threads),
        rule=StoppingRule(warmup, min_iterations, max_iterations, target_rse, max_seconds),
        breakdown=breakdown,
        breakdown_runs=breakdown_runs,
        gsd_m=gsd,
        overlap=overlap,
        power=power,
        scene=(hsi, x) if hsi is not None else None,
    )
    console = Console()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, cap: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=cap)
            bar.update(tasks[label], completed=done)

        report = profile(model, options, progress)
    output.mkdir(exist_ok=True)
    written = write_report(report, output)
    print_report(report, console, layers)
    console.print(f"wrote {', '.join(str(p) for p in written.values())}", highlight=False)
