"""The benchmark suite, one command, side by side in one run, with the machine it ran on.

    python tools/bench.py --threads 1 [--checkpoint runs/demo/checkpoint]
                          [--scene runs/demo/scene/dataset.yaml] [--no-compile]
                          [--variants comix_t comix_s] [--rounds 15] [--workdir runs/bench]
                          [--sections models dcn gpu] [--dcn-threads 1 2] [--scene-check]
                          [--json bench.json] [--markdown bench.md]

Sections (each prints a Markdown table; --json writes every number, samples included):

* **models** — per variant, on the same tiles (batch 1, --tile, 144 bands + 1 X channel): PyTorch eager
  FP32 and ``torch.compile`` (Inductor, default mode; compiled on the first tile, minutes on a small CPU:
  --no-compile skips it) against ONNX Runtime FP32 on the canonical graph (our custom-op library) and the
  --portable graph,
  plus any other ``<workdir>/<variant>.*.onnx`` (e.g. the INT8/FP16 graphs of ``comix calibrate``). comix_t
  uses --checkpoint when given (trained weights), every other variant fresh weights with deforming offsets
  (latency barely depends on the values). The graphs are exported into --workdir once and reused while the
  weights and the export code are unchanged. Each row: median and interquartile range of wall and thread
  CPU time, the ratio to PyTorch eager, the logit difference and class agreement on the tiles; the canonical
  row adds the fraction of the core's FP32 peak. --scene-check also segments the whole --scene with every
  graph and with PyTorch and counts the pixels whose class differs.
* **dcn** — the deformable ops against a plain convolution of the same shape: 3-D (C=32->32, D=H=W=32,
  3x3x3, pad 1) ours vs PyTorch Conv3d (and the portable lowering, PyTorch eager), for each --dcn-threads;
  2-D (C=64->64, 64x64, 3x3) ONNX Runtime's DeformConv vs ours vs Conv2d.
* **gpu** — on a CUDA GPU, tools/bench_gpu_dcn.py (our kernels against the PyTorch implementation);
  otherwise the section says why it was skipped.

Runs are interleaved round by round so load from other processes falls on every implementation alike.
On a shared machine use --threads 1 and read the CPU-time columns (time the scheduler gave elsewhere is
not counted); the ratios, measured in the same rounds, are the numbers to compare across machines.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from comix import __version__
from comix.errors import ComixError
from comix.hashing import file_sha256
from comix.profile.machine import describe, machine_record
from comix.profile.peak import core_peak, fraction_of_peak
from comix.profile.stats import LatencyStats, measure_interleaved

ROOT = Path(__file__).resolve().parents[1]
EXPORT_SOURCES = ["export", "comix/ops", "comix/model"]  # a change here invalidates cached exports
BANDS, X_CHANNELS, CLASSES = 144, 1, 11


# ----------------------------------------------------------------------------------------------- models
def _source_digest() -> str:
    digest = hashlib.sha256()
    for folder in EXPORT_SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_variant(variant: str, checkpoint: Path | None):
    """(eager model, ModelRecord, weights key) for a variant: the checkpoint's for comix_t when given, else a
    fresh model with deforming offsets and plausible normalisation statistics."""
    from comix.export.checkpoint import ExportOptions, model_record
    from comix.export.testing import deform_for_parity
    from comix.metadata import ModelRecord
    from comix.model import build_model

    if checkpoint is not None and variant == "comix_t":
        from comix.model.checkpoint import load_checkpoint

        loaded = load_checkpoint(checkpoint)
        return loaded.model.eval(), model_record(loaded, ExportOptions()), loaded.weights_sha256
    model = build_model(variant, bands=BANDS, x_channels=X_CHANNELS, classes=CLASSES).eval()
    deform_for_parity(model, seed=0)
    model.set_normalization(
        torch.full((BANDS,), 0.2),
        torch.full((BANDS,), 0.1),
        torch.zeros(X_CHANNELS),
        torch.full((X_CHANNELS,), 5.0),
    )
    record = ModelRecord(
        model_name=variant, config=model.config.to_dict(), hsi_bands=BANDS, x_channels=X_CHANNELS
    )
    return model, record, f"fresh-{variant}-seed0"


def exported(model, record, key: str, kind: str, path: Path, log) -> Path:
    """``path`` holding the ``kind`` ("canonical"/"portable") graph of ``model``, exported now unless a
    previous run left one made from the same weights and export code."""
    from comix.export.checkpoint import (
        DYNAMIC_AXES,
        INPUT_NAMES,
        OUTPUT_NAMES,
        ExportOptions,
        sample_inputs,
        trace_size,
    )
    from comix.export.pipeline import ExportPipeline

    stamp = path.with_name(path.name + ".key")
    wanted = f"{key} {kind} {_source_digest()}"
    if path.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return path
    log(f"exporting {path.name} (minutes on a small CPU; reused by later runs)")
    options = ExportOptions(portable=kind == "portable")
    height, width = trace_size(options)
    pipeline = ExportPipeline(
        INPUT_NAMES,
        OUTPUT_NAMES,
        dynamic_axes=DYNAMIC_AXES,
        portable=options.portable,
        record=record,
        validate=False,
    )
    proto = pipeline.build(model, sample_inputs(model, 2, height, width, 0))
    onnx.save(proto, str(path))
    stamp.write_text(wanted + "\n")
    return path


def bench_tiles(model, scene, tile: int, count: int, seed: int):
    """``count`` (hsi (1, B, t, t), x (1, C, t, t)) tiles: random crops of the scene, or draws around the
    model's normalisation statistics."""
    rng = np.random.default_rng(seed)
    tiles = []
    for index in range(count):
        if scene is not None:
            row = rng.integers(0, max(1, scene.hsi.shape[1] - tile + 1))
            col = rng.integers(0, max(1, scene.hsi.shape[2] - tile + 1))
            cut = (slice(None), slice(row, row + tile), slice(col, col + tile))
            tiles.append(
                (
                    np.ascontiguousarray(scene.hsi[cut][None], dtype=np.float32),
                    np.ascontiguousarray(scene.x[cut][None], dtype=np.float32),
                )
            )
        else:
            from comix.export.checkpoint import sample_inputs

            hsi, x = sample_inputs(model, 1, tile, tile, seed + index)
            tiles.append((hsi.numpy(), x.numpy()))
    return tiles


