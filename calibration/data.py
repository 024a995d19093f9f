"""Calibration data by the model's task: one interface, so ``comix calibrate`` runs one pipeline for every model.

    data = open_calibration_data(model, record, "scene/dataset.yaml")       # CoMiX: a labelled scene
    data = open_calibration_data(model, record, "test.h5", "train.h5")      # SHIP pan-sharpening
    tiles = data.tiles(count=32, tile=None, seed=0)                         # what the statistics pass runs
    report = data.report({"fp32": a, "int8": b})                            # held-out scores, FP32 first

* :class:`SceneData` (``segmentation``): tiles around training pixels, stratified by class
  (:mod:`comix.calibration.tiles`); the report in OA / mIoU on the held-out pixels
  (:mod:`comix.calibration.accuracy`); the ``--max-drop`` budget in mIoU points.
* :class:`FusionData` (``fusion-pansharpen`` / ``fusion-irvis``): crops of the fusion pairs stratified by content
  (:mod:`comix.calibration.fusion_tiles`), from ``--calibration-data`` when given, else from the scored data
  (calibration reads only the inputs, never a reference); the report in the task's image-quality metrics
  (:mod:`comix.calibration.fusion_accuracy`); the budget in one named metric (:data:`DEFAULT_BUDGET_METRIC`).

Data of the wrong kind for the model's task is refused with one sentence before any work.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import onnx

from comix.calibration.errors import CalibrationError
from comix.calibration.graph import GraphInputs, graph_inputs
from comix.calibration.tiles import CalibrationTiles
from comix.metadata import ModelRecord
from comix.runtime.backend import Backend
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, FUSION_TASKS, SEGMENTATION, describe

# the --max-drop budget of each task when --budget-metric is not given: the metric and its unit. Pan-sharpening:
# PSNR (dB) with a reference (Wald's protocol), else PSNR against the synthetic ideal MS, else QNR; IR-VIS has no
# reference: SSIM (with the visible + with the infrared image), which noise lowers (EN and SD rise with noise)
DEFAULT_BUDGET_METRIC = {SEGMENTATION: "mean_iou", FUSION_PANSHARPEN: "psnr", FUSION_IRVIS: "ssim"}
UNITS = {
    "mean_iou": "points",
    "psnr": "dB",
    "truth_psnr": "dB",
    "sam": "degrees",
    "en": "bits",
    "mi": "bits",
}
_KINDS = {
    "scene": "a scene description (dataset YAML)",
    "pansharpen": "pan-sharpening data (a PanCollection .h5)",
    "irvis": "infrared-visible pairs (a folder with ir/ and vi/)",
}
_EXPECTED = {SEGMENTATION: "scene", FUSION_PANSHARPEN: "pansharpen", FUSION_IRVIS: "irvis"}


def data_kind(path: str | os.PathLike) -> str:
    """ "scene", "pansharpen" or "irvis" from the path's form; refuses a missing path or another form."""
    from comix.data.fusion.loading import H5_SUFFIXES

    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        return "scene"
    if path.is_file() and path.suffix.lower() in H5_SUFFIXES:
        return "pansharpen"
    if path.is_dir():
        return "scene" if (path / "dataset.yaml").is_file() else "irvis"
    got = (
        "no such file or folder"
        if not path.exists()
        else f"a {path.suffix or 'file without suffix'}"
    )
    raise CalibrationError(
        f"--data {path}: got {got}, expected a dataset YAML (CoMiX), a PanCollection .h5 "
        "(pan-sharpening) or a folder of ir/ vi/ pairs (IR-VIS)"
    )


class CalibrationData(ABC):
    """What the pipeline needs from the data of one task (module doc)."""

    task: str
    where: str
    budget_metric: str
    budget_unit: str

    @abstractmethod
    def tiles(self, count: int, tile: int | None, seed: int) -> CalibrationTiles: ...

    @abstractmethod
    def coverage(self, tiles: CalibrationTiles) -> dict:
        """What the sidecar says the tiles cover (class counts, content strata)."""

    @abstractmethod
    def budget_value(self, backend: Backend) -> float:
        """The budget metric of one graph on the held-out data."""

    @abstractmethod
    def budget_loss(self, value: float, reference: float) -> float:
        """How much worse ``value`` is than ``reference`` in the budget's unit (> 0 = worse)."""

    @abstractmethod
    def report(self, backends: dict[str, Backend], progress=None):
        """Every graph scored on the held-out data, the first as reference."""

    @abstractmethod
    def write_report(self, report, stem: Path) -> list[Path]: ...

    @abstractmethod
    def summary(self, report) -> dict:
        """The report's headline numbers, per graph (for the sidecar)."""


