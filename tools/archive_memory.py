"""Peak memory of streamed whole-scene inference at 1x, 4x and 16x a Houston-sized scene.

    python tools/archive_memory.py --threads 1 --workdir /tmp/archive_memory --output memory.json \
        --png memory.png

The 1x scene is ``houston_like(seed=0)`` (349 x 1905, 144 bands + DSM). The Nx scenes are sqrt(N) x sqrt(N)
mosaics of it (mirrored copies, so the mosaic is continuous), written to GeoTIFF window by window (never
whole in memory; uncompressed, tiled 256 px, as big rasters are stored). Each scene is segmented in a
child process (``--child``) through :func:`comix.runtime.segment.segment_source` exactly as ``comix infer``
does (products written block by block); the child reports its own peak RSS (VmHWM; see
:func:`comix.profile.memory.peak_rss_bytes` for why not ``ru_maxrss``). The 1x classes are compared
with the in-memory path (``SlidingWindow`` on the arrays). Prints a table; writes JSON and a PNG of
peak RSS against scene size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_mosaic(path: Path, cube: np.ndarray, factor: int, georef) -> None:
    """Write a (C, f*H, f*W) mosaic of ``cube`` (mirrored copies) to ``path``, one block row at a time."""
    from comix.data.geotiff_io import GeoTiffBlockWriter

    channels, height, width = cube.shape
    writer = GeoTiffBlockWriter(
        path, channels, factor * height, factor * width, cube.dtype, georef, compress=None
    )
    try:
        for block_row in range(factor):
            rows = cube if block_row % 2 == 0 else cube[:, ::-1]
            strip = np.concatenate(
                [rows if c % 2 == 0 else rows[:, :, ::-1] for c in range(factor)], axis=2
            )
            writer.write(block_row * height, np.ascontiguousarray(strip))
            del strip
    finally:
        writer.close()


def child(hsi: Path, x: Path, model: Path, output: Path, threads: int, batch: int) -> dict:
    from comix.profile.memory import peak_rss_bytes
    from comix.runtime.segment import open_backend, open_scene, segment_source

    backend = open_backend(model, threads=threads)
    before = peak_rss_bytes()
    start = time.perf_counter()
    with open_scene(hsi, x) as source:
        run = segment_source(backend, source, output, batch=batch)
    return {
        "height": run.summary["scene"]["height"],
        "width": run.summary["scene"]["width"],
        "tiles": run.stats.tiles,
        "strips": run.stats.strips,
        "boundary_tiles": run.stats.boundary_tiles,
        "seconds": time.perf_counter() - start,
        "blending_band_bytes": run.stats.band_bytes,
        "peak_rss_before_inference": before,
        "peak_rss": peak_rss_bytes(),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        help="exported .onnx (default: a fresh comix_t for the scene, exported)",
    )
    parser.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="scene sizes, multiples of 1x (perfect squares)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/archive_memory"))
    parser.add_argument("--output", type=Path, default=Path("archive_memory.json"))
    parser.add_argument("--png", type=Path, default=Path("archive_memory.png"))
    parser.add_argument("--keep", action="store_true", help="keep the written scenes")
    parser.add_argument(
        "--child", nargs=4, type=Path, metavar=("HSI", "X", "MODEL", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.threads, args.batch)))
        return
    from comix.data.synthetic import houston_like
    from comix.runtime import OnnxRuntimeBackend, SlidingWindow

    args.workdir.mkdir(parents=True, exist_ok=True)
    scene = houston_like(seed=0).scene
    model = args.model
    if model is None:
        from comix.export.scene_fixtures import build_checkpoint, export_model
        from comix.runtime import find_custom_op_library

        data = {
            "hsi": scene.hsi,
            "x": scene.x,
            "class_names": list(scene.class_names),
            "wavelengths_nm": [float(w) for w in scene.wavelengths_nm],
        }
        build_checkpoint(args.workdir / "checkpoint", data)
        model = args.workdir / "model.onnx"
        export_model(args.workdir / "checkpoint", model, find_custom_op_library() is None, 128)
    rows = []
    for factor in args.scales:
        side = int(round(factor**0.5))
        if side * side != factor:
            raise SystemExit(f"--scales: got {factor}, expected a perfect square (1, 4, 9, 16 ...)")
        folder = args.workdir / f"x{factor}"
        folder.mkdir(exist_ok=True)
        hsi_path, x_path = folder / "hsi.tif", folder / "x.tif"
        start = time.perf_counter()
        if not hsi_path.is_file():
            write_mosaic(hsi_path, scene.hsi, side, scene.georef)
            write_mosaic(x_path, scene.x, side, scene.georef)
        write_seconds = time.perf_counter() - start
        out = folder / "seg.tif"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--threads",
            str(args.threads),
            "--child",
            str(hsi_path),
            str(x_path),
            str(model),
            str(out),
        ]
        if args.batch:
            command[2:2] = ["--batch", str(args.batch)]
        load_before = os.getloadavg()[0]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"child x{factor}: exit {result.returncode}: {result.stderr[-3000:]}")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        row.update(
            factor=factor,
            input_bytes=hsi_path.stat().st_size + x_path.stat().st_size,
            write_seconds=write_seconds,
            load_average=[load_before, os.getloadavg()[0]],
        )
        if factor == 1:
            backend = OnnxRuntimeBackend(model, threads=args.threads)
            in_memory = SlidingWindow(backend, batch=args.batch)(scene.hsi, scene.x).classes
            streamed = np.load(folder / "seg.npy")
            row["differing_classes_vs_in_memory"] = int((in_memory != streamed).sum())
        rows.append(row)
        print(
            f"x{factor:<3} {row['height']} x {row['width']}: input {row['input_bytes'] / 2**30:.2f} GiB, "
            f"{row['tiles']} tiles ({row['strips']} strips, {row['boundary_tiles']} run twice) "
            f"in {row['seconds']:.0f} s (load {row['load_average'][0]:.1f} -> "
            f"{row['load_average'][1]:.1f}), peak RSS {row['peak_rss'] / 2**20:.0f} MiB "
            f"(before inference {row['peak_rss_before_inference'] / 2**20:.0f} MiB), blending band "
            f"{row['blending_band_bytes'] / 2**20:.1f} MiB",
            flush=True,
        )
        if not args.keep and factor != 1:
            for path in (hsi_path, x_path):
                path.unlink()
    base = rows[0]["peak_rss"]
    print(
        "\n| scene | H x W | input on disk | tiles (strips, run twice) | seconds | load | peak RSS | vs 1x | "
        "blending band |\n|---|---|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {row['factor']}x | {row['height']} x {row['width']} | {row['input_bytes'] / 2**30:.2f} GiB | "
            f"{row['tiles']} ({row['strips']}, {row['boundary_tiles']}) | {row['seconds']:.0f} | "
            f"{row['load_average'][0]:.0f}-{row['load_average'][1]:.0f} | "
            f"{row['peak_rss'] / 2**20:.0f} MiB | "
            f"{100 * (row['peak_rss'] / base - 1):+.1f} % | {row['blending_band_bytes'] / 2**20:.1f} MiB |"
        )
    document = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "model": str(model),
        "threads": args.threads,
        "rows": rows,
    }
    args.output.write_text(json.dumps(document, indent=2))
    _plot(rows, args.png)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    sizes = [row["input_bytes"] / 2**30 for row in rows]
    ax.plot(sizes, [row["peak_rss"] / 2**20 for row in rows], "o-", label="peak RSS (streamed)")
    ax.plot(
        sizes,
        [row["peak_rss_before_inference"] / 2**20 for row in rows],
        "s--",
        label="after loading the model",
    )
    for size, row in zip(sizes, rows):
        ax.annotate(
            f"{row['factor']}x",
            (size, row["peak_rss"] / 2**20),
            textcoords="offset points",
            xytext=(4, 6),
        )
    ax.set_xscale("log")
    ax.set_xlabel("scene on disk (GiB, HSI + DSM)")
    ax.set_ylabel("MiB")
    ax.set_ylim(0, max(row["peak_rss"] for row in rows) / 2**20 * 1.3)
    ax.set_title("comix infer: peak memory vs scene size")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