def scene_check(backends: dict, scene) -> dict[str, dict]:
    """Whole-scene classes of every backend against PyTorch's (same sliding window)."""
    from comix.runtime.sliding_window import SlidingWindow

    results = {
        name: SlidingWindow(backend)(scene.hsi, scene.x) for name, backend in backends.items()
    }
    reference = results["PyTorch eager FP32"].classes
    return {
        name: {
            "pixels": int(reference.size),
            "different": int(np.count_nonzero(r.classes != reference)),
            "seconds": r.seconds,
        }
        for name, r in results.items()
    }


def registry_peers(graphs: dict, threads: int, log) -> dict:
    """The other registered backends that run our ONNX graphs on this CPU (OpenVINO), when installed."""
    from comix.runtime.registry import BACKENDS, open_backend

    peers = {}
    for entry in BACKENDS.values():
        if (
            entry.name == "onnxruntime"
            or ".onnx" not in entry.suffixes
            or "cpu" not in entry.devices
        ):
            continue
        if entry.missing():
            log(f"{entry.name}: not measured ({'; '.join(entry.missing())}; {entry.install})")
            continue
        for kind, label in (("canonical", "canonical graph"), ("portable", "--portable graph")):
            peers[f"{entry.name} FP32, {label}"] = open_backend(
                graphs[kind], entry.name, threads=threads
            )
    return peers


