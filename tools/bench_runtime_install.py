"""The Python runtime install (``pip install comix-deploy``, no extras): footprint, start-up and
memory, as a table.

    python tools/bench_runtime_install.py MODEL.onnx [--venv DIR] [--runs 7] [--threads 1] [--tile 128]
                                          [--library PATH/libcomix_ort_dcn.so] [--json out.json]

Installs this checkout without extras into a fresh virtual environment (or reuses ``--venv``), then measures
in fresh processes of that environment:

* installed size — every distribution pip installed (site-packages minus pip and setuptools, which any
  venv has), MiB, and the largest ones;
* ``comix --help`` — wall time, median of --runs;
* first tile — from the process start to the first logits of one tile of MODEL through the Python API
  (``comix.runtime.registry.open_backend`` + ``run``), median of --runs; and the same for ``comix infer``
  on a one-tile scene (wall time of the command);
* peak resident memory of the first-tile process (VmHWM), the largest over the runs;
* which heavy modules the run imported (torch, scipy, matplotlib, rasterio, ray, onnx): must be none.

The targets of issue 21 (comix_t, 144 bands + 1, one 128x128 tile, 1 thread: <= 200 MiB installed, <= 1.0 s
to the first tile, <= 150 MiB peak, ``--help`` <= 0.5 s) are printed beside the numbers, with the machine and
the load average before and after; on a shared machine, quote the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "scipy", "matplotlib", "rasterio", "ray", "onnx")
TARGETS = {"installed_mib": 200.0, "first_tile_s": 1.0, "peak_mib": 150.0, "help_s": 0.5}
BASE_PACKAGES = (
    "pip",
    "setuptools",
    "_distutils_hack",
    "distutils-precedence.pth",
    "pkg_resources",
)

FIRST_TILE = (
    f"HEAVY = {HEAVY!r}\n"
    + r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
from comix.runtime.registry import open_backend
backend = open_backend(sys.argv[1], threads=int(sys.argv[2]))
tile = int(sys.argv[3])
info = backend.info
rng = np.random.default_rng(0)
logits = backend.run(rng.random((1, info.bands, tile, tile), np.float32),
                     rng.random((1, info.x_channels, tile, tile), np.float32))
first = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
heavy = [m for m in HEAVY if m in sys.modules]
print(json.dumps({"in_process_s": first, "peak_mib": peak, "heavy": heavy, "shape": list(logits.shape)}))
"""
)


class BenchError(Exception):
    """A bad argument: one sentence, exit status 2."""


def make_venv(folder: Path) -> Path:
    """A fresh venv with this checkout installed without extras; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        check=True,
    )
    return python


def installed_size(python: Path) -> tuple[float, list[tuple[str, float]]]:
    """(MiB of what pip installed, [(largest top-level entries, MiB)])."""
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    sizes = {}
    for entry in site.iterdir():
        if entry.name.split("-")[0] in BASE_PACKAGES or entry.name.startswith(BASE_PACKAGES):
            continue
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(p.stat().st_size for p in files) / 2**20
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
    return sum(sizes.values()), largest


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def first_tile(python: Path, model: Path, threads: int, tile: int, env: dict) -> dict:
    """One fresh process: wall time to the first logits, and what it reports of itself."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(python), "-c", FIRST_TILE, str(model), str(threads), str(tile)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(
            f"first-tile process: got exit code {result.returncode}: {result.stderr[-300:]}"
        )
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "wall_s": wall}


