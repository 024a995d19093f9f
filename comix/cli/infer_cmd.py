"""``comix infer``: segment a whole scene, or a whole archive of scenes, with any backend.

One scene: ``comix infer MODEL --hsi H --x X -o seg.tif`` (:func:`comix.runtime.segment.segment_source`).
Many: ``comix infer MODEL --scenes FOLDER|GLOB|MANIFEST -o OUT/`` (:func:`comix.archive.run_archive`,
resumable, ``--engine ray`` for a cluster). MODEL is an exported ``.onnx`` (ONNX Runtime backend), an engine
from ``comix build`` (TensorRT backend) or a checkpoint folder (PyTorch backend, on the CPU or with
``--device cuda`` on our CUDA kernels). This module parses options and shows progress.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from comix.cli.errors import CommandFailed, fail
from comix.cli.options import (
    backend_option,
    deadline_option,
    recheck_option,
    redundant_option,
    threads_option,
    tile_option,
    verify_option,
)
from comix.runtime import defaults
from comix.tasks import SEGMENTATION, require_task
from comix.tiles import parse_tile


def infer_command(
    model: Path = typer.Argument(
        ...,
        help="Exported .onnx model, a TensorRT .engine from comix build, or a "
        "checkpoint folder for the PyTorch backend.",
    ),
    hsi: Path = typer.Option(
        None,
        "--hsi",
        help="One scene's HSI cube: GeoTIFF/ENVI (bands first), .npy/.mat/.npz (see --layout).",
    ),
    x: Path = typer.Option(
        None, "--x", help="Its X-modality raster (LiDAR DSM, SAR, ...) on the same H x W grid."
    ),
    scenes: str = typer.Option(
        None,
        "--scenes",
        help="Many scenes instead: a folder (*/dataset.yaml, or file pairs "
        "NAME_hsi.EXT + NAME_x.EXT), a glob, or a manifest (.csv: name,hsi,x[,hsi_key,x_key,"
        "layout,nodata]; .yaml: scenes: [...]). -o is then a folder; finished scenes are "
        "skipped when the run is repeated.",
    ),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="One scene: the class raster to write, .tif (tiled, "
        "compressed GeoTIFF with the HSI's georeference; a .npy is written beside it) or .npy; "
        ".png and .json go beside. Many scenes: the output folder (OUT/NAME.tif ... and "
        "OUT/run_summary.json).",
    ),
    tile: str = tile_option(),
    overlap: int = typer.Option(
        None,
        "--overlap",
        help="Pixels shared by neighbouring tiles, blended so there are "
        f"no seams (default: 3/8 of the tile, {defaults.default_overlap(defaults.TILE)} at "
        f"{defaults.TILE}).",
    ),
    batch: int = typer.Option(
        None,
        "--batch",
        help="Tiles per backend call; memory grows with this and the scene "
        f"width, not the scene size (default: a static model's batch, else {defaults.BATCH}).",
    ),
    backend: str = backend_option(),
    device: str = typer.Option(
        "cpu",
        "--device",
        help="PyTorch backend only: cpu, or cuda (our CUDA DCN kernels "
        "through the PyTorch extension).",
    ),
    cuda_graphs: bool = typer.Option(
        False,
        "--cuda-graphs",
        help="TensorRT backend: capture each tile shape's "
        "enqueue once as a CUDA graph and replay it.",
    ),
    probabilities: bool = typer.Option(
        False,
        "--probabilities",
        help="Also write per-class softmax probabilities "
        "(float32, K bands, NaN = no data) as <output>.probabilities.tif/.npy.",
    ),
    cog: bool = typer.Option(
        False,
        "--cog",
        help="Write GeoTIFFs as Cloud-Optimized GeoTIFFs with overviews (mode "
        "for classes, average for probabilities).",
    ),
    nodata: float = typer.Option(
        None,
        "--nodata",
        help="A value that means 'no data' in files that declare none "
        "(GeoTIFF nodata tags, ENVI 'data ignore value' and NaN/Inf are always honoured).",
    ),
    x_nodata: float = typer.Option(
        None, "--x-nodata", help="Nodata value of the X raster when it differs from --nodata."
    ),
    nodata_fill: str = typer.Option(
        defaults.NODATA_FILL,
        "--nodata-fill",
        help="What the model sees at nodata "
        "pixels (they are nodata in every product either way): nearest (valid pixel) or "
        "mean (the model's normalisation mean).",
    ),
    hsi_key: str = typer.Option(
        None, "--hsi-key", help="Variable name inside a .mat/.npz HSI file."
    ),
    x_key: str = typer.Option(None, "--x-key", help="Variable name inside a .mat/.npz X file."),
    layout: str = typer.Option(
        None, "--layout", help="Axis layout of .mat/.npy/.npz arrays: HWC (default) or CHW."
    ),
    threads: int = threads_option(
        "Intra-op threads per model session (with --engine ray, the CPUs each worker reserves, at least 1)"
    ),
    engine: str = typer.Option(
        "sequential",
        "--engine",
        help="Many scenes: sequential (this process) or ray (needs the 'cluster' extra).",
    ),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="Join this Ray cluster (HOST:PORT of `ray start "
        "--head`); default: start Ray on this machine.",
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        help="Ray actors, each holding one model session (default: the cluster's CPUs / threads).",
    ),
    gpus_per_worker: float = typer.Option(
        0.0,
        "--gpus-per-worker",
        help="GPUs each Ray actor reserves (1, or 0.5 "
        "for two sessions per GPU) when the backend runs on GPUs.",
    ),
    distribute: str = typer.Option(
        "auto",
        "--distribute",
        help="With Ray: scenes, tiles (of each scene in turn), "
        "or auto (tiles for a single scene, scenes otherwise).",
    ),
    fail_fast: bool = typer.Option(
        False,
        "--fail-fast",
        help="Many scenes: stop at the first bad scene instead of reporting it and going on.",
    ),
    verify: bool = verify_option(),
    recheck_every: int = recheck_option(),
    redundant: int = redundant_option(),
    deadline_ms: float = deadline_option(),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Segment a whole scene (or many) tile by tile, streaming from disk, and write class rasters, colour
    PNGs and JSON summaries; nodata stays nodata in every product."""
    console = Console(stderr=True)
    tile = parse_tile(tile) if tile is not None else None
    if scenes is not None:
        if recheck_every or redundant or deadline_ms is not None:
            fail(
                "--recheck-every/--redundant/--deadline-ms: got them with --scenes, expected them for one "
                "scene (--hsi/--x) or `comix stream`"
            )
        if hsi is not None or x is not None:
            fail(
                "--scenes: got --hsi/--x as well, expected either one scene (--hsi and --x) or --scenes"
            )
        _many(
            model,
            scenes,
            output,
            console,
            quiet,
            engine,
            ray_address,
            workers,
            gpus_per_worker,
            distribute,
            {
                "backend": backend,
                "tile": tile,
                "overlap": overlap,
                "batch": batch,
                "probabilities": probabilities,
                "cog": cog,
                "nodata": nodata,
                "x_nodata": x_nodata,
                "nodata_fill": nodata_fill,
                "threads": threads,
                "fail_fast": fail_fast,
                "verify": verify,
            },
            {"hsi_key": hsi_key, "x_key": x_key, "layout": layout},
        )
        return
    if hsi is None or x is None:
        fail(
            "scene: got "
            + ("no --hsi" if hsi is None else "no --x")
            + ", expected --hsi and --x (one scene) or "
            "--scenes (many)"
        )
    if engine != "sequential":
        fail(
            f"--engine {engine}: got one scene, expected --scenes (one scene runs in this process; its "
            "tiles go to Ray with --scenes FILE.csv listing it)"
        )
    from comix.atomic import refuse_overwriting_inputs
    from comix.runtime.guard import GuardOptions, guarded
    from comix.runtime.outputs import output_paths
    from comix.runtime.registry import open_backend
    from comix.runtime.segment import open_scene, segment_source
    from comix.runtime.sliding_window import SlidingWindow

    guards = GuardOptions(recheck_every, redundant, deadline_ms)
    # a bad output path, or one whose products (sidecars included) would replace an input, fails first
    refuse_overwriting_inputs(
        output_paths(output, probabilities).values(), [hsi, x, model], given=output
    )
    runner = open_backend(
        model, backend, threads=threads, device=device, cuda_graphs=cuda_graphs, verify=verify
    )
    require_task(
        runner.info.task, SEGMENTATION, str(model), "comix infer"
    )  # a SHIP model: before any reading
    # the window's own checks (tile, overlap, batch, --nodata-fill), before the scene is opened
    SlidingWindow(runner, tile=tile, overlap=overlap, batch=batch, nodata_fill=nodata_fill)
    runner = guarded(
        runner, guards, on_event=lambda event: console.print(f"[yellow]integrity:[/] {event}")
    )
    with (
        open_scene(hsi, x, hsi_key, x_key, layout, nodata, x_nodata) as source,
        _bar(console, quiet, "tiles") as bar,
    ):
        task = bar.add_task("infer", total=None)
        run = segment_source(
            runner,
            source,
            output,
            tile=tile,
            overlap=overlap,
            batch=batch,
            probabilities=probabilities,
            cog=cog,
            nodata_fill=nodata_fill,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            summary={"model": str(model), "hsi": str(hsi), "x": str(x)},
        )
    nodata_pixels = run.summary["nodata"]["pixels"]
    console.print(integrity_line(run.summary["integrity"]), highlight=False)
    if run.summary["nodata"]["fraction"] >= 1.0:
        console.print(
            f"[yellow]warning:[/] {hsi} and {x} have no pixel with data in both (every pixel is NaN/Inf or "
            "a nodata value in one of them): the products are 100 % nodata",
            highlight=False,
            soft_wrap=True,  # one line, however narrow the terminal
        )
    console.print(
        f"wrote {', '.join(str(p) for p in run.paths.values())} ({run.stats.tiles} tiles in "
        f"{run.stats.seconds:.2f} s"
        + (f"; {nodata_pixels} nodata pixels" if nodata_pixels else "")
        + ")",
        highlight=False,
    )