def bench_models(args, machine, peak, log) -> dict:
    from comix.model.info import count_macs
    from comix.runtime import OnnxRuntimeBackend, TorchBackend

    scene = None
    if args.scene is not None:
        from comix.data.loader import load_scene

        scene = load_scene(args.scene)
    section = {}
    for variant in args.variants:
        model, record, key = load_variant(variant, args.checkpoint)
        graphs = {
            kind: exported(model, record, key, kind, args.workdir / f"{variant}.{kind}.onnx", log)
            for kind in ("canonical", "portable")
        }
        extra = sorted(
            p for p in args.workdir.glob(f"{variant}.*.onnx") if p not in graphs.values()
        )
        backends = {"PyTorch eager FP32": TorchBackend(model)}
        if args.compile:
            backends["PyTorch torch.compile FP32"] = TorchBackend(
                torch.compile(model), info=backends["PyTorch eager FP32"].info
            )
        backends["ONNX Runtime FP32, canonical graph"] = OnnxRuntimeBackend(
            graphs["canonical"], threads=args.threads
        )
        backends["ONNX Runtime FP32, --portable graph"] = OnnxRuntimeBackend(
            graphs["portable"], threads=args.threads
        )
        for path in extra:
            backends[f"ONNX Runtime, {path.name}"] = OnnxRuntimeBackend(path, threads=args.threads)
        backends.update(registry_peers(graphs, args.threads, log))
        tiles = bench_tiles(model, scene, args.tile, 4, args.seed)
        reference = [backends["PyTorch eager FP32"].run(*t) for t in tiles]
        compile_seconds = None
        if args.compile:
            log(f"{variant}: torch.compile (minutes on a small CPU)")
            start = time.perf_counter()
            backends["PyTorch torch.compile FP32"].run(*tiles[0])
            compile_seconds = time.perf_counter() - start
        not_measured = {}
        for name in [
            n for n in backends if n not in ("PyTorch eager FP32", "PyTorch torch.compile FP32")
        ]:
            try:  # a peer that cannot run this graph is reported, not fatal (OpenVINO compiles here)
                backends[name].run(*tiles[0])
            except ComixError as error:
                not_measured[name] = str(error).splitlines()[0]
                log(f"{name}: not measured ({not_measured[name]})")
                del backends[name]
        agreement = {}
        for name, backend in backends.items():
            outputs = [backend.run(*t) for t in tiles]
            agreement[name] = {
                "max_abs_logit_difference": float(
                    max(np.abs(o - r).max() for o, r in zip(outputs, reference))
                ),
                "argmax_agreement": float(
                    np.mean(
                        [(o.argmax(1) == r.argmax(1)).mean() for o, r in zip(outputs, reference)]
                    )
                ),
            }
        turn = iter(range(10**9))

        def runner(backend, tiles=tiles, turn=turn):
            return lambda: backend.run(*tiles[next(turn) % len(tiles)])

        log(f"{variant}: {args.rounds} interleaved rounds of {len(backends)} runners")
        stats = measure_interleaved(
            {name: runner(b) for name, b in backends.items()}, args.rounds, args.warmup
        )
        with torch.no_grad():
            macs = count_macs(
                model,
                torch.zeros(1, model.config.bands, args.tile, args.tile),
                torch.zeros(1, model.config.x_channels, args.tile, args.tile),
            ).total
        entry = {
            "graphs": {k: str(v) for k, v in graphs.items()},
            "macs_per_tile": macs,
            "torch_compile_seconds": compile_seconds,
            "not_measured": not_measured,
            "rows": {},
        }
        eager = stats["PyTorch eager FP32"]
        for name, s in stats.items():
            row = {
                "latency": s.as_dict(),
                **agreement[name],
                "ratio_wall": s.p50_ms / eager.p50_ms,
                "ratio_cpu": s.cpu_p50_ms / eager.cpu_p50_ms,
                "fraction_of_nominal_peak": fraction_of_peak(
                    macs, s.cpu_p50_ms / 1e3, args.threads, peak.nominal_gflops
                ),
                "fraction_of_measured_gemm": fraction_of_peak(
                    macs, s.cpu_p50_ms / 1e3, args.threads, peak.measured_gemm_gflops
                ),
            }
            entry["rows"][name] = row
        if args.scene_check and scene is not None:
            log(f"{variant}: whole-scene classes of every graph against PyTorch")
            entry["scene_check"] = scene_check(backends, scene)
        section[variant] = entry
    return section


