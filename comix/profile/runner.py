"""``profile(model, options)``: measure one model on one backend over every (tile, batch, threads) asked for.

Per configuration: check the tile against the model, make the inputs, time with the stopping rule
(:mod:`comix.profile.stats`) while watching peak memory (and, with ``power``, tegrastats), then ask the
backend for its per-layer breakdown and group it by model part. MACs are counted on the PyTorch model
built from the checkpoint or from the configuration the exported graph carries.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix import __version__
from comix.model.config import STRIDE_MULTIPLE
from comix.profile.machine import machine_record
from comix.profile.memory import PeakMemoryMonitor
from comix.profile.parts import time_by_part
from comix.profile.peak import CorePeak, core_peak, fraction_of_peak
from comix.profile.power import TegrastatsSampler
from comix.profile.result import ConfigResult, ProfileReport, SceneRun, Throughput
from comix.profile.stats import StoppingRule, measure
from comix.runtime import defaults
from comix.runtime.backend import Backend
from comix.runtime.errors import RuntimeInputError
from comix.runtime.registry import open_backend
from comix.runtime.tiling import random_tiles
from comix.tiles import format_tile, parse_tile

Progress = Callable[[str, int, int], None]  # (configuration label, iterations done, iteration cap)


@dataclass
class ProfileOptions:
    """What to measure. ``threads`` 0 = the backend's default; ``gsd_m`` turns tile throughput into seconds
    per km² (a ``scene`` gives its own GSD when georeferenced in metres)."""

    backend: str = "auto"
    tiles: Sequence[tuple[int, int]] = ()  # empty: the model's own tile, else defaults.TILE
    batches: Sequence[int] = (1,)
    threads: Sequence[int] = (0,)
    rule: StoppingRule = field(default_factory=StoppingRule)
    breakdown: bool = True
    breakdown_runs: int = 5
    gsd_m: float | None = None
    overlap: int | None = None
    power: bool = False
    scene: tuple[Path, Path] | None = None
    time_scene: bool = True  # with a scene: also segment it whole once and time that
    measure_gemm_peak: bool = True
    seed: int = 0
    verify: bool = True  # check the model's recorded digests at open (comix.runtime.integrity)

    def __post_init__(self) -> None:
        self.tiles = [parse_tile(tile) for tile in self.tiles]
        if not self.batches or not self.threads:
            raise RuntimeInputError(
                "--batch/--threads: got an empty list, expected at least one value each"
            )
        if min(self.batches) < 1:
            raise RuntimeInputError(f"--batch: got {min(self.batches)}, expected >= 1")
        if min(self.threads) < 0:
            raise RuntimeInputError(
                f"--threads: got {min(self.threads)}, expected >= 0 (0 = the backend's default)"
            )
        if self.breakdown_runs < 1:
            raise RuntimeInputError(f"--breakdown-runs: got {self.breakdown_runs}, expected >= 1")
        if self.gsd_m is not None and not self.gsd_m > 0:
            raise RuntimeInputError(f"--gsd: got {self.gsd_m}, expected metres per pixel > 0")
        for tile in self.tiles:
            check_minimum_tile(tile)


def check_minimum_tile(tile: Sequence[int]) -> None:
    """Refuse a tile below the model's minimum: CoMiX pads every tile to a multiple of STRIDE_MULTIPLE."""
    if min(tile) < STRIDE_MULTIPLE:
        raise RuntimeInputError(
            f"--tile: got {format_tile(tile)}, expected at least {STRIDE_MULTIPLE} x {STRIDE_MULTIPLE}: "
            f"CoMiX pads every tile to a multiple of {STRIDE_MULTIPLE}, so a smaller one costs as "
            "much and its throughput would mislead"
        )


def check_tile(backend: Backend, tile: tuple[int, int], batch: int) -> None:
    """Refuse a tile the model cannot run as asked (got/expected)."""
    info = backend.info
    if info.tile is not None and tuple(tile) != tuple(info.tile):
        raise RuntimeInputError(
            f"--tile: got {format_tile(tile)}, expected {format_tile(info.tile)}, the fixed "
            "tile of this static-shape model"
        )
    if info.max_batch is not None and batch != info.max_batch:
        raise RuntimeInputError(
            f"--batch: got {batch}, expected {info.max_batch}, the fixed batch of this "
            "static-shape model"
        )
    check_minimum_tile(tile)


