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
    (``os.wait4``, also recorded) starts at this parent's peak on Linux, see ``peak_rss_of_this_process``.

Without ``--checkpoint``, a fresh comix_t is built with deforming offsets and non-trivial BatchNorm
statistics (as in ``tests/export/test_model_export.py``) and normalisation statistics measured on the scene
(per-band mean/std), then exported with ``comix.export.checkpoint.export_checkpoint`` (validated). The weights are
random, so the classes are not meaningful land cover; the checks are about numerics and tiling.
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


MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------------- inputs
def make_scene(seed: int, height: int, width: int, bands: int) -> dict:
    """Houston-like synthetic scene: {"hsi": (bands, H, W) float32, "x": (1, H, W) float32 DSM,
    "class_names": K names, "wavelengths_nm": (bands,)}. 144 bands = the preset's 364-1046 nm sensor;
    another count spreads that many bands evenly over the same range."""
    from comix.data.synthetic import houston_like
    from comix.data.synthetic.spectral_library import houston_wavelengths

    wavelengths = houston_wavelengths()
    if bands != len(wavelengths):
        wavelengths = np.linspace(float(wavelengths[0]), float(wavelengths[-1]), bands)
    scene = houston_like(seed=seed, height=height, width=width, wavelengths_nm=wavelengths).scene
    return {"hsi": scene.hsi, "x": scene.x, "class_names": list(scene.class_names),
            "wavelengths_nm": [float(w) for w in scene.wavelengths_nm]}


def build_checkpoint(folder: Path, scene: dict, seed: int = 0) -> Path:
    """Save a fresh comix_t for ``scene`` (bands, X channels and classes from it) under ``folder``:
    offset convs N(0, 0.05^2) so the DCNs really deform, BatchNorm running mean N(0, 0.1^2) and variance
    U(0.5, 1.5), and per-band / per-channel normalisation mean and std measured on the scene."""
    import torch

    from comix.model import build_model, save_checkpoint
    from comix.export.testing import deform_for_parity

    hsi, x = scene["hsi"], scene["x"]
    torch.manual_seed(seed)
    model = build_model("comix_t", bands=hsi.shape[0], x_channels=x.shape[0], classes=len(scene["class_names"]))
    deform_for_parity(model, seed=seed + 1)
    hsi_std = np.maximum(hsi.std(axis=(1, 2), dtype=np.float64), 1e-6)
    x_std = np.maximum(x.std(axis=(1, 2), dtype=np.float64), 1e-6)
    model.set_normalization(hsi.mean(axis=(1, 2), dtype=np.float64).tolist(), hsi_std.tolist(),
                            x.mean(axis=(1, 2), dtype=np.float64).tolist(), x_std.tolist())
    save_checkpoint(model.eval(), folder, variant="comix_t", class_names=scene["class_names"],
                    band_wavelengths_nm=scene["wavelengths_nm"])
    return folder


def export_model(checkpoint: Path, output: Path, portable: bool, tile: int) -> float:
    """Dynamic, validated export of ``checkpoint`` to ``output``; seconds taken."""
    from comix.export.checkpoint import ExportOptions, export_checkpoint

    start = time.perf_counter()
    export_checkpoint(checkpoint, output, ExportOptions(portable=portable, tile=(tile, tile)))
    return time.perf_counter() - start


# ----------------------------------------------------------------------------------------- (a) backends
def compare_backends(ort_backend, torch_backend, hsi: np.ndarray, x: np.ndarray, tile: int, overlap: int,
                     batch: int) -> dict:
    """Same tiling through both backends on hsi (bands, H, W), x (C, H, W): differing class pixels, max abs
    logit difference, tiles and seconds of each run."""
    from comix.runtime import SlidingWindow

    got = SlidingWindow(ort_backend, tile, overlap, batch)(hsi, x)
    want = SlidingWindow(torch_backend, tile, overlap, batch)(hsi, x)
    if got.logits.shape != want.logits.shape:
        raise RuntimeError(f"logits: got ONNX Runtime {got.logits.shape}, expected PyTorch's {want.logits.shape}")
    return {"pixels": int(got.classes.size), "differing_pixels": int((got.classes != want.classes).sum()),
            "max_abs_logit_diff": float(np.abs(got.logits - want.logits).max()), "tiles": got.tiles,
            "onnxruntime_seconds": got.seconds, "torch_seconds": want.seconds}


