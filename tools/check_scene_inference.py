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
    (``os.wait4``, also recorded) starts at this parent's peak on Linux, see ``tools/scene_memory.py``.

Where the code lives: the scene, model and export in ``tools/scene_inputs.py``; (a) and (b) in
``comix/runtime/agreement.py`` (tested); (c) in ``tools/scene_memory.py``; the table, machine and PNG in
``tools/scene_report.py``. This script only parses options and runs them.

Without ``--checkpoint``, a fresh comix_t is built with deforming offsets and non-trivial BatchNorm
statistics (as in ``tests/export/test_model_export.py``) and normalisation statistics measured on the scene
(per-band mean/std), then exported with ``comix.export.checkpoint.export_checkpoint`` (validated). The weights are
random, so the classes are not meaningful land cover; the checks are about numerics and tiling.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from scene_inputs import (
    build_checkpoint,
    export_model,
    make_scene,
)  # siblings in tools/ (light: numpy only)
from scene_memory import measure_memory
from scene_report import machine_info, print_report, save_seam_png

# (a)'s generic names -> the names this check's JSON and table have always used
BACKEND_KEYS = {"backend_seconds": "onnxruntime_seconds", "reference_seconds": "torch_seconds"}


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


def main(argv=None) -> None:
    """Build or load the model, run the checks not in ``--skip``, print the table, write ``--output``."""
    args = parse_args(argv)
    import torch

    from comix.runtime import OnnxRuntimeBackend, TorchBackend, find_custom_op_library
    from comix.runtime.agreement import compare_backends, seam_check

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
            agreement = compare_backends(
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
    main()
