"""What ``comix calibrate`` runs: FP32 graph + dataset -> FP16 or INT8 graph, report, lint, all or nothing.

    result = calibrate(CalibrationRequest(model="model.onnx", precision="int8", dataset="scene.yaml",
                                          output="model.int8.onnx"))

Steps: read and check the model (FP32, not already reduced) and the data of its task
(:mod:`comix.calibration.data`: a labelled scene for CoMiX — band and channel counts, labelled pixels — or
fusion pairs for SHIP); draw stratified calibration tiles (training pixels / content strata);
collect activation statistics through our own ONNX Runtime session (or take them from the
content-keyed cache); convert (FP16 with its FP32 keep-list, or INT8 Q/DQ for the target; the data
object carries its family's own rules, e.g. :mod:`comix.ship.calibration.rules`; the CPU target
times node groups INT8 vs float first, :mod:`comix.calibration.speed`); rank nodes by isolated
quantisation error; with ``max_drop`` move the most sensitive back to float until the held-out loss
fits the budget (mIoU points, or the fusion budget metric's unit); lint for TensorRT; score FP32
against the new graph on the held-out data. Nothing is written until every step passed; then the
graph, ``<output>.calibration.json`` (recipe, kept nodes, sensitivity, lint, latency) and the
accuracy report (``<output stem>.accuracy.json/.md/.png``) appear together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from comix.atomic import atomic_path, check_parent, write_text_atomic
from comix.calibration import recipe as defaults
from comix.calibration.cache import StatisticsCache
from comix.calibration.data import CalibrationData, input_channels, open_calibration_data
from comix.calibration.errors import CalibrationError
from comix.calibration.fp16 import convert_fp16, fp32_nodes
from comix.calibration.graph import graph_inputs, load_fp32_model, model_sha256, op_census
from comix.calibration.int8 import (
    OFFSET_MODES,
    OFFSET_REASON,
    activation_tensors,
    offset_convs,
    quantize_int8,
)
from comix.calibration.latency import paired_ratio, tile_latency
from comix.calibration.lint import LintReport, lint_graph
from comix.calibration.recipe import PRECISIONS, TARGETS, PrecisionRecipe
from comix.calibration.sensitivity import (
    FallbackResult,
    fallback_search,
    node_sensitivity,
    sensitivity_table,
)
from comix.calibration.speed import (
    SPEED_ROUNDS,
    SpeedTrial,
    float_reasons,
    node_groups,
    select_float_groups,
)
from comix.calibration.statistics import ActivationStatistics, collect_statistics
from comix.calibration.tiles import CalibrationTiles
from comix.errors import BadInputError, FailedError
from comix.metadata import ModelRecord, tool_versions
from comix.model_digest import stamped_bytes
from comix.stopwatch import Stopwatch

# (stage, done, total): "tiles" while statistics are collected, "score" while graphs are scored, ...
Progress = Callable[[str, int, int], None]


@dataclass
class CalibrationRequest:
    model: Path
    precision: str
    dataset: Path
    output: Path
    target: str = defaults.DEFAULT_TARGET
    method: str = defaults.DEFAULT_METHOD
    percentile: float = defaults.DEFAULT_PERCENTILE
    tiles: int = defaults.DEFAULT_TILES
    tile: int | tuple[int, int] | None = (
        None  # default: a static graph's, else comix.tiles.DEFAULT_TILE
    )
    seed: int = defaults.DEFAULT_SEED
    dcn_offsets: str = "int8"
    exclude: list[str] = field(default_factory=list)
    max_drop: float | None = (
        None  # budget: mIoU points, or the fusion budget metric's unit (PSNR: dB)
    )
    budget_metric: str | None = (
        None  # fusion: the metric --max-drop is in (default per task, calibration.data)
    )
    calibration_data: Path | None = None  # fusion: crops from here instead of from `dataset`
    speed_pass: bool = True  # --target cpu: groups slower in INT8 on this CPU stay float
    report: bool = True
    cache_dir: Path | None = None
    use_cache: bool = True
    rebuild_cache: bool = False
    threads: int = 1
    lint_strict: bool = True  # a TensorRT-target graph that fails the lint is not written


@dataclass
class CalibrationResult:
    output: Path
    sidecar: Path
    recipe: PrecisionRecipe
    lint: LintReport
    statistics_from_cache: bool
    cache_path: Path | None
    accuracy: object | None = None  # AccuracyReport (segmentation) or FusionAccuracyReport (fusion)
    report_paths: list[Path] = field(default_factory=list)
    sensitivity: list[dict] = field(default_factory=list)
    fallback: FallbackResult | None = None
    latency: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    speed_trials: list[SpeedTrial] = field(default_factory=list)


class LintFailed(FailedError):
    """The graph this tool made fails the TensorRT lint (a defect of the tool, not of the input)."""


class NonFiniteOutput(FailedError):
    """The reduced graph gives inf/NaN where the FP32 graph does not (a precision rule missed a node)."""


FINITE_CHECK_TILES = 4  # calibration tiles the reduced graph runs on before anything is written


def check_finite(
    graph: onnx.ModelProto, tiles: CalibrationTiles, precision: str, threads: int = 1
) -> None:
    """Run ``graph`` on the first calibration tiles (the FP32 graph was finite on all of them: the statistics
    pass refuses otherwise) and refuse a graph whose output is not finite."""
    import numpy as np

    from comix.runtime.session import SessionFactory

    session = SessionFactory(graph, providers=["CPUExecutionProvider"], threads=threads)()
    names = graph_inputs(graph)
    for index in range(min(FINITE_CHECK_TILES, len(tiles))):
        outputs = session.run(
            None, {names.hsi: tiles.hsi[index : index + 1], names.x: tiles.x[index : index + 1]}
        )
        bad = sum(int(np.size(o) - np.isfinite(o).sum()) for o in outputs)
        if bad:
            raise NonFiniteOutput(
                f"the {precision.upper()} graph gives {bad} non-finite output values on calibration "
                f"tile {index}, where the FP32 graph gives none; nothing was written (keep the "
                "offending nodes in float with --exclude, and report it)"
            )


def _check_request(request: CalibrationRequest) -> None:
    if request.precision not in PRECISIONS:
        raise CalibrationError(
            f"--precision: got {request.precision!r}, expected one of {list(PRECISIONS)}"
        )
    if request.target not in TARGETS:
        raise CalibrationError(f"--target: got {request.target!r}, expected one of {list(TARGETS)}")
    if request.method not in defaults.METHODS:
        raise CalibrationError(
            f"--method: got {request.method!r}, expected one of {list(defaults.METHODS)}"
        )
    if request.dcn_offsets not in OFFSET_MODES:
        raise CalibrationError(
            f"--dcn-offsets: got {request.dcn_offsets!r}, expected one of {list(OFFSET_MODES)}"
        )
    if request.max_drop is not None and request.max_drop < 0:
        raise CalibrationError(
            f"--max-drop: got {request.max_drop}, expected a non-negative budget (mIoU points, "
            "or the loss allowed in --budget-metric for a fusion model)"
        )
    if request.max_drop is not None and request.precision != "int8":
        raise CalibrationError(
            "--max-drop: got it with --precision fp16, expected it only with int8 (FP16 has no "
            "per-node fallback search)"
        )
    output = Path(request.output)
    if output.suffix != ".onnx":
        raise CalibrationError(f"output {output}: got suffix {output.suffix!r}, expected '.onnx'")
    check_parent(output)
    if Path(request.model).resolve() == output.resolve():
        raise CalibrationError(
            f"output {output}: got the input model's own path, expected a new file"
        )


def sidecar_path(output: str | os.PathLike) -> Path:
    """``model.int8.onnx`` -> ``model.int8.onnx.calibration.json``."""
    output = Path(output)
    return output.with_name(output.name + ".calibration.json")


def report_stem(output: str | os.PathLike) -> Path:
    """``model.int8.onnx`` -> ``model.int8.accuracy`` (+ .json / .md / .png)."""
    output = Path(output)
    return output.with_name(output.stem + ".accuracy")


def _statistics(
    request: CalibrationRequest,
    model: onnx.ModelProto,
    data: bytes,
    tiles: CalibrationTiles,
    histogram_tensors: list[str],
    symmetric: bool,
    method: str,
    progress: Progress | None,
) -> tuple[ActivationStatistics, bool, Path | None]:
    import onnxruntime

    inputs = {
        "model_sha256": model_sha256(data),
        "tiles_sha256": tiles.sha256(),
        "method": method,
        "percentile": request.percentile if method == "percentile" else None,
        "symmetric": symmetric,
        "histogram_bins": defaults.HISTOGRAM_BINS,
        "tensors": sorted(histogram_tensors),
        "onnxruntime": onnxruntime.__version__,
    }
    cache = StatisticsCache(request.cache_dir) if request.use_cache else None
    if cache is not None and not request.rebuild_cache:
        cached = cache.load(inputs)
        if cached is not None:
            return cached, True, cache.path(inputs)
    statistics = collect_statistics(
        model,
        tiles,
        method,
        symmetric,
        request.percentile,
        histogram_tensors,
        threads=request.threads,
        progress=(lambda done, total: progress("tiles", done, total)) if progress else None,
    )
    path = cache.store(inputs, statistics) if cache is not None else None
    return statistics, False, path


@dataclass
class _Run:
    """What one calibration has found so far (the steps of :func:`calibrate` fill it in order)."""

    request: CalibrationRequest
    model: onnx.ModelProto
    data: bytes
    record: ModelRecord
    source: CalibrationData
    tiles: CalibrationTiles
    target: object
    clock: Stopwatch
    progress: Progress | None
    statistics: ActivationStatistics | None = None
    from_cache: bool = False
    cache_path: Path | None = None
    method: str = "max"
    reduced: onnx.ModelProto | None = None
    kept: dict = field(default_factory=dict)
    sensitivity: list = field(default_factory=list)
    fallback: FallbackResult | None = None
    speed_trials: list = field(default_factory=list)
    latency: dict = field(default_factory=dict)

    @property
    def int8(self) -> bool:
        return self.request.precision == "int8"


def calibrate(request: CalibrationRequest, progress: Progress | None = None) -> CalibrationResult:
    """Run every step of the module doc; raises :class:`CalibrationError` (bad input) before writing
    anything."""
    clock = Stopwatch()
    with clock("prepare"):
        run = _prepare(request, clock, progress)
    with clock("statistics"):
        _collect(run)
    with clock("convert"):
        _check_exclusions(run)
        if run.int8:
            _int8(run)
        else:
            keep = fp32_nodes(run.model, run.statistics, run.source.fp16_keep(run.model))
            run.reduced, run.kept = convert_fp16(run.model, keep)
    recipe = _record_recipe(run)
    check_finite(run.reduced, run.tiles, request.precision, request.threads)
    lint = lint_graph(run.reduced, run.statistics)
    if run.int8 and request.target == "tensorrt" and request.lint_strict and not lint.passed:
        raise LintFailed(
            f"the INT8 graph fails the TensorRT lint ({len(lint.errors)} errors; first: "
            f"{lint.errors[0].message}); nothing was written"
        )
    accuracy, sidecar_file, report_paths = _write(run, recipe, lint)
    return CalibrationResult(
        Path(request.output),
        sidecar_file,
        recipe,
        lint,
        run.from_cache,
        run.cache_path,
        accuracy,
        report_paths,
        run.sensitivity,
        run.fallback,
        run.latency,
        clock.seconds,
        run.speed_trials,
    )


def _prepare(request: CalibrationRequest, clock: Stopwatch, progress: Progress | None) -> _Run:
    """Check the request, read the FP32 model and its record, open the task's data, draw the tiles."""
    _check_request(request)
    model, data = load_fp32_model(request.model)
    record = ModelRecord.read_onnx(model)
    source = open_calibration_data(
        model, record, request.dataset, request.calibration_data, request.budget_metric
    )
    tiles = source.tiles(request.tiles, request.tile, request.seed)
    target = TARGETS[request.target]
    return _Run(request, model, data, record, source, tiles, target, clock, progress)


