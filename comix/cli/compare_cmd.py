"""``comix compare A B --data DATASET``: two backends or precisions on the same tiles, pass/fail with a
summary.

A and B are anything ``comix infer`` runs (``.onnx``, ``.engine``, checkpoint folder); B is the reference
(e.g. ``comix compare model.int8.onnx model.onnx``). The comparison is :mod:`comix.runtime.compare`.
Exit code 0 when every output is within tolerance, finite, and the classes agree on at least
``--min-agreement`` of the pixels; 1 when the comparison fails; 2 for bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from comix.cli.errors import CommandFailed, fail
from comix.cli.options import threads_option, tile_option, verify_option
from comix.runtime import defaults
from comix.runtime.compare import DEFAULT_MIN_AGREEMENT, DEFAULT_TOLERANCES, ERROR_STATS
from comix.runtime.registry import help_text as backend_help
from comix.tasks import SEGMENTATION, require_task
from comix.tiles import format_tile, parse_tile


def compare_command(
    model_a: Path = typer.Argument(
        ..., help="Model A (.onnx, .engine or checkpoint folder): the one under test."
    ),
    model_b: Path = typer.Argument(..., help="Model B: the reference (e.g. the FP32 ONNX graph)."),
    data: Path = typer.Option(
        None,
        "--data",
        help="Dataset description (dataset.yaml or its folder) to draw tiles "
        "from; or give --hsi and --x.",
    ),
    hsi: Path = typer.Option(None, "--hsi", help="HSI raster (instead of --data)."),
    x: Path = typer.Option(None, "--x", help="X-modality raster (with --hsi)."),
    backend_a: str = typer.Option("auto", "--backend-a", help=f"Backend for A. {backend_help()}"),
    backend_b: str = typer.Option("auto", "--backend-b", help="Backend for B (the same choices)."),
    device_a: str = typer.Option("cpu", "--device-a", help="PyTorch device for A (cpu or cuda)."),
    device_b: str = typer.Option("cpu", "--device-b", help="PyTorch device for B (cpu or cuda)."),
    tile: str = tile_option(),
    tiles: int = typer.Option(
        16, "--tiles", help="Number of tiles, drawn at seeded random positions."
    ),
    batch: int = typer.Option(defaults.BATCH, "--batch", help="Tiles per backend call."),
    atol: list[str] = typer.Option(
        None,
        "--atol",
        help="Absolute tolerance, VALUE or OUTPUT:VALUE (outputs: logits, "
        f"probabilities; repeatable). Default {DEFAULT_TOLERANCES['logits'][0]:g} "
        f"/ {DEFAULT_TOLERANCES['probabilities'][0]:g}.",
    ),
    rtol: list[str] = typer.Option(
        None, "--rtol", help="Relative tolerance, VALUE or OUTPUT:VALUE (repeatable)."
    ),
    error_stat: str = typer.Option(
        "elemwise",
        "--error-stat",
        help=f"Which error must be within tolerance: "
        f"{', '.join(ERROR_STATS)} (Polygraphy's check_error_stat).",
    ),
    min_agreement: float = typer.Option(
        DEFAULT_MIN_AGREEMENT,
        "--min-agreement",
        help="Least fraction of pixels with the same class.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the tile positions."),
    threads: int = threads_option(),
    verify: bool = verify_option(),
    output: Path = typer.Option(None, "-o", "--output", help="Write the report as JSON here."),
    plot: Path = typer.Option(
        None, "--plot", help="Write a PNG: |A - B| histogram of the logits and A vs B."
    ),
) -> None:
    """Compare the outputs of two models/backends on the same tiles: per-output atol/rtol (Polygraphy's
    comparator), error statistics, argmax agreement, NaN/Inf check; pass/fail with a summary."""
    from comix.atomic import check_parent, refuse_overwriting_inputs, write_text_atomic
    from comix.runtime.compare import compare_backends, parse_tolerances
    from comix.runtime.registry import open_backend
    from comix.runtime.segment import read_scene_inputs
    from comix.runtime.tiling import random_tiles

    written = [path for path in (output, plot) if path is not None]
    for path in written:
        check_parent(path)
    refuse_overwriting_inputs(written, [model_a, model_b, data, hsi, x])
    if (data is None) == (hsi is None and x is None):
        fail(
            "scene: got "
            + ("both --data and --hsi/--x" if data is not None else "neither --data nor --hsi/--x")
            + ", expected one of them"
        )
    if data is None and (hsi is None or x is None):
        fail("scene: got only one of --hsi and --x, expected both")
    if tiles < 1 or batch < 1:
        fail(f"--tiles/--batch: got {tiles} and {batch}, expected >= 1")
    atol_values, rtol_values = parse_tolerances(atol, "atol"), parse_tolerances(rtol, "rtol")
    if data is not None:
        from comix.data.loader import load_scene

        scene = load_scene(data)
        hsi_cube, x_raster = (
            scene.hsi.astype("float32", copy=False),
            scene.x.astype("float32", copy=False),
        )
    else:
        hsi_cube, x_raster, _ = read_scene_inputs(hsi, x)
    a = open_backend(model_a, backend_a, threads=threads, device=device_a, verify=verify)
    b = open_backend(model_b, backend_b, threads=threads, device=device_b, verify=verify)
    if a.info.task != b.info.task:
        fail(
            f"models: got A {model_a} for task {a.info.task!r} and B {model_b} for task {b.info.task!r}, "
            f"expected two models of one task ({SEGMENTATION!r}: comix compare compares segmentation "
            "models)"
        )
    for model, backend in ((model_a, a), (model_b, b)):
        require_task(backend.info.task, SEGMENTATION, str(model), "comix compare")
    size = parse_tile(tile) if tile is not None else (a.info.tile or b.info.tile or defaults.TILE)
    size = parse_tile(size)
    hsi_tiles, x_tiles = random_tiles(hsi_cube, x_raster, size, tiles, seed)
    console = Console(stderr=True)
    with console.status(
        f"running {tiles} tiles of {format_tile(size)} through A ({a.name}) and B ({b.name})..."
    ):
        report = compare_backends(
            a,
            b,
            hsi_tiles,
            x_tiles,
            names=(str(model_a), str(model_b)),
            atol=atol_values,
            rtol=rtol_values,
            error_stat=error_stat,
            min_agreement=min_agreement,
            batch=batch,
        )
    _print(report, a.name, b.name)
    if output is not None:
        write_text_atomic(
            output, json.dumps({**report.to_dict(), "backends": [a.name, b.name]}, indent=2)
        )
    if plot is not None:
        _plot(plot, a, b, hsi_tiles[:batch], x_tiles[:batch], report)
    if not report.passed:
        failed = [o.name for o in report.outputs if not o.passed]
        raise CommandFailed(
            f"comparison failed: outputs out of tolerance or not finite: {failed or 'none'}; argmax "
            f"agreement {report.argmax_agreement:.4%} (expected >= {report.min_agreement:.2%})"
        )


def _print(report, name_a: str, name_b: str) -> None:
    table = Table(
        title=f"A = {report.a} ({name_a})  vs  B = {report.b} ({name_b}): {report.tiles} tiles "
        f"{report.tile[0]}x{report.tile[1]}"
    )
    for column in (
        "output",
        "atol / rtol",
        "stat",
        "max |Δ|",
        "mean |Δ|",
        "median |Δ|",
        "p99 |Δ|",
        "max rel",
        "NaN/Inf A/B",
        "verdict",
    ):
        table.add_column(column)
    for o in report.outputs:
        table.add_row(
            o.name,
            f"{o.atol:g} / {o.rtol:g}",
            o.error_stat,
            f"{o.max_abs:.3g}",
            f"{o.mean_abs:.3g}",
            f"{o.median_abs:.3g}",
            f"{o.p99_abs:.3g}",
            f"{o.max_rel:.3g}",
            f"{o.nonfinite_a}/{o.nonfinite_b}",
            "[green]pass[/]" if o.passed else "[red]FAIL[/]",
        )
    console = Console()
    console.print(table)
    verdict = "[green]PASS[/]" if report.passed else "[red]FAIL[/]"
    console.print(
        f"argmax agreement {report.argmax_agreement:.4%} ({report.pixels_disagreeing:,} of "
        f"{report.pixels:,} pixels differ; required >= {report.min_agreement:.2%}); "
        f"A {report.seconds_a:.2f} s, B {report.seconds_b:.2f} s -> {verdict}"
    )


def _plot(path: Path, a, b, hsi, x, report) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from comix.viz import save_figure

    logits_a, logits_b = a.run(hsi, x), b.run(hsi, x)
    diff = np.abs(logits_a - logits_b).ravel()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.hist(diff[np.isfinite(diff)], bins=80, log=True, color="#4477aa")
    left.set_xlabel("|logit A − logit B|")
    left.set_ylabel("values (log)")
    left.set_title(f"first batch: max {report.outputs[0].max_abs:.3g} over all tiles")
    sample = np.random.default_rng(0).choice(
        logits_a.size, size=min(20000, logits_a.size), replace=False
    )
    right.scatter(
        logits_b.ravel()[sample], logits_a.ravel()[sample], s=1, alpha=0.3, color="#cc6677"
    )
    low, high = float(np.nanmin(logits_b)), float(np.nanmax(logits_b))
    right.plot([low, high], [low, high], color="black", linewidth=0.8)
    right.set_xlabel("B (reference) logit")
    right.set_ylabel("A logit")
    right.set_title(f"argmax agreement {report.argmax_agreement:.3%}")
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
