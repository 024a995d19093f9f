"""Check (c) of ``tools/check_scene_inference.py``: working memory of whole-scene ONNX Runtime inference.

For each scene width, this file runs as a child process (``python tools/scene_memory.py --child FOLDER
...``) on the first ``width`` columns of the scene: ONNX Runtime sliding-window inference, then one JSON
line with the bytes of its inputs and outputs (hsi, x, logits, classes) and its peak RSS. The working set
is peak RSS minus those bytes; it should not grow with the scene. Peak RSS is the child's own VmHWM: its
``ru_maxrss`` (``os.wait4``, also recorded) starts at the parent's peak on Linux, see
:func:`peak_rss_of_this_process`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np


def peak_rss_of_this_process() -> int:
    """Bytes: the high-water mark of this process's own address space (``VmHWM`` in /proc/self/status).

    Not ``ru_maxrss``: Linux carries the spawning parent's peak RSS into a child's ``ru_maxrss`` at exec
    (measured here: a child of a parent holding 500 MiB reports 527 MiB, VmHWM 13 MiB), so ``ru_maxrss`` of a
    child started by this (large) parent would report the parent's peak for every scene size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status: got no VmHWM line, expected Linux procfs")


def child(folder: Path, model: Path, tile: int, overlap: int, batch: int, threads: int) -> dict:
    """Child mode: load hsi/x .npy files from ``folder``, ORT sliding-window inference; the bytes of inputs
    and outputs and this process's peak RSS (VmHWM) before and after inference."""
    from comix.runtime import OnnxRuntimeBackend, SlidingWindow

    hsi, x = np.load(folder / "hsi.npy"), np.load(folder / "x.npy")
    backend = OnnxRuntimeBackend(model, threads=threads)
    before = peak_rss_of_this_process()
    result = SlidingWindow(backend, tile, overlap, batch)(hsi, x)
    return {
        "height": hsi.shape[1],
        "width": hsi.shape[2],
        "tiles": result.tiles,
        "seconds": result.seconds,
        "input_bytes": hsi.nbytes + x.nbytes,
        "output_bytes": result.logits.nbytes + result.classes.nbytes,
        "peak_rss_before_inference": before,
        "peak_rss": peak_rss_of_this_process(),
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
    :func:`peak_rss_of_this_process`)."""
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
            "--child",
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


def main(argv=None) -> None:
    """Child entry point (started by :func:`measure_memory`): print the child's result as one JSON line."""
    parser = argparse.ArgumentParser(description="memory child of tools/check_scene_inference.py")
    parser.add_argument("--child", type=Path, required=True, help="folder with hsi.npy and x.npy")
    parser.add_argument("--model", type=Path, required=True)
    for name in ("tile", "overlap", "batch", "threads"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    print(
        json.dumps(child(args.child, args.model, args.tile, args.overlap, args.batch, args.threads))
    )


if __name__ == "__main__":
    main()