def _collect(run: _Run) -> None:
    """Activation statistics (INT8: histograms of the tensors the target quantises; FP16: ranges)."""
    histogram_tensors = activation_tensors(run.model, run.target) if run.int8 else []
    run.method = run.request.method if run.int8 else "max"
    symmetric = run.target.activation_symmetric if run.int8 else True
    run.statistics, run.from_cache, run.cache_path = _statistics(
        run.request,
        run.model,
        run.data,
        run.tiles,
        histogram_tensors,
        symmetric,
        run.method,
        run.progress,
    )


def _check_exclusions(run: _Run) -> None:
    known = {n.name for n in run.model.graph.node}
    unknown = [name for name in run.request.exclude if name not in known]
    if unknown:
        raise CalibrationError(
            f"--exclude: got node names {unknown[:3]} not in the graph, expected names from "
            "the model (see the sensitivity ranking in a previous report)"
        )


def _int8(run: _Run) -> None:
    """The INT8 graph: exclusions (asked, DCN offsets, the family's rules, the CPU speed pass), the
    sensitivity ranking and, with ``--max-drop``, the fallback search."""
    request, model = run.request, run.model
    exclude = dict.fromkeys(request.exclude, "excluded with --exclude")
    if request.dcn_offsets == "float":
        exclude.update({n: OFFSET_REASON for n in offset_convs(model) if n not in exclude})
    exclude.update(
        {n: why for n, why in run.source.int8_exclusions(model).items() if n not in exclude}
    )
    float_readers = run.source.int8_float_readers(model)
    if request.target == "cpu" and request.speed_pass:
        with run.clock("speed_pass"):
            run.speed_trials = _speed_pass(
                request,
                model,
                run.statistics,
                run.target,
                exclude,
                float_readers,
                run.tiles,
                run.progress,
            )
        exclude.update(float_reasons(run.speed_trials))
    ranked = node_sensitivity(
        model, run.statistics, run.target, run.tiles, set(exclude), threads=request.threads
    )
    run.sensitivity = sensitivity_table(ranked, top=len(ranked))
    run.reduced, run.kept = quantize_int8(model, run.statistics, run.target, exclude, float_readers)
    if request.max_drop is not None:
        run.fallback, run.reduced, run.kept = _fallback(
            request,
            run.source,
            model,
            run.statistics,
            run.target,
            exclude,
            float_readers,
            ranked,
            run.progress,
        )


