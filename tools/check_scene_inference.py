"""Scene-scale checks of whole-scene inference on a Houston-sized synthetic scene (ONNX Runtime vs PyTorch).

    python tools/check_scene_inference.py [--height 349] [--width 1905] [--bands 144] [--checkpoint RUN]
        [--portable | --canonical] [--model model.onnx] [--tile 128] [--overlap 32] [--batch 4]
        [--seam-width 512] [--band-px 8] [--seam-overlaps 32 0] [--memory-widths 952 1905] [--threads 1]
        [--skip backends seams memory] [--workdir DIR] [--png seams.png] [--output checks.json]

Three checks, printed as one table with the machine (CPU, threads):

(a) backends: ONNX Runtime sliding-window result vs PyTorch sliding-window result with the same tiling
    on the whole scene: pixels whose class differs (expected 0) and the max abs logit difference.
(b) seams: CoMiX's FFM uses a global context per tile, so a tiled result cannot equal one full-scene
    pass exactly. On a crop (H x --seam-width) where one full pass fits in memory, the blended tiled result
    (ONNX Runtime) is compared with one full pass (ONNX Runtime, same graph): class agreement overall,
    in a band of +-``--band-px`` pixels around interior tile borders and elsewhere. "No visible seams"
    means: agreement in the border band is as good as away from it. The same numbers without blending
    (overlap 0) are shown for contrast. ``--png`` saves the max-over-classes |tiled - full| logit map of both.
(c) memory: ONNX Runtime sliding-window inference on scenes of each ``--memory-widths`` width runs in a
    child process; its peak RSS minus the bytes of its inputs and outputs (hsi, x, logits, classes) is the
    working set, which should not grow with the scene. Peak RSS is the child's own VmHWM: its ``ru_maxrss``
    (``os.wait4``, also recorded) starts at this parent's peak on Linux
    (:func:`comix.profile.memory.peak_rss_bytes`);
the child is this script with ``--memory-child``.

(a) and (b) are :mod:`comix.runtime.agreement` (tested); this script makes the scene and model, runs
the checks and prints them.

Without ``--checkpoint``, a fresh comix_t is built with deforming offsets and non-trivial BatchNorm
statistics (as in ``tests/export/test_model_export.py``) and normalisation statistics measured on the scene
(per-band mean/std), then exported with ``comix.export.checkpoint.export_checkpoint`` (validated).
The weights are random, so the classes are not meaningful land cover; the checks are about numerics
and tiling.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from comix.export.scene_fixtures import build_checkpoint, export_model, make_scene
from comix.profile.memory import peak_rss_bytes

# (a)'s generic names -> the names this check's JSON and table have always used
BACKEND_KEYS = {"backend_seconds": "onnxruntime_seconds", "reference_seconds": "torch_seconds"}


# ---------------------------------------------------------------- (c) memory, in a child process
def child(folder: Path, model: Path, tile: int, overlap: int, batch: int, threads: int) -> dict:
    """Child mode: load hsi/x .npy files from ``folder``, ORT sliding-window inference; the bytes of inputs
    and outputs and this process's peak RSS (VmHWM) before and after inference."""
    from comix.runtime import OnnxRuntimeBackend, SlidingWindow

    hsi, x = np.load(folder / "hsi.npy"), np.load(folder / "x.npy")
    backend = OnnxRuntimeBackend(model, threads=threads)
    before = peak_rss_bytes()
    result = SlidingWindow(backend, tile, overlap, batch)(hsi, x)
    return {
        "height": hsi.shape[1],
        "width": hsi.shape[2],
        "tiles": result.tiles,
        "seconds": result.seconds,
        "input_bytes": hsi.nbytes + x.nbytes,
        "output_bytes": result.logits.nbytes + result.classes.nbytes,
        "peak_rss_before_inference": before,
        "peak_rss": peak_rss_bytes(),
        "ru_maxrss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def measure_memory(
    model: Path,
    hsi: np.ndarray,
    x: np.ndarray,
    widths: list[int],
    tile: int,
    overlap: int,
    batch: int,
    threads: int,
    workdir: Path,
) -> list[dict]:
    """For each width, run the child on the first ``width`` columns of hsi (bands, H, W), x (C, H, W):
    working set = the child's peak RSS (VmHWM) - input bytes - output bytes. ``ru_maxrss`` from
    ``os.wait4`` is kept in the row as ``ru_maxrss_wait4`` (it includes this parent's peak; see
    :func:`comix.profile.memory.peak_rss_bytes`)."""
    rows = []
    for width in widths:
        if not 1 <= width <= hsi.shape[2]:
            raise ValueError(
                f"--memory-widths: got {width}, expected 1..{hsi.shape[2]} (the scene width)"
            )
        folder = workdir / f"memory_{width}"
        folder.mkdir()
        np.save(folder / "hsi.npy", np.ascontiguousarray(hsi[:, :, :width]))
        np.save(folder / "x.npy", np.ascontiguousarray(x[:, :, :width]))
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory-child",
            str(folder),
            "--model",
            str(model),
            "--tile",
            str(tile),
            "--overlap",
            str(overlap),
            "--batch",
            str(batch),
            "--threads",
            str(threads),
        ]
        with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(
                f"memory child (width {width}): got exit code {process.returncode}, expected 0; "
                f"stderr: {(folder / 'stderr.txt').read_text()[-2000:]}"
            )
        row = json.loads((folder / "stdout.txt").read_text().strip().splitlines()[-1])
        row["ru_maxrss_wait4"] = usage.ru_maxrss * 1024  # Linux reports KiB
        row["working_set"] = row["peak_rss"] - row["input_bytes"] - row["output_bytes"]
        row["inference_growth"] = (
            row["peak_rss"] - row["peak_rss_before_inference"] - row["output_bytes"]
        )
        rows.append(row)
        for name in ("hsi.npy", "x.npy"):
            (folder / name).unlink()
    return rows