def synthetic_inputs(
    backend: Backend, batch: int, tile: tuple[int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform [0, 1) raw inputs of the model's band and channel counts (the DCN kernels sample
    branch-free, so their time barely depends on the values)."""
    info = backend.info
    if info.bands is None or info.x_channels is None:
        raise RuntimeInputError(
            "model: got no band or X channel count in its inputs, expected a fixed count for each"
        )
    rng = np.random.default_rng(seed)
    return (
        rng.random((batch, info.bands, *tile), dtype=np.float32),
        rng.random((batch, info.x_channels, *tile), dtype=np.float32),
    )


def count_tile_macs(backend: Backend, tile: tuple[int, int]) -> int | None:
    """MACs of one tile (batch 1, padded as the model pads), counted on the PyTorch model; None when the
    backend's model carries no CoMiX configuration (e.g. a stand-in network), or without PyTorch (the
    runtime install counts no MACs)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    from comix.model.config import ComixConfig
    from comix.model.info import count_macs
    from comix.model.network import ComixNet

    module = getattr(backend, "module", None)
    if not isinstance(module, ComixNet):
        config = getattr(getattr(backend, "record", None), "config", None)
        if not config:
            return None
        try:
            module = ComixNet(ComixConfig.from_dict(config)).eval()
        except (ValueError, TypeError, KeyError):
            return None
    cfg = module.config
    with torch.no_grad():
        return count_macs(
            module, torch.zeros(1, cfg.bands, *tile), torch.zeros(1, cfg.x_channels, *tile)
        ).total


def scene_gsd(georef) -> float | None:
    """Square pixel size in metres of a georeference in a projected, metre-based CRS; else None."""
    if georef is None or not georef.crs:
        return None
    try:
        from rasterio.crs import CRS

        crs = CRS.from_user_input(georef.crs)
    except Exception:
        return None
    if not crs.is_projected or (crs.linear_units or "").lower() not in ("metre", "meter", "m"):
        return None
    width, height = georef.pixel_size
    return width if abs(width - height) <= 1e-6 * max(width, height) else None


def throughput(
    median_s: float, batch: int, tile: tuple[int, int], gsd_m: float | None, overlap: int
) -> Throughput:
    """Tiles/s and megapixels/s of one call; with a GSD, seconds per km² of a scene whose tiles overlap by
    ``overlap`` (each tile then adds (H - overlap) x (W - overlap) new pixels)."""
    per_tile = median_s / batch
    result = Throughput(
        1 / per_tile, tile[0] * tile[1] / per_tile / 1e6, gsd_m=gsd_m, overlap=overlap
    )
    if gsd_m:
        new_pixels = max(1, tile[0] - overlap) * max(1, tile[1] - overlap)
        result.seconds_per_km2 = per_tile / new_pixels * 1e6 / gsd_m**2
    return result


def memory_device(backend: Backend) -> str:
    """Where the backend's tensors live, for the memory monitor: "torch-cuda", "gpu" or "cpu"."""
    if str(getattr(backend, "device", "cpu")).startswith("cuda"):
        return "torch-cuda"
    session = getattr(backend, "session", None)
    providers = (
        session.get_providers() if session is not None and hasattr(session, "get_providers") else []
    )
    if backend.name == "tensorrt" or {"CUDAExecutionProvider", "TensorrtExecutionProvider"} & set(
        providers
    ):
        return "gpu"
    return "cpu"


class _Threads:
    """Set PyTorch's intra-op threads for a torch backend while active
    (ONNX Runtime takes them per session)."""

    def __init__(self, backend: Backend, threads: int) -> None:
        self.active = getattr(backend, "module", None) is not None and threads > 0
        self.threads = threads
        self.saved = 0

    def __enter__(self):
        if self.active:
            import torch

            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc) -> None:
        if self.active:
            import torch

            torch.set_num_threads(self.saved)


def effective_threads(backend: Backend, threads: int) -> int:
    """The threads a run really used: as asked, else the backend's default."""
    if threads > 0:
        return threads
    if getattr(backend, "module", None) is not None:
        import torch

        return torch.get_num_threads()
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


@dataclass
class SceneData:
    """A scene read once for the whole profile: arrays, where they came from, and its GSD (m) if known."""

    hsi: np.ndarray
    x: np.ndarray
    path: str
    gsd_m: float | None


def read_scene(paths: tuple[Path, Path]) -> SceneData:
    from comix.runtime.segment import read_scene_inputs

    hsi, x, georef = read_scene_inputs(*paths)
    return SceneData(hsi, x, str(paths[0]), scene_gsd(georef))


def _breakdown(
    backend: Backend, hsi: np.ndarray, x: np.ndarray, runs: int, result: ConfigResult
) -> None:
    layers = backend.layer_times(hsi, x, runs)
    if layers is None:
        result.breakdown_note = f"the {backend.name} backend gives no per-layer breakdown"
        return
    result.layers = sorted(layers, key=lambda layer: -layer.milliseconds)
    result.parts_ms = time_by_part(layers)
    result.breakdown_note = (
        f"{backend.name} profiler, mean of {runs} runs; "
        "the sum includes the profiler's own overhead"
    )