def _record_recipe(run: _Run) -> PrecisionRecipe:
    """The precision recipe, written into the reduced graph's model record."""
    request, target, int8 = run.request, run.target, run.int8
    activation = (
        f"{target.activation_type} {'symmetric' if target.activation_symmetric else 'asymmetric'}"
    )
    weights = "int8 symmetric per-channel" + (", 7-bit" if target.reduce_range else "")
    recipe = PrecisionRecipe(
        precision=request.precision,
        target=request.target if int8 else "any",
        method=run.method if int8 else "",
        tiles=len(run.tiles),
        tile_size=run.tiles.tile_size,
        data_sha256=run.tiles.sha256(),
        source_model_sha256=model_sha256(run.data),
        options={
            "percentile": request.percentile if run.method == "percentile" else None,
            "seed": request.seed,
            "dcn_offsets": request.dcn_offsets if int8 else None,
            "max_drop": request.max_drop,
            "speed_pass": int8 and request.target == "cpu" and request.speed_pass,
            "budget_metric": run.source.budget_metric,
            "budget_unit": run.source.budget_unit,
            "task": run.record.task,
            "activation": activation if int8 else "fp16",
            "weights": weights if int8 else "fp16",
            "source_model": str(request.model),
            "dataset": str(request.dataset),
            "calibration_data": str(request.calibration_data) if request.calibration_data else None,
        },
        kept_float=run.kept,
        fallback=run.fallback.excluded if run.fallback else [],
        tools=tool_versions(),
    )
    run.record.precision = recipe.as_dict()
    run.record.tools = recipe.tools
    run.record.write_onnx(run.reduced)
    return recipe