class SceneData(CalibrationData):
    """A labelled CoMiX scene: calibration around training pixels, scores on held-out pixels."""

    budget_metric, budget_unit = "mean_iou", "points"

    def __init__(self, path: Path, inputs: GraphInputs) -> None:
        from comix.calibration.tiles import check_scene
        from comix.data.loader import load_scene

        self.task, self.where = SEGMENTATION, str(path)
        self.scene = load_scene(path)
        check_scene(self.scene, inputs, str(path))

    def tiles(self, count: int, tile: int | None, seed: int) -> CalibrationTiles:
        from comix.calibration.tiles import calibration_tiles
        from comix.runtime.defaults import TILE

        return calibration_tiles(self.scene, count, tile or TILE, seed)

    def coverage(self, tiles: CalibrationTiles) -> dict:
        return {"class_coverage": tiles.coverage(self.scene.class_names)}

    def budget_value(self, backend: Backend) -> float:
        from comix.train.evaluate import evaluate_scene

        return evaluate_scene(backend, self.scene)[0].mean_iou

    def budget_loss(self, value: float, reference: float) -> float:
        return 100.0 * (reference - value)

    def report(self, backends: dict[str, Backend], progress=None):
        from comix.calibration.accuracy import accuracy_report

        return accuracy_report(backends, self.scene, progress=progress)

    def write_report(self, report, stem: Path) -> list[Path]:
        from comix.calibration.accuracy import write_accuracy_report

        return write_accuracy_report(report, stem)

    def summary(self, report) -> dict:
        return {
            g.name: {
                "mean_iou": g.mean_iou,
                "overall_accuracy": g.overall_accuracy,
                "delta_points": g.delta_points,
                "argmax_agreement_scored": g.argmax_agreement_scored,
            }
            for g in report.graphs
        }