def profile_config(
    backend: Backend,
    tile: tuple[int, int],
    batch: int,
    threads: int,
    options: ProfileOptions,
    peak: CorePeak,
    macs_per_tile: int | None,
    scene: SceneData | None = None,
    gsd_m: float | None = None,
    progress: Progress | None = None,
) -> ConfigResult:
    """One (tile, batch, threads) measurement on an open backend; see the module doc."""
    check_tile(backend, tile, batch)
    if scene is not None:
        hsi, x = random_tiles(scene.hsi, scene.x, tile, batch, options.seed)
    else:
        hsi, x = synthetic_inputs(backend, batch, tile, options.seed)
    label = f"{tile[0]}x{tile[1]} b{batch} t{threads or 'default'}"
    with _Threads(backend, threads):
        used = effective_threads(backend, threads)
        with ExitStack() as stack:
            memory = stack.enter_context(PeakMemoryMonitor(memory_device(backend)))
            power = stack.enter_context(TegrastatsSampler()) if options.power else None
            measured = measure(
                lambda: backend.run(hsi, x),
                options.rule,
                on_iteration=(lambda n: progress(label, n, options.rule.max_iterations))
                if progress
                else None,
            )
        stats = measured.stats
        per_tile = stats.p50_ms / 1e3 / batch
        overlap = (
            options.overlap if options.overlap is not None else defaults.default_overlap(min(tile))
        )
        result = ConfigResult(
            tile=tuple(tile),
            batch=batch,
            threads=used,
            latency=stats,
            stop_reason=measured.stop_reason,
            throughput=throughput(stats.p50_ms / 1e3, batch, tile, gsd_m, overlap),
            memory=memory.result,
            macs_per_tile=macs_per_tile,
            fraction_of_nominal_peak=fraction_of_peak(
                macs_per_tile, per_tile, used, peak.nominal_gflops
            ),
            fraction_of_measured_gemm=fraction_of_peak(
                macs_per_tile, per_tile, used, peak.measured_gemm_gflops
            ),
        )
        if power is not None and power.samples.mean_watts is not None:
            result.power_watts = power.samples.mean_watts
            result.power_source = power.samples.source
            result.energy_joules_per_tile = power.samples.mean_watts * per_tile
        if options.breakdown:
            _breakdown(backend, hsi, x, options.breakdown_runs, result)
    return result


def run_scene(
    backend: Backend,
    scene: SceneData,
    options: ProfileOptions,
    tile: tuple[int, int],
    batch: int,
    gsd_m: float | None,
) -> SceneRun:
    """Segment the whole scene once with the sliding window and time it."""
    from comix.runtime.sliding_window import SlidingWindow

    backend.check_scene(scene.hsi, scene.x)
    window = SlidingWindow(backend, tile=tile, overlap=options.overlap, batch=batch)
    result = window(scene.hsi, scene.x)
    height, width = scene.hsi.shape[1:]
    km2 = height * width * gsd_m**2 / 1e6 if gsd_m else None
    return SceneRun(
        scene.path,
        height,
        width,
        window.tile_for(height, width),
        window.overlap,
        window.batch,
        result.tiles,
        result.seconds,
        gsd_m,
        km2,
        result.seconds / km2 if km2 else None,
    )


def profile(
    model: str | os.PathLike, options: ProfileOptions, progress: Progress | None = None
) -> ProfileReport:
    """Open ``model`` once per thread count and measure every configuration (see the module doc)."""
    # a model that cannot load fails first
    backend = open_backend(
        model, options.backend, threads=options.threads[0], verify=options.verify
    )
    if not options.tiles:
        options = dataclasses.replace(options, tiles=[backend.info.tile or defaults.TILE])
    for tile in options.tiles:
        for batch in options.batches:
            check_tile(backend, tuple(tile), batch)
    machine = machine_record()
    # the single-thread SGEMM probe runs on PyTorch's GEMM (left out on the runtime install)
    measure = options.measure_gemm_peak and importlib.util.find_spec("torch") is not None
    peak = core_peak(machine["cpu"], measure=measure)
    scene = read_scene(options.scene) if options.scene is not None else None
    gsd_m = options.gsd_m or (scene.gsd_m if scene is not None else None)
    macs = {tuple(tile): count_tile_macs(backend, tuple(tile)) for tile in options.tiles}
    record = getattr(backend, "record", None)
    report = ProfileReport(
        model=str(model),
        model_name=backend.info.name or "",
        graph_kind=getattr(record, "graph_kind", "") or "",
        backend=backend.name,
        machine=machine,
        peak=peak,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        tool=f"comix {__version__}",
    )
    for index, threads in enumerate(options.threads):
        if index:
            backend = open_backend(model, options.backend, threads=threads, verify=options.verify)
        for tile in options.tiles:
            for batch in options.batches:
                report.configs.append(
                    profile_config(
                        backend,
                        tuple(tile),
                        batch,
                        threads,
                        options,
                        peak,
                        macs[tuple(tile)],
                        scene,
                        gsd_m,
                        progress,
                    )
                )
        if scene is not None and options.time_scene and report.scene is None:
            with _Threads(backend, threads):
                report.scene = run_scene(
                    backend, scene, options, tuple(options.tiles[0]), options.batches[0], gsd_m
                )
    return report
