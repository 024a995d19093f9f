"""Helpers for the C API tests: the built library, C programs compiled against comix_infer.h only, small
exported models, and the Python ONNX Runtime path to compare with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from comix.plugins.build import find_capi_library

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "plugins" / "capi" / "include"
EXAMPLES = REPO / "plugins" / "capi" / "examples"
HERE = Path(__file__).resolve().parent
BANDS, X_CHANNELS, CLASSES = 6, 1, 4
CLASS_NAMES = ["water", "trees", "roofs", "roads"]
DYNAMIC = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}


def library_or_reason() -> tuple[Path | None, str]:
    """(libcomix_infer.so, "") or (None, why the C API tests skip)."""
    if shutil.which("cc") is None:
        return None, "no C compiler (cc) on PATH to build the C clients"
    try:
        return find_capi_library(), ""
    except FileNotFoundError as error:
        return None, f"the C API is not built ({error})"


def compile_c(
    source: Path, output: Path, library: Path, extra: tuple[str, ...] = (), iso: bool = True
) -> Path:
    """Compile a C client against comix_infer.h only (warnings are errors) and link the library.

    ``iso``: strict C99 with -Wpedantic; False for a program that needs GNU C (the malloc interposer).
    """
    command = [
        "cc",
        "-std=c99" if iso else "-std=gnu99",
        "-O1",
        "-Wall",
        "-Wextra",
        *(["-Wpedantic"] if iso else []),
        "-Werror",
        f"-I{INCLUDE}",
        str(source),
        f"-L{library.parent}",
        "-lcomix_infer",
        f"-Wl,-rpath,{library.parent}",
        "-o",
        str(output),
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stderr}"
    return output


def run(
    command: list, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def export_tiny(path: Path, portable: bool, dynamic: bool = True, tile: int = 16) -> Path:
    """TinyHsiXNet (real 2-D and 3-D DCNs) exported like comix export does, with a model record."""
    import onnx
    import torch

    from comix.export.exporter import TorchOnnxExporter
    from comix.export.passes import FoldBatchNorm, ScopeNodeNames, Simplify
    from comix.export.testing import TinyHsiXNet
    from comix.metadata import ModelRecord

    net = TinyHsiXNet(BANDS, X_CHANNELS, CLASSES, seed=0).eval()
    size = (2, 23, 29) if dynamic else (1, tile, tile)
    sample = (torch.randn(size[0], BANDS, *size[1:]), torch.randn(size[0], X_CHANNELS, *size[1:]))
    exporter = TorchOnnxExporter(
        ["hsi", "x"], ["logits"], dynamic_axes=DYNAMIC if dynamic else None, portable=portable
    )
    model = Simplify()(FoldBatchNorm()(ScopeNodeNames()(exporter(net, sample))))
    ModelRecord(
        model_name="tiny",
        class_names=CLASS_NAMES,
        hsi_bands=BANDS,
        x_channels=X_CHANNELS,
        graph_kind="portable" if portable else "canonical",
    ).write_onnx(model)
    onnx.save(model, str(path))
    return path


def python_logits(model: Path, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits of the Python ONNX Runtime path (comix.runtime.OnnxRuntimeBackend, 1 thread)."""
    from comix.runtime.ort_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(model, threads=1).run(hsi, x)