def _write(run: _Run, recipe: PrecisionRecipe, lint: LintReport):
    """Graph, accuracy report, one-tile latency and sidecar, all or nothing: (accuracy, sidecar, reports)."""
    from comix.runtime.ort_backend import OnnxRuntimeBackend

    request, accuracy, report_paths = run.request, None, []
    with atomic_path(request.output) as temp:
        temp.write_bytes(stamped_bytes(run.reduced))
        if request.report:
            with run.clock("score"):
                backends = {
                    "fp32": OnnxRuntimeBackend(request.model, threads=request.threads),
                    request.precision: OnnxRuntimeBackend(temp, threads=request.threads),
                }
                progress = run.progress
                accuracy = run.source.report(
                    backends, progress=(lambda d, t: progress("score", d, t)) if progress else None
                )
        if run.int8:
            with run.clock("latency"):
                run.latency = tile_latency(
                    {"fp32": run.model, "int8": run.reduced},
                    *input_channels(run.tiles),
                    tile=tuple(run.tiles.tile_size),
                    rounds=5,
                    threads=request.threads,
                )
        sidecar_file = write_text_atomic(
            sidecar_path(request.output),
            json.dumps(_sidecar(run, recipe, lint, accuracy), indent=2, default=str),
        )
        if accuracy is not None:
            report_paths = run.source.write_report(accuracy, report_stem(request.output))
    return accuracy, sidecar_file, report_paths