def infer_wall(
    python: Path, model: Path, tile: int, threads: int, env: dict, folder: Path
) -> float:
    """Wall time of ``comix infer`` on a one-tile scene (inputs written as .npy first)."""
    script = (
        "import numpy as np, sys; from comix.runtime.registry import open_backend; "
        "i = open_backend(sys.argv[1]).info; r = np.random.default_rng(0); t = int(sys.argv[2]); "
        "np.save(sys.argv[3], r.random((t, t, i.bands), np.float32)); "
        "np.save(sys.argv[4], r.random((t, t, i.x_channels), np.float32))"
    )
    hsi, x = folder / "hsi.npy", folder / "x.npy"
    subprocess.run(
        [str(python), "-c", script, str(model), str(tile), str(hsi), str(x)], env=env, check=True
    )
    comix = python.parent / "comix"
    command = [
        str(comix),
        "infer",
        str(model),
        "--hsi",
        str(hsi),
        "--x",
        str(x),
        "-o",
        str(folder / "seg.npy"),
        "--tile",
        str(tile),
        "--threads",
        str(threads),
        "--quiet",
    ]
    return timed(command, env)


def main(argv=None) -> dict:
    # the summary is the docstring's first paragraph (wrapped over two lines)
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n", 1)[0].split()))
    parser.add_argument("model", type=Path)
    parser.add_argument("--venv", type=Path, default=None, help="reuse this runtime venv")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--library", type=Path, default=None, help="our ONNX Runtime op library")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        raise BenchError(f"model {args.model}: got no such file, expected an exported .onnx")
    if args.runs < 1:
        raise BenchError(f"--runs: got {args.runs}, expected >= 1")
    load_before = os.getloadavg()
    env = dict(os.environ)
    library = args.library or ROOT / "plugins" / "build" / "onnxruntime" / "libcomix_ort_dcn.so"
    if library.is_file():
        env["COMIX_ORT_LIBRARY"] = str(library.resolve())
    with tempfile.TemporaryDirectory(prefix="comix-runtime-") as scratch:
        folder = Path(scratch)
        if args.venv is not None:
            python = args.venv / "bin" / "python"
        else:
            print("installing the runtime into a fresh venv ...", file=sys.stderr)
            python = make_venv(folder / "venv")
        size, largest = installed_size(python)
        comix = python.parent / "comix"
        helps = [timed([str(comix), "--help"], env) for _ in range(args.runs)]
        firsts = [
            first_tile(python, args.model, args.threads, args.tile, env) for _ in range(args.runs)
        ]
        infers = [
            infer_wall(python, args.model, args.tile, args.threads, env, folder) for _ in range(3)
        ]
    result = {
        "model": str(args.model),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "installed_mib": size,
        "largest": largest,
        "help_s": statistics.median(helps),
        "first_tile_wall_s": statistics.median(f["wall_s"] for f in firsts),
        "first_tile_in_process_s": statistics.median(f["in_process_s"] for f in firsts),
        "infer_one_tile_wall_s": statistics.median(infers),
        "peak_mib": max(f["peak_mib"] for f in firsts),
        "heavy_modules": sorted({m for f in firsts for m in f["heavy"]}),
        "targets": TARGETS,
    }
    print_table(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return result


def print_table(result: dict) -> None:
    rows = [
        ("installed (MiB)", f"{result['installed_mib']:.1f}", f"<= {TARGETS['installed_mib']:.0f}"),
        ("comix --help (s, median)", f"{result['help_s']:.3f}", f"<= {TARGETS['help_s']}"),
        (
            "process start -> first logits (s, median)",
            f"{result['first_tile_wall_s']:.3f}",
            f"<= {TARGETS['first_tile_s']}",
        ),
        ("  of which in Python, import -> logits", f"{result['first_tile_in_process_s']:.3f}", ""),
        (
            "comix infer, one tile (s, wall, median of 3)",
            f"{result['infer_one_tile_wall_s']:.3f}",
            "",
        ),
        ("peak RSS (MiB)", f"{result['peak_mib']:.1f}", f"<= {TARGETS['peak_mib']:.0f}"),
        ("heavy modules imported", ", ".join(result["heavy_modules"]) or "none", "none"),
    ]
    print(
        f"model {result['model']}; {result['machine']}; Python {result['python']}; load "
        f"{result['load_average']['before'][0]:.2f} -> {result['load_average']['after'][0]:.2f}"
    )
    print("| measure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    print("largest: " + ", ".join(f"{name} {mib:.1f}" for name, mib in result["largest"]))


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