# -------------------------------------------------------------------------------------------- (b) seams
def border_lines(height: int, width: int, tile: int, overlap: int) -> tuple[list[int], list[int]]:
    """Interior tile borders of the grid SlidingWindow uses: (row boundaries, column boundaries), each the
    index of the first pixel after a border (a tile's start > 0 or its end < the scene size)."""
    from comix.runtime import TileGrid

    th, tw = min(tile, height), min(tile, width)
    grid = TileGrid(height, width, th, tw, min(overlap, max(0, min(th, tw) - 1)))
    rows = sorted({r for r in grid.rows if r > 0} | {r + th for r in grid.rows if r + th < height})
    cols = sorted({c for c in grid.cols if c > 0} | {c + tw for c in grid.cols if c + tw < width})
    return rows, cols


def border_band(height: int, width: int, rows: list[int], cols: list[int], band: int) -> np.ndarray:
    """(H, W) bool: pixels within ``band`` pixels of a border line (``line - band <= i < line + band``)."""
    near_row = np.zeros(height, dtype=bool)
    near_col = np.zeros(width, dtype=bool)
    for line in rows:
        near_row[max(0, line - band):line + band] = True
    for line in cols:
        near_col[max(0, line - band):line + band] = True
    return near_row[:, None] | near_col[None, :]


def region_stats(agree: np.ndarray, diff: np.ndarray, mask: np.ndarray) -> dict:
    """Class agreement and logit difference (mean, 99th percentile) over the pixels of (H, W) ``mask``."""
    if not mask.any():
        return {"pixels": 0, "agreement": float("nan"), "mean_logit_diff": float("nan"), "p99_logit_diff": float("nan")}
    return {"pixels": int(mask.sum()), "agreement": float(agree[mask].mean()),
            "mean_logit_diff": float(diff[mask].mean()), "p99_logit_diff": float(np.percentile(diff[mask], 99))}