# ---------------------------------------------------------------- the report
MIB = 1024 * 1024


def machine_info(threads: int) -> dict:
    """CPU model, logical cores, the threads used, library versions."""
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "threads": threads or "library default",
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }


def print_report(report: dict) -> None:
    """All results as one rich table (section, check, value, expected)."""
    from rich.console import Console
    from rich.table import Table

    m, s = report["machine"], report["settings"]
    table = Table(
        title=f"Scene-scale checks: {s['height']}x{s['width']} x {s['bands']} bands + DSM, "
        f"{s['graph']} graph, tile {s['tile']}, overlap {s['overlap']}, batch {s['batch']} | "
        f"{m['cpu']}, {m['logical_cores']} logical cores, {m['threads']} thread(s), "
        f"torch {m['torch']}, "
        f"onnxruntime {m['onnxruntime']}"
    )
    for column in ("check", "measured", "expected"):
        table.add_column(column)
    if "export_seconds" in report:
        table.add_row("export (dynamic, validated)", f"{report['export_seconds']:.0f} s", "")
    a = report.get("backends")
    if a:
        table.add_row(
            f"(a) ORT vs PyTorch, {a['tiles']} tiles: pixels with different class",
            f"{a['differing_pixels']} of {a['pixels']}",
            "0",
        )
        table.add_row(
            "(a) ORT vs PyTorch: max abs logit difference",
            f"{a['max_abs_logit_diff']:.2e}",
            "<= 1e-4",
        )
        table.add_row(
            "(a) seconds ORT / PyTorch",
            f"{a['onnxruntime_seconds']:.1f} / {a['torch_seconds']:.1f}",
            "",
        )
    b = report.get("seams")
    if b:
        band = s["band_px"]
        for overlap, st in b["overlaps"].items():
            label = (
                f"(b) {b['height']}x{b['width']} tiled (overlap {overlap}, {st['tiles']} tiles) "
                "vs one full pass"
            )
            table.add_row(
                f"{label}: class agreement all",
                f"{st['all']['agreement']:.2%}",
                "< 100 % (FFM global context)",
            )
            table.add_row(
                f"    within +-{band} px of tile borders / elsewhere",
                f"{st['border_band']['agreement']:.2%} / {st['elsewhere']['agreement']:.2%}",
                "border ~ elsewhere (no seams)" if int(overlap) else "(no blending: for contrast)",
            )
            table.add_row(
                "    mean |dlogit| border / elsewhere",
                f"{st['border_band']['mean_logit_diff']:.3f} / {st['elsewhere']['mean_logit_diff']:.3f}",
                "",
            )
        first = next(iter(b["overlaps"].values()))
        table.add_row(
            "(b) full pass: classes predicted / largest class share / median top-2 logit margin",
            f"{first['classes_predicted']} / {first['largest_class_fraction']:.0%} / "
            f"{first['median_top2_margin']:.3f}",
            "",
        )
        if b.get("png"):
            table.add_row("(b) |tiled - full| map", b["png"], "look for lines at tile borders")
    for row in report.get("memory", []):
        table.add_row(
            f"(c) {row['height']}x{row['width']} ({row['tiles']} tiles): peak RSS (VmHWM) - inputs - outputs",
            f"{row['working_set'] / MIB:.1f} MiB (peak {row['peak_rss'] / MIB:.0f}, "
            f"in {row['input_bytes'] / MIB:.0f}, out {row['output_bytes'] / MIB:.0f})",
            "about equal for every width",
        )
    Console(width=220).print(table)


