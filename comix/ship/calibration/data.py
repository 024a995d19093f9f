"""SHIP's calibration data: fusion pairs of the model's task behind
:class:`comix.calibration.data.CalibrationData`.

Crops of the fusion pairs stratified by content (:mod:`comix.ship.calibration.tiles`), from
``--calibration-data`` when given, else from the scored data (calibration reads only the inputs, never a
reference); the report in the task's image-quality metrics (:mod:`comix.ship.calibration.accuracy`); the
``--max-drop`` budget in one named metric (:data:`DEFAULT_BUDGET_METRIC`); and SHIP's precision rules
(:mod:`comix.ship.calibration.rules`). Registers the two kinds of fusion data when imported.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from comix.calibration.data import CalibrationData, DataKind, register_data_kind, require_kind
from comix.calibration.errors import CalibrationError
from comix.calibration.graph import graph_inputs
from comix.calibration.tiles import CalibrationTiles
from comix.metadata import ModelRecord
from comix.runtime.backend import Backend
from comix.ship.calibration.rules import (
    fusion_fp32_nodes,
    fusion_int8_exclusions,
    fusion_int8_float_readers,
)
from comix.ship.data.loading import H5_SUFFIXES
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, describe
from comix.tiles import format_tile, parse_tile

# the --max-drop budget of each task when --budget-metric is not given. Pan-sharpening: PSNR (dB) with a
# reference (Wald's protocol), else PSNR against the synthetic ideal MS, else QNR; IR-VIS has no reference:
# SSIM (with the visible + with the infrared image), which noise lowers (EN and SD rise with noise)
DEFAULT_BUDGET_METRIC = {FUSION_PANSHARPEN: "psnr", FUSION_IRVIS: "ssim"}
UNITS = {"psnr": "dB", "truth_psnr": "dB", "sam": "degrees", "en": "bits", "mi": "bits"}


class FusionData(CalibrationData):
    """Fusion pairs of the model's task: stratified crops for calibration, the task's metrics for
    the report."""

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
        from comix.ship.data.image_folders import read_image_pairs
        from comix.ship.data.pancollection import read_pancollection

        kind = require_kind(path, self.task, option)
        if kind.name == "pansharpen":
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
        from comix.ship.data.pairs import PansharpenSet
        from comix.ship.quality import irvis, pansharpen

        if not isinstance(self.scored, PansharpenSet):
            return list(irvis.METRICS)
        if self.scored.gt is not None:
            return list(pansharpen.REDUCED)
        truth = [f"truth_{m}" for m in pansharpen.REDUCED] if self.scored.truth is not None else []
        return list(pansharpen.FULL) + truth

    def tiles(self, count: int, tile: int | None, seed: int) -> CalibrationTiles:
        from comix.runtime.defaults import TILE
        from comix.ship.calibration.tiles import fusion_calibration_tiles

        if (
            self.static_tile is not None
            and tile is not None
            and parse_tile(tile) != self.static_tile
        ):
            raise CalibrationError(
                f"--tile: got {format_tile(parse_tile(tile))}, expected {format_tile(self.static_tile)} "
                "(the graph's fixed input) or no --tile"
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
        from comix.ship.calibration.tiles import stratum_coverage

        return {
            "source": self.calibration_where,
            "strata": stratum_coverage(tiles),
            "samples": sorted(set(tiles.samples)),
        }

    def budget_value(self, backend: Backend) -> float:
        from comix.ship.train.evaluate import score_fusion

        return score_fusion(backend, self.scored).metrics[self.budget_metric]

    def budget_loss(self, value: float, reference: float) -> float:
        from comix.ship.train.evaluate import metric_deltas

        return metric_deltas({self.budget_metric: value}, {self.budget_metric: reference})[
            self.budget_metric
        ]["loss"]

    def report(self, backends: dict[str, Backend], progress=None):
        from comix.ship.calibration.accuracy import fusion_accuracy_report

        return fusion_accuracy_report(
            backends, self.scored, self.budget_metric, name=self.where, progress=progress
        )

    def write_report(self, report, stem: Path) -> list[Path]:
        from comix.ship.calibration.accuracy import write_fusion_report

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

    # SHIP's precision rules (chosen by measurement: docs/ship.md, "Precision")
    def int8_exclusions(self, model: onnx.ModelProto) -> dict[str, str]:
        return fusion_int8_exclusions(model)

    def int8_float_readers(self, model: onnx.ModelProto) -> list[str] | None:
        return fusion_int8_float_readers(model)

    def fp16_keep(self, model: onnx.ModelProto) -> dict[str, str] | None:
        return fusion_fp32_nodes(model)


def _static_tile(model: onnx.ModelProto) -> tuple[int, int] | None:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
        return int(dims[2].dim_value), int(dims[3].dim_value)
    return None


def _open_fusion(
    model: onnx.ModelProto,
    record: ModelRecord,
    path: Path,
    calibration_path: Path | None,
    budget_metric: str | None,
) -> FusionData:
    graph_inputs(model)  # two rank-4 inputs
    return FusionData(model, record, path, calibration_path, budget_metric)


def _is_pancollection(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in H5_SUFFIXES


def _is_pair_folder(path: Path) -> bool:
    return path.is_dir() and not (path / "dataset.yaml").is_file()


register_data_kind(
    DataKind(
        "pansharpen",
        "pan-sharpening data (a PanCollection .h5)",
        _is_pancollection,
        FUSION_PANSHARPEN,
        _open_fusion,
    )
)
register_data_kind(
    DataKind(
        "irvis",
        "infrared-visible pairs (a folder with ir/ and vi/)",
        _is_pair_folder,
        FUSION_IRVIS,
        _open_fusion,
    )
)