def _sidecar(run: _Run, recipe: PrecisionRecipe, lint: LintReport, accuracy) -> dict:
    statistics = run.statistics
    return {
        "model": str(run.request.output),
        "source_model": str(run.request.model),
        "task": run.record.task,
        "recipe": recipe.as_dict(),
        "calibration_tiles": {
            "count": len(run.tiles),
            "tile": run.tiles.tile_size,
            "corners": run.tiles.corners,
            **run.source.coverage(run.tiles),
        },
        "statistics": {
            "from_cache": run.from_cache,
            "cache": str(run.cache_path) if run.cache_path else None,
            "tensors": len(statistics.maximum),
            "calibrated": len(statistics.threshold),
        },
        "kept_float": run.kept,
        "speed_pass": [t.as_dict() for t in run.speed_trials],
        "sensitivity": run.sensitivity,
        "fallback": run.fallback.as_dict() if run.fallback else None,
        "lint": lint.as_dict(),
        "latency_one_tile_ms": run.latency,
        "op_census": op_census(run.reduced),
        "accuracy": run.source.summary(accuracy) if accuracy is not None else None,
        "seconds": run.clock.seconds,
    }


def _speed_pass(
    request: CalibrationRequest,
    model,
    statistics,
    target,
    exclude: dict[str, str],
    float_readers,
    tiles: CalibrationTiles,
    progress: Progress | None,
) -> list[SpeedTrial]:
    """Time the quantised node groups float vs INT8 on this CPU (:mod:`comix.calibration.speed`)."""

    def build(extra: list[str]) -> onnx.ModelProto:
        return quantize_int8(
            model,
            statistics,
            target,
            {**exclude, **dict.fromkeys(extra, "speed trial")},
            float_readers,
        )[0]

    def measure(graphs) -> dict[str, float]:
        timed = tile_latency(
            graphs,
            *input_channels(tiles),
            tile=tuple(tiles.tile_size),
            rounds=SPEED_ROUNDS,
            threads=request.threads,
        )
        return {
            "int8": timed["int8"]["median_ms"],
            "float": timed["float"]["median_ms"],
            "ratio": paired_ratio(timed, "float", "int8"),
        }

    groups = node_groups(model, target, skip=set(exclude))
    _, trials = select_float_groups(
        groups,
        build,
        measure,
        progress=(lambda d, t: progress("speed", d, t)) if progress else None,
    )
    return trials


def _fallback(
    request,
    source: CalibrationData,
    model,
    statistics,
    target,
    exclude,
    float_readers,
    ranked,
    progress,
):
    """Run the ``--max-drop`` search; returns (result, graph, kept nodes) of the first graph within budget."""
    from comix.runtime.ort_backend import OnnxRuntimeBackend

    reference = source.budget_value(OnnxRuntimeBackend(request.model, threads=request.threads))
    built: dict[int, tuple] = {}
    names = [s.node for s in ranked]

    def loss(excluded: list[str]) -> tuple[float, float]:
        extra = {
            name: f"fallback: among the {len(excluded)} most sensitive nodes (--max-drop)"
            for name in excluded
        }
        graph, kept = quantize_int8(model, statistics, target, {**exclude, **extra}, float_readers)
        built[len(excluded)] = (graph, kept)
        value = source.budget_value(
            OnnxRuntimeBackend(graph.SerializeToString(), threads=request.threads)
        )
        if progress:
            progress("fallback", len(excluded), len(names))
        return value, source.budget_loss(value, reference)

    result = fallback_search(
        names, request.max_drop, loss, source.budget_metric, source.budget_unit, reference
    )
    graph, kept = built[len(result.excluded)]
    return result, graph, kept


def load_statistics_file(path: str | os.PathLike) -> ActivationStatistics:
    """Statistics from a cache entry file (for ``comix lint --statistics``); refuses a corrupt one."""
    from comix.calibration.cache import FORMAT, CacheCorrupt

    path = Path(path)
    if not path.is_file():
        raise CalibrationError(
            f"--statistics {path}: got no such file, expected a cache entry of comix calibrate"
        )
    try:
        document = json.loads(path.read_text())
        if document.get("format") != FORMAT:
            raise BadInputError("no header")
        return ActivationStatistics.from_dict(document["statistics"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CacheCorrupt(
            f"--statistics {path}: got an unreadable entry ({type(error).__name__}), expected a "
            "cache entry written by comix calibrate"
        ) from None