def integrity_line(report: dict) -> str:
    """One line on what was verified and what the guards saw (the summary's ``integrity``)."""
    verification = report.get("verification") or {}
    status = {
        "verified": "model verified (weights and graph digests)",
        "unsealed": "model NOT verified: it carries no recorded digests (re-export to seal it)",
        "skipped": "model not verified (--no-verify)",
    }.get(verification.get("status"), "model checked by its loader")
    parts = [status]
    if "tiles" in report:
        parts.append(
            f"{report['rechecks']} re-checks, {report['reloads']} reloads, "
            f"{report['redundant_runs']} redundant runs ({report['majority_kept']} votes), "
            f"{report['over_deadline']} tiles over the deadline, slowest tile "
            f"{report['slowest_tile_ms']:.1f} ms"
        )
    return "integrity: " + "; ".join(parts)


def _bar(console: Console, quiet: bool, what: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=quiet,
    )


def _many(
    model: Path,
    scenes: str,
    output: Path,
    console: Console,
    quiet: bool,
    engine: str,
    address,
    workers,
    gpus: float,
    distribute: str,
    settings: dict,
    keys: dict,
) -> None:
    from comix.archive import ArchiveOptions, check_run, list_scenes, run_archive
    from comix.runtime.scene_source import RasterRef

    specs = list_scenes(scenes)
    for spec in specs:  # --hsi-key/--x-key/--layout apply to entries that name none
        spec.hsi = RasterRef(
            spec.hsi.path, spec.hsi.key or keys["hsi_key"], spec.hsi.layout or keys["layout"]
        )
        spec.x = [
            RasterRef(r.path, r.key or keys["x_key"], r.layout or keys["layout"]) for r in spec.x
        ]
    options = ArchiveOptions(model=str(model), **settings)
    extra = (
        {}
        if engine == "sequential"
        else {
            "address": address,
            "workers": workers,
            "gpus_per_worker": gpus,
            "distribute": distribute,
        }
    )
    check_run(output, options, engine, **extra)  # refused before the progress bar is drawn
    bar = _bar(console, quiet, "scenes")
    task = bar.add_task("", total=len(specs))
    started: list[bool] = []

    def shown() -> Progress:
        """The bar, drawn from the first scene on (a model that cannot be opened prints only its line)."""
        if not started:
            bar.start()
            started.append(True)
        return bar

    def on_scene(record: dict) -> None:
        shown().advance(task)
        if record["status"] == "failed":
            console.print(f"[red]failed[/] {record['scene']}: {record['reason']}", highlight=False)
        elif record["status"] == "done":
            bar.update(task, description=f"{record['scene']} done in {record['seconds']:.1f} s")

    def scene_progress(spec):
        shown().update(task, description=f"{spec.name} ...")
        return None

    if engine != "sequential":
        shown()  # Ray takes seconds to start: the bar says something is happening
    try:
        summary = run_archive(
            specs,
            output,
            options,
            engine,
            on_scene=on_scene,
            scene_progress=scene_progress,
            **extra,
        )
    finally:
        if started:
            bar.stop()
    counts = summary["scenes"]
    console.print(
        f"{counts['done']} scenes done, {counts['skipped']} already complete, {counts['failed']} failed "
        f"of {counts['total']}; summary {Path(output) / 'run_summary.json'}",
        highlight=False,
    )
    if summary["failures"]:
        lines = "\n".join(f"  {f['scene']}: {f['reason']}" for f in summary["failures"])
        raise CommandFailed(
            f"{len(summary['failures'])} of {counts['total']} scenes failed:\n{lines}"
        )
