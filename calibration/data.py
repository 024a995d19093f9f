"""Calibration data by the model's task: one interface, so ``comix calibrate`` runs one pipeline for
every model.

    data = open_calibration_data(model, record, "scene/dataset.yaml")       # CoMiX: a labelled scene
    data = open_calibration_data(model, record, "test.h5", "train.h5")      # SHIP pan-sharpening
    tiles = data.tiles(count=32, tile=None, seed=0)                         # what the statistics pass runs
    report = data.report({"fp32": a, "int8": b})                            # held-out scores, FP32 first

Each family registers its kinds of data here (:func:`register_data_kind`): :class:`SceneData`
(``segmentation``) below — tiles around training pixels, stratified by class (:mod:`comix.calibration.tiles`),
the report in OA / mIoU on the held-out pixels (:mod:`comix.calibration.accuracy`), the ``--max-drop`` budget
in mIoU points — and SHIP's fusion pairs in :mod:`comix.ship.calibration.data`. A family's data object also
carries the family's precision rules (what its graphs keep in float), so the pipeline has no
per-family branch.

Data of the wrong kind for the model's task is refused with one sentence before any work.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from comix.calibration.errors import CalibrationError
from comix.calibration.graph import GraphInputs, graph_inputs
from comix.calibration.tiles import CalibrationTiles
from comix.metadata import ModelRecord
from comix.runtime.backend import Backend
from comix.tasks import SEGMENTATION, describe, load_family_parts

# opens the data of one kind: (model, record, path, calibration_path, budget_metric) -> CalibrationData
Opener = Callable[..., "CalibrationData"]


@dataclass(frozen=True)
class DataKind:
    """One kind of calibration data: its name, how a person calls it, how to recognise a path of it, the task
    it serves and how to open it."""

    name: str
    description: str
    recognizes: Callable[[Path], bool]
    task: str
    opener: Opener


_KINDS: dict[str, DataKind] = {}


def register_data_kind(kind: DataKind) -> DataKind:
    """Add a kind of calibration data (a family's part calls this when it is imported)."""
    _KINDS[kind.name] = kind
    return kind


def _kinds() -> dict[str, DataKind]:
    load_family_parts("calibration")
    return _KINDS


def data_kind(path: str | os.PathLike) -> DataKind:
    """The kind of data at ``path``, from its form; refuses a missing path or a form no kind takes."""
    path = Path(path)
    for kind in _kinds().values():
        if path.exists() and kind.recognizes(path):
            return kind
    got = (
        "no such file or folder"
        if not path.exists()
        else f"a {path.suffix or 'file without suffix'}"
    )
    expected = ", ".join(kind.description for kind in _kinds().values())
    raise CalibrationError(f"--data {path}: got {got}, expected one of: {expected}")


def require_kind(path: Path, task: str, option: str = "--data") -> DataKind:
    """The kind of data at ``path`` when it is the kind ``task`` calibrates on; else one sentence."""
    kind = data_kind(path)
    if kind.task != task:
        expected = [k.description for k in _kinds().values() if k.task == task]
        raise CalibrationError(
            f"{option} {path}: got {kind.description}, but {describe(task)} calibrates on "
            f"{' or '.join(expected)}"
        )
    return kind


class CalibrationData(ABC):
    """What the pipeline needs from the data of one task (module doc), and the family's precision rules."""

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

    # the family's precision rules (none for CoMiX: the shared rules of comix.calibration cover it)
    def int8_exclusions(self, model: onnx.ModelProto) -> dict[str, str]:
        """Nodes an INT8 graph of this family keeps float: {node name: why}."""
        return {}

    def int8_float_readers(self, model: onnx.ModelProto) -> list[str] | None:
        """Nodes whose float inputs must not be quantised (None: no such rule)."""
        return None

    def fp16_keep(self, model: onnx.ModelProto) -> dict[str, str] | None:
        """The family's own FP32 keep-list of an FP16 graph (None: the shared rules only)."""
        return None


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


def _open_scene(
    model: onnx.ModelProto,
    record: ModelRecord,
    path: Path,
    calibration_path: Path | None,
    budget_metric: str | None,
) -> SceneData:
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


def _is_scene(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in (".yaml", ".yml")
    return (path / "dataset.yaml").is_file()


register_data_kind(
    DataKind("scene", "a scene description (dataset YAML)", _is_scene, SEGMENTATION, _open_scene)
)


def open_calibration_data(
    model: onnx.ModelProto,
    record: ModelRecord,
    path: str | os.PathLike,
    calibration_path: str | os.PathLike | None = None,
    budget_metric: str | None = None,
) -> CalibrationData:
    """The data adapter of the model's task (module doc); refuses data of another kind in one sentence."""
    path = Path(path)
    if not any(kind.task == record.task for kind in _kinds().values()):
        raise CalibrationError(
            f"model: got task {record.task!r} in its record, expected one of "
            f"{sorted({kind.task for kind in _kinds().values()})}"
        )
    kind = require_kind(path, record.task)
    return kind.opener(
        model, record, path, Path(calibration_path) if calibration_path else None, budget_metric
    )


def input_channels(tiles: CalibrationTiles) -> tuple[int, int]:
    """(first input channels, second input channels) of the tiles, for the latency probe."""
    return int(np.asarray(tiles.hsi).shape[1]), int(np.asarray(tiles.x).shape[1])