def seam_check(backend, hsi: np.ndarray, x: np.ndarray, tile: int, overlaps: list[int], batch: int,
               band: int) -> tuple[dict, dict]:
    """One full pass of hsi (bands, H, W), x (C, H, W) vs the tiled result for each overlap.

    Returns ({overlap: stats}, {overlap: (H, W) float32 max-over-classes |tiled - full| logits}); stats
    has overall / border-band / elsewhere agreement and logit differences, the border lines, and for context
    how many classes the full pass predicts, the share of the largest, and the median top-2 logit margin
    (the smaller it is, the more easily a small logit difference flips a class)."""
    from comix.runtime import SlidingWindow
    from comix.runtime.sliding_window import label_raster

    height, width = hsi.shape[1:]
    start = time.perf_counter()
    full = backend.run(hsi[None], x[None])[0]  # (K, H, W)
    full_seconds = time.perf_counter() - start
    full_classes = label_raster(full)
    top2 = np.sort(full, axis=0)[-2:]
    context = {"full_pass_seconds": full_seconds, "classes_predicted": int(np.unique(full_classes).size),
               "largest_class_fraction": float(np.bincount(full_classes.ravel()).max() / full_classes.size),
               "median_top2_margin": float(np.median(top2[1] - top2[0]))}
    stats, maps = {}, {}
    for overlap in overlaps:
        tiled = SlidingWindow(backend, tile, overlap, batch)(hsi, x)
        diff = np.abs(tiled.logits - full).max(axis=0)
        agree = tiled.classes == full_classes
        rows, cols = border_lines(height, width, tile, overlap)
        near = border_band(height, width, rows, cols, band)
        stats[overlap] = {"tiles": tiled.tiles, "border_rows": rows, "border_cols": cols, **context,
                          "all": region_stats(agree, diff, np.ones_like(near)),
                          "border_band": region_stats(agree, diff, near), "elsewhere": region_stats(agree, diff, ~near)}
        maps[overlap] = diff
    return stats, maps


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
    fig, axes = plt.subplots(len(overlaps), 1, squeeze=False, layout="constrained",
                             figsize=(panel_width + 1.5, len(overlaps) * (1.2 + panel_width * height / width)))
    for axis, overlap in zip(axes[:, 0], overlaps):
        image = axis.imshow(maps[overlap], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        st = stats[overlap]
        axis.set_xticks(st["border_cols"])
        axis.set_yticks(st["border_rows"])
        axis.tick_params(labelsize=6, length=6, colors="tab:blue")
        axis.set_title(f"max over classes |tiled - full pass| logits: tile {tile}, overlap {overlap} "
                       f"({'blended' if overlap else 'no blending'}), ticks = tile borders\nclass agreement "
                       f"within +-{band} px of borders {st['border_band']['agreement']:.2%}, elsewhere "
                       f"{st['elsewhere']['agreement']:.2%}", fontsize=8)
        fig.colorbar(image, ax=axis, fraction=0.02, pad=0.01)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------- (c) memory
def peak_rss_of_this_process() -> int:
    """Bytes: the high-water mark of this process's own address space (``VmHWM`` in /proc/self/status).

    Not ``ru_maxrss``: Linux carries the spawning parent's peak RSS into a child's ``ru_maxrss`` at exec
    (measured here: a child of a parent holding 500 MiB reports 527 MiB, VmHWM 13 MiB), so ``ru_maxrss`` of a
    child started by this (large) parent would report the parent's peak for every scene size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status: got no VmHWM line, expected Linux procfs")


def memory_child(args: argparse.Namespace) -> None:
    """Child mode: load hsi/x .npy files, ORT sliding-window inference, print one JSON line with the bytes
    of inputs and outputs and this process's peak RSS (VmHWM) before and after inference."""
    from comix.runtime import OnnxRuntimeBackend, SlidingWindow

    folder = Path(args.memory_child)
    hsi, x = np.load(folder / "hsi.npy"), np.load(folder / "x.npy")
    backend = OnnxRuntimeBackend(args.model, threads=args.threads)
    before = peak_rss_of_this_process()
    result = SlidingWindow(backend, args.tile, args.overlap, args.batch)(hsi, x)
    print(json.dumps({"height": hsi.shape[1], "width": hsi.shape[2], "tiles": result.tiles,
                      "seconds": result.seconds, "input_bytes": hsi.nbytes + x.nbytes,
                      "output_bytes": result.logits.nbytes + result.classes.nbytes,
                      "peak_rss_before_inference": before, "peak_rss": peak_rss_of_this_process(),
                      "ru_maxrss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def measure_memory(model: Path, hsi: np.ndarray, x: np.ndarray, widths: list[int], args: argparse.Namespace,
                   workdir: Path) -> list[dict]:
    """For each width, run the child on the first ``width`` columns of hsi (bands, H, W), x (C, H, W):
    working set = the child's peak RSS (VmHWM) - input bytes - output bytes. ``ru_maxrss`` from
    ``os.wait4`` is kept in the row as ``ru_maxrss_wait4`` (it includes this parent's peak; see
    :func:`peak_rss_of_this_process`)."""
    rows = []
    for width in widths:
        if not 1 <= width <= hsi.shape[2]:
            raise ValueError(f"--memory-widths: got {width}, expected 1..{hsi.shape[2]} (the scene width)")
        folder = workdir / f"memory_{width}"
        folder.mkdir()
        np.save(folder / "hsi.npy", np.ascontiguousarray(hsi[:, :, :width]))
        np.save(folder / "x.npy", np.ascontiguousarray(x[:, :, :width]))
        command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(folder), "--model", str(model),
                   "--tile", str(args.tile), "--overlap", str(args.overlap), "--batch", str(args.batch),
                   "--threads", str(args.threads)]
        with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"memory child (width {width}): got exit code {process.returncode}, expected 0; "
                               f"stderr: {(folder / 'stderr.txt').read_text()[-2000:]}")
        row = json.loads((folder / "stdout.txt").read_text().strip().splitlines()[-1])
        row["ru_maxrss_wait4"] = usage.ru_maxrss * 1024  # Linux reports KiB
        row["working_set"] = row["peak_rss"] - row["input_bytes"] - row["output_bytes"]
        row["inference_growth"] = row["peak_rss"] - row["peak_rss_before_inference"] - row["output_bytes"]
        rows.append(row)
        for name in ("hsi.npy", "x.npy"):
            (folder / name).unlink()
    return rows


# ------------------------------------------------------------------------------------------------ report
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
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "threads": threads or "library default",
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def print_report(report: dict) -> None:
    """All results as one rich table (section, check, value, expected)."""
    from rich.console import Console
    from rich.table import Table

    m, s = report["machine"], report["settings"]
    table = Table(title=f"Scene-scale checks: {s['height']}x{s['width']} x {s['bands']} bands + DSM, "
                        f"{s['graph']} graph, tile {s['tile']}, overlap {s['overlap']}, batch {s['batch']} | "
                        f"{m['cpu']}, {m['logical_cores']} logical cores, {m['threads']} thread(s), "
                        f"torch {m['torch']}, "
                        f"onnxruntime {m['onnxruntime']}")
    for column in ("check", "measured", "expected"):
        table.add_column(column)
    if "export_seconds" in report:
        table.add_row("export (dynamic, validated)", f"{report['export_seconds']:.0f} s", "")
    a = report.get("backends")
    if a:
        table.add_row(f"(a) ORT vs PyTorch, {a['tiles']} tiles: pixels with different class",
                      f"{a['differing_pixels']} of {a['pixels']}", "0")
        table.add_row("(a) ORT vs PyTorch: max abs logit difference", f"{a['max_abs_logit_diff']:.2e}", "<= 1e-4")
        table.add_row("(a) seconds ORT / PyTorch", f"{a['onnxruntime_seconds']:.1f} / {a['torch_seconds']:.1f}", "")
    b = report.get("seams")
    if b:
        band = s["band_px"]
        for overlap, st in b["overlaps"].items():
            label = f"(b) {b['height']}x{b['width']} tiled (overlap {overlap}, {st['tiles']} tiles) vs one full pass"
            table.add_row(f"{label}: class agreement all", f"{st['all']['agreement']:.2%}",
                          "< 100 % (FFM global context)")
            table.add_row(f"    within +-{band} px of tile borders / elsewhere",
                          f"{st['border_band']['agreement']:.2%} / {st['elsewhere']['agreement']:.2%}",
                          "border ~ elsewhere (no seams)" if int(overlap) else "(no blending: for contrast)")
            table.add_row("    mean |dlogit| border / elsewhere",
                          f"{st['border_band']['mean_logit_diff']:.3f} / {st['elsewhere']['mean_logit_diff']:.3f}", "")
        first = next(iter(b["overlaps"].values()))
        table.add_row("(b) full pass: classes predicted / largest class share / median top-2 logit margin",
                      f"{first['classes_predicted']} / {first['largest_class_fraction']:.0%} / "
                      f"{first['median_top2_margin']:.3f}", "")
        if b.get("png"):
            table.add_row("(b) |tiled - full| map", b["png"], "look for lines at tile borders")
    for row in report.get("memory", []):
        table.add_row(f"(c) {row['height']}x{row['width']} ({row['tiles']} tiles): peak RSS (VmHWM) - inputs - outputs",
                      f"{row['working_set'] / MIB:.1f} MiB (peak {row['peak_rss'] / MIB:.0f}, "
                      f"in {row['input_bytes'] / MIB:.0f}, out {row['output_bytes'] / MIB:.0f})",
                      "about equal for every width")
    Console(width=220).print(table)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring); errors say what was got and what was expected."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--height", type=int, default=349)
    parser.add_argument("--width", type=int, default=1905)
    parser.add_argument("--bands", type=int, default=144)
    parser.add_argument("--seed", type=int, default=0, help="synthetic scene seed")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: a fresh comix_t, see above)")
    graph = parser.add_mutually_exclusive_group()
    graph.add_argument("--portable", dest="portable", action="store_true", default=None)
    graph.add_argument("--canonical", dest="portable", action="store_false",
                       help="default when the custom-op library is built, else --portable")
    parser.add_argument("--model", type=Path, help="use this exported .onnx (of --checkpoint) instead of exporting")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seam-width", type=int, default=512, help="width of the crop for check (b)")
    parser.add_argument("--band-px", type=int, default=8, help="half-width of the tile-border band in (b)")
    parser.add_argument("--seam-overlaps", type=int, nargs="*", help="overlaps compared in (b) (default: --overlap, 0)")
    parser.add_argument("--workdir", type=Path, help="keep the built checkpoint and exported model here (default: "
                                                     "a temporary folder); reuse them with --checkpoint and --model")
    parser.add_argument("--memory-widths", type=int, nargs="*", help="scene widths for (c) (default: width/2, width)")
    parser.add_argument("--threads", type=int, default=1, help="torch and ORT intra-op threads (0 = library default)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["backends", "seams", "memory"])
    parser.add_argument("--png", type=Path, help="|tiled - full| map of (b) (default: beside --output, or ./seams.png)")
    parser.add_argument("--output", type=Path, help="write all results as JSON")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.checkpoint is None and args.model is not None and not args.memory_child:
        parser.error("--model: got a model without --checkpoint, expected both (PyTorch needs the checkpoint)")
    for name in ("height", "width", "bands", "tile", "batch", "seam_width", "band_px"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected >= 1")
    for overlap in [args.overlap] + list(args.seam_overlaps or []):
        if not 0 <= overlap < args.tile:
            parser.error(f"overlap: got {overlap}, expected 0 <= overlap < tile ({args.tile})")
    return args


def main(argv=None) -> None:
    """Build or load the model, run the checks not in ``--skip``, print the table, write ``--output``."""
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args)
        return
    import torch

    from comix.runtime import OnnxRuntimeBackend, TorchBackend, find_custom_op_library

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model is not None:
        from comix.runtime.session import load_onnx, uses_custom_domain

        portable = not uses_custom_domain(load_onnx(args.model))
    else:
        portable = args.portable if args.portable is not None else find_custom_op_library() is None
    settings = {key: getattr(args, key) for key in ("height", "width", "bands", "seed", "tile", "overlap", "batch",
                                                    "seam_width", "band_px", "threads")}
    settings["graph"] = "portable" if portable else "canonical"
    command = ["python", "tools/check_scene_inference.py"] + (sys.argv[1:] if argv is None else list(argv))
    report = {"machine": machine_info(args.threads), "settings": settings, "command": " ".join(command)}
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
            report["backends"] = compare_backends(ort, TorchBackend.from_checkpoint(checkpoint), hsi, x, args.tile,
                                                  args.overlap, args.batch)
        if "seams" not in args.skip:
            width = min(args.seam_width, args.width)
            overlaps = args.seam_overlaps
            if overlaps is None:
                overlaps = [args.overlap] + ([0] if args.overlap else [])
            stats, maps = seam_check(ort, hsi[:, :, :width], x[:, :, :width], args.tile, overlaps, args.batch,
                                     args.band_px)
            png = args.png or (args.output.with_suffix(".seams.png") if args.output else Path("seams.png"))
            save_seam_png(maps, stats, args.tile, args.band_px, png)
            report["seams"] = {"height": args.height, "width": width, "png": str(png),
                               "overlaps": {str(k): v for k, v in stats.items()}}
        if "memory" not in args.skip:
            widths = args.memory_widths or [args.width // 2, args.width]
            del ort
            report["memory"] = measure_memory(model, hsi, x, widths, args, workdir)
    print_report(report)
    if args.output:
        from comix.atomic import atomic_path

        with atomic_path(args.output) as temporary:
            temporary.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