# -------------------------------------------------------------------------------------------------- dcn
def _dcn_model(op_type: str, domain: str, attrs: dict, weights: dict) -> bytes:
    """One-node model (X, offset, mask) -> Y with the weight and bias as initializers."""
    names = ["X", "W", "offset", "B", "mask"]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names if n not in weights
    ]
    node = helper.make_node(op_type, names, ["Y"], domain=domain, **attrs)
    graph = helper.make_graph(
        [node],
        "bench",
        inputs,
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    opsets = [helper.make_opsetid("", 19), helper.make_opsetid("ai.comix", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10).SerializeToString()


def _dcn_tensors(channels: int, size: tuple[int, ...], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    nd, points = len(size), 3 ** len(size)
    return {
        "X": rng.standard_normal((1, channels, *size), dtype=np.float32),
        "W": (rng.standard_normal((channels, channels, *(3,) * nd)) * 0.05).astype(np.float32),
        "offset": rng.standard_normal((1, points * nd, *size), dtype=np.float32),
        "B": rng.standard_normal(channels).astype(np.float32),
        "mask": rng.random((1, points, *size), dtype=np.float32),
    }


def _session(model: bytes, threads: int, library: str | None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if library:
        options.register_custom_ops_library(library)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _portable_3d_session(tensors: dict, threads: int):
    """The --portable lowering of the 3-D op (comix.ops.portable), exported alone."""
    from comix.export.exporter import TorchOnnxExporter
    from comix.export.passes import Simplify
    from comix.ops.geometry import DeformConvGeometry
    from comix.ops.portable import deform_conv3d_portable

    geometry = DeformConvGeometry.build(3, 3, 1, 1, 1, 1, 1)
    weight, bias = torch.from_numpy(tensors["W"]), torch.from_numpy(tensors["B"])

    class Op(torch.nn.Module):
        def forward(self, x, offset, mask):
            return deform_conv3d_portable(x, offset, weight, bias, mask, geometry)

    sample = tuple(torch.from_numpy(tensors[k]) for k in ("X", "offset", "mask"))
    proto = Simplify()(TorchOnnxExporter(["X", "offset", "mask"], ["Y"])(Op(), sample))
    return _session(proto.SerializeToString(), threads, None)


def bench_dcn(args, log) -> dict:
    from comix.ops.geometry import DeformConvGeometry
    from comix.ops.vectorised import deform_conv_nd
    from comix.plugins.build import find_ort_library

    library = str(find_ort_library())
    section = {}
    t3 = _dcn_tensors(32, (32, 32, 32), args.seed)
    t2 = _dcn_tensors(64, (64, 64), args.seed + 1)
    attrs3, attrs2 = (
        {"kernel_shape": [3, 3, 3], "pads": [1] * 6},
        {"kernel_shape": [3, 3], "pads": [1] * 4},
    )
    x3 = {k: torch.from_numpy(v) for k, v in t3.items()}
    x2 = {k: torch.from_numpy(v) for k, v in t2.items()}
    geometry3 = DeformConvGeometry.build(3, 3, 1, 1, 1, 1, 1)
    saved = torch.get_num_threads()
    try:
        for threads in args.dcn_threads:
            torch.set_num_threads(threads)
            feed3 = {k: t3[k] for k in ("X", "offset", "mask")}
            ours3 = _session(
                _dcn_model("DeformConv3D", "ai.comix", attrs3, {"W": t3["W"], "B": t3["B"]}),
                threads,
                library,
            )
            portable3 = _portable_3d_session(t3, threads)
            runners = {
                "ai.comix DeformConv3D (ours, ONNX Runtime)": lambda s=ours3, f=feed3: s.run(
                    None, f
                ),
                "PyTorch Conv3d, no deformation": lambda: torch.nn.functional.conv3d(
                    x3["X"], x3["W"], x3["B"], padding=1
                ),
                "--portable lowering (2-D DeformConv, ONNX Runtime)": lambda s=portable3, f=feed3: (
                    s.run(None, f)
                ),
                "PyTorch eager DCN (comix.ops)": lambda: deform_conv_nd(
                    x3["X"], x3["offset"], x3["W"], x3["B"], x3["mask"], geometry3
                ),
            }
            reference = runners["PyTorch eager DCN (comix.ops)"]().numpy()
            differences = {
                "ai.comix DeformConv3D (ours, ONNX Runtime)": float(
                    np.abs(
                        runners["ai.comix DeformConv3D (ours, ONNX Runtime)"]()[0] - reference
                    ).max()
                ),
                "--portable lowering (2-D DeformConv, ONNX Runtime)": float(
                    np.abs(
                        runners["--portable lowering (2-D DeformConv, ONNX Runtime)"]()[0]
                        - reference
                    ).max()
                ),
            }
            log(f"dcn 3-D, {threads} thread(s)")
            with torch.no_grad():
                stats = measure_interleaved(runners, args.rounds, args.warmup)
            section[f"3d_threads{threads}"] = _ratio_rows(
                stats, "PyTorch Conv3d, no deformation", differences, threads
            )
            feed2 = {k: t2[k] for k in ("X", "offset", "mask")}
            weights2 = {"W": t2["W"], "B": t2["B"]}
            builtin2 = _session(_dcn_model("DeformConv", "", attrs2, weights2), threads, None)
            ours2 = _session(
                _dcn_model("DeformConv", "ai.comix", attrs2, weights2), threads, library
            )
            runners2 = {
                "ONNX Runtime DeformConv (built-in)": lambda s=builtin2, f=feed2: s.run(None, f),
                "ai.comix DeformConv (ours, ONNX Runtime)": lambda s=ours2, f=feed2: s.run(None, f),
                "PyTorch Conv2d, no deformation": lambda: torch.nn.functional.conv2d(
                    x2["X"], x2["W"], x2["B"], padding=1
                ),
            }
            difference2 = {
                "ai.comix DeformConv (ours, ONNX Runtime)": float(
                    np.abs(
                        runners2["ai.comix DeformConv (ours, ONNX Runtime)"]()[0]
                        - runners2["ONNX Runtime DeformConv (built-in)"]()[0]
                    ).max()
                )
            }
            log(f"dcn 2-D, {threads} thread(s)")
            with torch.no_grad():
                stats2 = measure_interleaved(runners2, args.rounds, args.warmup)
            section[f"2d_threads{threads}"] = _ratio_rows(
                stats2, "ONNX Runtime DeformConv (built-in)", difference2, threads
            )
    finally:
        torch.set_num_threads(saved)
    return section


def _ratio_rows(
    stats: dict[str, LatencyStats], baseline: str, differences: dict, threads: int
) -> dict:
    base = stats[baseline]
    return {
        "threads": threads,
        "baseline": baseline,
        "rows": {
            name: {
                "latency": s.as_dict(),
                "ratio_wall": s.p50_ms / base.p50_ms,
                "ratio_cpu": s.cpu_p50_ms / base.cpu_p50_ms,
                "max_abs_difference": differences.get(name),
            }
            for name, s in stats.items()
        },
    }


# -------------------------------------------------------------------------------------------------- gpu
def bench_gpu(args, log) -> dict:
    if not torch.cuda.is_available():
        return {
            "skipped": f"no CUDA GPU (torch {torch.__version__}, torch.cuda.is_available() is False)"
        }
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "gpu.json"
        log("gpu: tools/bench_gpu_dcn.py")
        result = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "bench_gpu_dcn.py"), "--json", str(out)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return {
                "failed": result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
            }
        return {
            "device": torch.cuda.get_device_name(),
            "rows": json.loads(out.read_text()),
            "table": result.stdout,
        }


# ----------------------------------------------------------------------------------------------- report
def _ms(s: dict, key: str) -> str:
    return f"{s[key]:.1f}"


def markdown(document: dict) -> str:
    after = document["machine"]["cpu"].get("load_average_after") or ["?"]
    lines = [
        f"Machine: {describe(document['machine'])} (load after {after[0]}); {document['threads']} "
        f"thread(s); {document['created']}; {document['tool']}.",
        "",
    ]
    for variant, entry in document.get("models", {}).items():
        lines += [
            f"**{variant}**, one {document['tile']}x{document['tile']} tile, batch 1, {BANDS} bands + "
            f"{X_CHANNELS} X channel, {entry['macs_per_tile'] / 1e9:.2f} GMACs; {document['rounds']} "
            "interleaved rounds (median, interquartile range):",
            "",
            "| runtime | wall ms | CPU ms | ratio to eager (wall / CPU) | of FP32 peak | "
            "max abs logit diff | class agreement |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, row in entry["rows"].items():
            lat = row["latency"]
            peak = row["fraction_of_nominal_peak"]
            lines.append(
                f"| {name} | {_ms(lat, 'p50_ms')} ({_ms(lat, 'p25_ms')}–{_ms(lat, 'p75_ms')}) | "
                f"{_ms(lat, 'cpu_p50_ms')} ({_ms(lat, 'cpu_p25_ms')}–{_ms(lat, 'cpu_p75_ms')}) | "
                f"**{row['ratio_wall']:.2f} / {row['ratio_cpu']:.2f}** | "
                f"{'—' if peak is None else f'{100 * peak:.1f} %'} | {row['max_abs_logit_difference']:.1e} | "
                f"{100 * row['argmax_agreement']:.2f} % |"
            )
        for name, reason in entry.get("not_measured", {}).items():
            lines.append(f"| {name} | not measured: {reason} | | | | | |")
        if "scene_check" in entry:
            checks = ", ".join(
                f"{name}: {c['different']} of {c['pixels']} pixels differ"
                for name, c in entry["scene_check"].items()
                if not name.startswith("PyTorch")
            )
            lines += ["", f"Whole scene against PyTorch's classes: {checks}."]
        lines.append("")
    for key, table in document.get("dcn", {}).items():
        lines += [
            f"**DCN {key.split('_')[0].upper()}**, {table['threads']} thread(s) "
            f"(ratio to {table['baseline']}):",
            "",
            "| implementation | wall ms | CPU ms | ratio (wall / CPU) | max abs diff |",
            "|---|---|---|---|---|",
        ]
        for name, row in table["rows"].items():
            lat = row["latency"]
            diff = row["max_abs_difference"]
            lines.append(
                f"| {name} | {_ms(lat, 'p50_ms')} ({_ms(lat, 'p25_ms')}–{_ms(lat, 'p75_ms')}) | "
                f"{_ms(lat, 'cpu_p50_ms')} | **{row['ratio_wall']:.2f} / {row['ratio_cpu']:.2f}** | "
                f"{'—' if diff is None else f'{diff:.1e}'} |"
            )
        lines.append("")
    gpu = document.get("gpu", {})
    if gpu:
        lines += [
            "**GPU**: "
            + (
                gpu.get("skipped")
                or (
                    f"failed: {gpu['failed']}"
                    if "failed" in gpu
                    else f"{gpu['device']}\n\n```\n{gpu['table']}```"
                )
            ),
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--sections", nargs="+", default=["models", "dcn", "gpu"], choices=["models", "dcn", "gpu"]
    )
    parser.add_argument("--variants", nargs="+", default=["comix_t", "comix_s"])
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="trained comix_t checkpoint folder"
    )
    parser.add_argument(
        "--scene", type=Path, default=None, help="dataset.yaml whose scene gives the tiles"
    )
    parser.add_argument(
        "--scene-check", action="store_true", help="also compare whole-scene classes (slow)"
    )
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads for the model runs"
    )
    parser.add_argument("--dcn-threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="leave out the torch.compile row (its compilation takes minutes on a small CPU)",
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads < 1 or min(args.dcn_threads) < 1 or args.rounds < 1:
        parser.error("--threads, --dcn-threads and --rounds must be >= 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    machine = machine_record()
    peak = core_peak(machine["cpu"])
    document = {
        "tool": f"comix {__version__}",
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine,
        "peak": asdict(peak),
        "threads": args.threads,
        "tile": args.tile,
        "rounds": args.rounds,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "checkpoint_sha256": file_sha256(args.checkpoint / "model.safetensors")
        if args.checkpoint
        else None,
    }
    if "models" in args.sections:
        document["models"] = bench_models(args, machine, peak, log)
    if "dcn" in args.sections:
        document["dcn"] = bench_dcn(args, log)
    if "gpu" in args.sections:
        document["gpu"] = bench_gpu(args, log)
    machine["cpu"]["load_average_after"] = machine_record()["cpu"]["load_average"]
    text = markdown(document)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