def inputs(batch: int, bands: int, x_channels: int, height: int, width: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    hsi = rng.normal(0.3, 0.5, (batch, bands, height, width)).astype(np.float32)
    x = rng.normal(10.0, 4.0, (batch, x_channels, height, width)).astype(np.float32)
    return hsi, x


def run_tile(
    client: Path,
    model: Path,
    hsi: np.ndarray,
    x: np.ndarray,
    folder: Path,
    threads: int = 1,
    verify: int = 0,
    repeat: int = 1,
) -> tuple[np.ndarray | None, dict[str, str], subprocess.CompletedProcess]:
    """Run the example client on one batch; (logits or None, its key=value output, the process)."""
    folder.mkdir(parents=True, exist_ok=True)
    hsi.tofile(folder / "hsi.f32")
    x.tofile(folder / "x.f32")
    out = folder / "logits.f32"
    out.unlink(missing_ok=True)
    batch, _, height, width = hsi.shape
    result = run(
        [
            client,
            model,
            folder / "hsi.f32",
            folder / "x.f32",
            out,
            batch,
            height,
            width,
            threads,
            verify,
            repeat,
        ]
    )
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    if result.returncode != 0:
        return None, values, result
    classes = int(values["classes"])
    return np.fromfile(out, np.float32).reshape(batch, classes, height, width), values, result


def scene(height: int, width: int, seed: int = 0, bands: int = BANDS, x_channels: int = X_CHANNELS):
    """(hsi (bands, H, W), x (C, H, W)) float32 raw values with spatial structure and noise, so that class
    borders and near-tied logits run through the tiles' overlaps."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    pattern = np.sin(rows / 5.0) + np.cos(cols / 7.0)
    scale = np.linspace(0.5, 1.5, bands)[:, None, None]
    hsi = (0.2 + 0.5 * pattern[None] * scale + rng.normal(0, 0.3, (bands, height, width))).astype(
        np.float32
    )
    x = (10 + 5 * pattern[None] + rng.normal(0, 1, (x_channels, height, width))).astype(np.float32)
    return hsi, x


def bil_lines(hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The pushbroom stream of a scene: (H, bands + C, W) little-endian float32, line by line, each line
    band-interleaved (band 0's W samples, band 1's, ..., then the X channels')."""
    return np.ascontiguousarray(np.concatenate([hsi, x]).transpose(1, 0, 2), dtype="<f4")


def run_stream(
    client: Path,
    model: Path,
    hsi: np.ndarray,
    x: np.ndarray,
    folder: Path,
    tile: int | tuple[int, int] | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    nodata: float | None = None,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Stream a scene line by line through stream_client.c: (classes (H, W) uint8 in the order the lines
    came out, out_at (H,) lines pushed when each came out (-1: after the finish), the client's key=value
    output)."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = hsi.shape[1:]
    bil_lines(hsi, x).tofile(folder / "lines.f32")
    th, tw = (tile, tile) if isinstance(tile, int) else (tile or (0, 0))
    result = run(
        [
            client,
            model,
            folder / "lines.f32",
            height,
            width,
            folder / "classes.u8",
            folder / "out_at.i32",
            th,
            tw,
            -1 if overlap is None else overlap,
            batch or 0,
            "none" if nodata is None else repr(float(nodata)),
            threads,
        ]
    )
    assert result.returncode == 0, f"stream_client failed ({result.returncode}): {result.stderr}"
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    classes = np.fromfile(folder / "classes.u8", np.uint8).reshape(-1, width)
    return classes, np.fromfile(folder / "out_at.i32", np.int32), values


def python_classes(
    model: Path,
    hsi: np.ndarray,
    x: np.ndarray,
    folder: Path,
    tile: int | tuple[int, int] | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    nodata: float | None = None,
):
    """What `comix infer` gives the same scene: segment_source (the products written, in memory too) on the
    ONNX Runtime backend, 1 thread, the runtime's defaults where None. Returns (the classes of the written
    class raster (H, W), the SegmentationRun)."""
    from comix.runtime.ort_backend import OnnxRuntimeBackend
    from comix.runtime.scene_source import SceneSource
    from comix.runtime.segment import segment_source

    folder.mkdir(parents=True, exist_ok=True)
    backend = OnnxRuntimeBackend(model, threads=1)
    source = SceneSource.from_arrays(hsi, x, nodata=nodata)
    run_ = segment_source(
        backend,
        source,
        folder / "seg.tif",
        tile=tile,
        overlap=overlap,
        batch=batch,
        keep_in_memory=True,
    )
    written = np.load(run_.paths["classes_npy"])
    assert np.array_equal(written, run_.result.classes)
    return written, run_