class FusionData(CalibrationData):
    """Fusion pairs of the model's task: stratified crops for calibration, the task's metrics for the report."""

    def __init__(
        self,
        model: onnx.ModelProto,
        record: ModelRecord,
        path: Path,
        calibration_path: Path | None,
        budget_metric: str | None,
    ) -> None:
        self.task, self.where = record.task, str(path)
        self.data_range = float(record.config.get("data_range", 1.0))
        self.primary_channels = int(record.config.get("primary_channels", 3))
        self.scored = self._load(path, "--data")
        self.calibration = (
            self._load(calibration_path, "--calibration-data") if calibration_path else self.scored
        )
        self.calibration_where = str(calibration_path or path)
        self.static_tile = _static_tile(model)
        metrics = self._metrics()
        if budget_metric is None:
            budget_metric = next(
                m
                for m in ("psnr", "truth_psnr", "qnr", DEFAULT_BUDGET_METRIC[self.task])
                if m in metrics
            )
        if budget_metric not in metrics:
            raise CalibrationError(
                f"--budget-metric: got {budget_metric!r}, expected one of {metrics} (the "
                f"metrics of {describe(self.task)} on {path})"
            )
        self.budget_metric, self.budget_unit = budget_metric, UNITS.get(budget_metric, "")

    def _load(self, path: Path, option: str):
        from comix.data.fusion.image_folders import read_image_pairs
        from comix.data.fusion.pancollection import read_pancollection

        expected = _EXPECTED[self.task]
        kind = data_kind(path)
        if kind != expected:
            raise CalibrationError(
                f"{option} {path}: got {_KINDS[kind]}, but {describe(self.task)} calibrates on "
                f"{_KINDS[expected]}"
            )
        if kind == "pansharpen":
            data = read_pancollection(path, self.data_range)
            got, what = data.bands, "MS bands"
        else:
            data = read_image_pairs(path, gray_visible=self.primary_channels == 1)
            got, what = data.visible_channels, "visible channels"
        if got != self.primary_channels:
            raise CalibrationError(
                f"{option} {path}: got {got} {what}, expected {self.primary_channels} as the "
                "model takes"
            )
        if len(data) == 0:
            raise CalibrationError(
                f"{option} {path}: got no samples, expected pairs to calibrate on and to score"
            )
        return data

    def _metrics(self) -> list[str]:
        from comix.data.fusion.pairs import PansharpenSet
        from comix.quality import irvis, pansharpen

        if not isinstance(self.scored, PansharpenSet):
            return list(irvis.METRICS)
        if self.scored.gt is not None:
            return list(pansharpen.REDUCED)
        truth = [f"truth_{m}" for m in pansharpen.REDUCED] if self.scored.truth is not None else []
        return list(pansharpen.FULL) + truth

    def tiles(self, count: int, tile: int | None, seed: int) -> CalibrationTiles:
        from comix.calibration.fusion_tiles import fusion_calibration_tiles
        from comix.runtime.defaults import TILE

        if self.static_tile is not None and tile is not None and (tile, tile) != self.static_tile:
            raise CalibrationError(
                f"--tile: got {tile}, expected {self.static_tile[0]} (the graph's fixed "
                f"{self.static_tile[0]}x{self.static_tile[1]} input) or no --tile"
            )
        size = self.static_tile or tile or TILE
        tiles = fusion_calibration_tiles(self.calibration, count, size, seed)
        if self.static_tile is not None and tuple(tiles.tile_size) != self.static_tile:
            raise CalibrationError(
                f"{self.calibration_where}: got samples of {tiles.tile_size[0]}x"
                f"{tiles.tile_size[1]} px, expected at least the graph's fixed "
                f"{self.static_tile[0]}x{self.static_tile[1]} input"
            )
        return tiles

    def coverage(self, tiles: CalibrationTiles) -> dict:
        from comix.calibration.fusion_tiles import stratum_coverage

        return {
            "source": self.calibration_where,
            "strata": stratum_coverage(tiles),
            "samples": sorted(set(tiles.samples)),
        }

    def budget_value(self, backend: Backend) -> float:
        from comix.train.fusion.evaluate import score_fusion

        return score_fusion(backend, self.scored).metrics[self.budget_metric]

    def budget_loss(self, value: float, reference: float) -> float:
        from comix.train.fusion.evaluate import metric_deltas

        return metric_deltas({self.budget_metric: value}, {self.budget_metric: reference})[
            self.budget_metric
        ]["loss"]

    def report(self, backends: dict[str, Backend], progress=None):
        from comix.calibration.fusion_accuracy import fusion_accuracy_report

        return fusion_accuracy_report(
            backends, self.scored, self.budget_metric, name=self.where, progress=progress
        )

    def write_report(self, report, stem: Path) -> list[Path]:
        from comix.calibration.fusion_accuracy import write_fusion_report

        return write_fusion_report(report, stem)

    def summary(self, report) -> dict:
        return {
            g.name: {
                "metrics": g.metrics,
                "loss": {k: v["loss"] for k, v in g.deltas.items()},
                "fidelity": g.fidelity,
            }
            for g in report.graphs
        }


def _static_tile(model: onnx.ModelProto) -> tuple[int, int] | None:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
        return int(dims[2].dim_value), int(dims[3].dim_value)
    return None


def open_calibration_data(
    model: onnx.ModelProto,
    record: ModelRecord,
    path: str | os.PathLike,
    calibration_path: str | os.PathLike | None = None,
    budget_metric: str | None = None,
) -> CalibrationData:
    """The data adapter of the model's task (module doc); refuses data of another kind in one sentence."""
    path = Path(path)
    if record.task == SEGMENTATION:
        kind = data_kind(path)
        if kind != "scene":
            raise CalibrationError(
                f"--data {path}: got {_KINDS[kind]}, but {describe(SEGMENTATION)} calibrates on "
                f"{_KINDS['scene']}"
            )
        if calibration_path is not None:
            raise CalibrationError(
                "--calibration-data: got it for a CoMiX segmentation model, expected it only for "
                "fusion models (segmentation tiles come from the scene's training pixels)"
            )
        if budget_metric not in (None, "mean_iou"):
            raise CalibrationError(
                f"--budget-metric: got {budget_metric!r}, expected 'mean_iou' (or none) for "
                f"{describe(SEGMENTATION)}"
            )
        return SceneData(path, graph_inputs(model))
    if record.task in FUSION_TASKS:
        graph_inputs(model)  # two rank-4 inputs
        return FusionData(
            model, record, path, Path(calibration_path) if calibration_path else None, budget_metric
        )
    raise CalibrationError(
        f"model: got task {record.task!r} in its record, expected one of "
        f"{[SEGMENTATION, *FUSION_TASKS]}"
    )


def input_channels(tiles: CalibrationTiles) -> tuple[int, int]:
    """(first input channels, second input channels) of the tiles, for the latency probe."""
    return int(np.asarray(tiles.hsi).shape[1]), int(np.asarray(tiles.x).shape[1])