def save_seam_png(maps: dict, stats: dict, tile: int, band: int, path: Path) -> Path:
    """One panel per overlap: (H, W) max |tiled - full| logit map on a shared colour scale, interior tile
    borders marked as ticks on the axes only (the map itself is left unmarked so seams show on their own)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from comix.atomic import atomic_path

    overlaps = list(maps)
    height, width = next(iter(maps.values())).shape
    vmax = float(max(np.percentile(m, 99.5) for m in maps.values())) or 1.0
    panel_width = min(14.0, max(6.0, width / 40))
    fig, axes = plt.subplots(
        len(overlaps),
        1,
        squeeze=False,
        layout="constrained",
        figsize=(panel_width + 1.5, len(overlaps) * (1.2 + panel_width * height / width)),
    )
    for axis, overlap in zip(axes[:, 0], overlaps):
        image = axis.imshow(maps[overlap], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        st = stats[overlap]
        axis.set_xticks(st["border_cols"])
        axis.set_yticks(st["border_rows"])
        axis.tick_params(labelsize=6, length=6, colors="tab:blue")
        axis.set_title(
            f"max over classes |tiled - full pass| logits: tile {tile}, overlap {overlap} "
            f"({'blended' if overlap else 'no blending'}), ticks = tile borders\nclass agreement "
            f"within +-{band} px of borders {st['border_band']['agreement']:.2%}, elsewhere "
            f"{st['elsewhere']['agreement']:.2%}",
            fontsize=8,
        )
        fig.colorbar(image, ax=axis, fraction=0.02, pad=0.01)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring); errors say what was got and what was expected."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--height", type=int, default=349)
    parser.add_argument("--width", type=int, default=1905)
    parser.add_argument("--bands", type=int, default=144)
    parser.add_argument("--seed", type=int, default=0, help="synthetic scene seed")
    parser.add_argument(
        "--checkpoint", type=Path, help="checkpoint folder (default: a fresh comix_t, see above)"
    )
    graph = parser.add_mutually_exclusive_group()
    graph.add_argument("--portable", dest="portable", action="store_true", default=None)
    graph.add_argument(
        "--canonical",
        dest="portable",
        action="store_false",
        help="default when the custom-op library is built, else --portable",
    )
    parser.add_argument(
        "--model", type=Path, help="use this exported .onnx (of --checkpoint) instead of exporting"
    )
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument(
        "--seam-width", type=int, default=512, help="width of the crop for check (b)"
    )
    parser.add_argument(
        "--band-px", type=int, default=8, help="half-width of the tile-border band in (b)"
    )
    parser.add_argument(
        "--seam-overlaps",
        type=int,
        nargs="*",
        help="overlaps compared in (b) (default: --overlap, 0)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the built checkpoint and exported model here (default: "
        "a temporary folder); reuse them with --checkpoint and --model",
    )
    parser.add_argument(
        "--memory-widths",
        type=int,
        nargs="*",
        help="scene widths for (c) (default: width/2, width)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and ORT intra-op threads (0 = library default)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["backends", "seams", "memory"])
    parser.add_argument(
        "--png",
        type=Path,
        help="|tiled - full| map of (b) (default: beside --output, or ./seams.png)",
    )
    parser.add_argument("--output", type=Path, help="write all results as JSON")
    args = parser.parse_args(argv)
    if args.checkpoint is None and args.model is not None:
        parser.error(
            "--model: got a model without --checkpoint, expected both (PyTorch needs the checkpoint)"
        )
    for name in ("height", "width", "bands", "tile", "batch", "seam_width", "band_px"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected >= 1")
    for overlap in [args.overlap] + list(args.seam_overlaps or []):
        if not 0 <= overlap < args.tile:
            parser.error(f"overlap: got {overlap}, expected 0 <= overlap < tile ({args.tile})")
    return args


def memory_child(argv) -> None:
    """Entry point of the child that :func:`measure_memory` starts: one JSON line with its result."""
    parser = argparse.ArgumentParser(description="memory child of tools/check_scene_inference.py")
    parser.add_argument("--memory-child", type=Path, required=True, help="folder: hsi.npy, x.npy")
    parser.add_argument("--model", type=Path, required=True)
    for name in ("tile", "overlap", "batch", "threads"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    result = child(args.memory_child, args.model, args.tile, args.overlap, args.batch, args.threads)
    print(json.dumps(result))


def main(argv=None) -> None:
    """Build or load the model, run the checks not in ``--skip``, print the table, write ``--output``."""
    args = parse_args(argv)
    import torch

    from comix.runtime import OnnxRuntimeBackend, TorchBackend, find_custom_op_library
    from comix.runtime.agreement import scene_agreement, seam_check

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model is not None:
        from comix.runtime.session import load_onnx, uses_custom_domain

        portable = not uses_custom_domain(load_onnx(args.model))
    else:
        portable = args.portable if args.portable is not None else find_custom_op_library() is None
    settings = {
        key: getattr(args, key)
        for key in (
            "height",
            "width",
            "bands",
            "seed",
            "tile",
            "overlap",
            "batch",
            "seam_width",
            "band_px",
            "threads",
        )
    }
    settings["graph"] = "portable" if portable else "canonical"
    command = ["python", "tools/check_scene_inference.py"] + (
        sys.argv[1:] if argv is None else list(argv)
    )
    report = {
        "machine": machine_info(args.threads),
        "settings": settings,
        "command": " ".join(command),
    }
    with tempfile.TemporaryDirectory(prefix="comix_scene_check_") as temp:
        workdir = Path(temp)
        keep = args.workdir or workdir
        keep.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        scene = make_scene(args.seed, args.height, args.width, args.bands)
        report["scene_seconds"] = time.perf_counter() - start
        hsi, x = scene["hsi"], scene["x"]
        checkpoint = args.checkpoint or build_checkpoint(keep / "comix_t", scene)
        model = args.model
        if model is None:
            model = keep / ("model.portable.onnx" if portable else "model.onnx")
            report["export_seconds"] = export_model(checkpoint, model, portable, args.tile)
        ort = OnnxRuntimeBackend(model, threads=args.threads)
        if "backends" not in args.skip:
            agreement = scene_agreement(
                ort,
                TorchBackend.from_checkpoint(checkpoint),
                hsi,
                x,
                args.tile,
                args.overlap,
                args.batch,
            )
            report["backends"] = {BACKEND_KEYS.get(k, k): v for k, v in agreement.items()}
        if "seams" not in args.skip:
            width = min(args.seam_width, args.width)
            overlaps = args.seam_overlaps
            if overlaps is None:
                overlaps = [args.overlap] + ([0] if args.overlap else [])
            stats, maps = seam_check(
                ort,
                hsi[:, :, :width],
                x[:, :, :width],
                args.tile,
                overlaps,
                args.batch,
                args.band_px,
            )
            png = args.png or (
                args.output.with_suffix(".seams.png") if args.output else Path("seams.png")
            )
            save_seam_png(maps, stats, args.tile, args.band_px, png)
            report["seams"] = {
                "height": args.height,
                "width": width,
                "png": str(png),
                "overlaps": {str(k): v for k, v in stats.items()},
            }
        if "memory" not in args.skip:
            widths = args.memory_widths or [args.width // 2, args.width]
            del ort
            report["memory"] = measure_memory(
                model, hsi, x, widths, args.tile, args.overlap, args.batch, args.threads, workdir
            )
    print_report(report)
    if args.output:
        from comix.atomic import atomic_path

        with atomic_path(args.output) as temporary:
            temporary.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    if "--memory-child" in sys.argv:
        memory_child(sys.argv[1:])
    else:
        main()
