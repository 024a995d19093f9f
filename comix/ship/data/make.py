"""Write synthetic fusion data sets in the formats the communities use (what ``comix fusion make-data``
calls).

Pan-sharpening: ``train.h5`` (PanCollection layout, reduced resolution by Wald's protocol, patches),
``test.h5`` (reduced resolution, whole held-out scenes) and ``test_full.h5`` (full resolution, no reference)
— values stored as 11-bit digital numbers (reflectance x 2047), so the sets read like real PanCollection
files. IR-VIS: ``train/{ir,vi,mask}`` and ``test/{ir,vi,mask}`` 8-bit PNG pairs. Each scene is a
Houston-like synthetic scene of its own seed (train seeds and test seeds are disjoint). Nothing is written
before every set is made: a refused or failed run creates no folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from comix.atomic import check_writable
from comix.data.errors import DataError
from comix.data.synthetic import houston_like
from comix.ship.data.image_folders import write_image_pairs
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.data.pancollection import DEFAULT_DATA_RANGE, write_pancollection
from comix.ship.data.sensors import sensor as sensor_named
from comix.ship.data.synthesis import (
    concatenate,
    irvis_set,
    pansharpen_scene,
    patches,
    wald_reduced,
)

TASK_NAMES = ("pansharpen", "irvis")


@dataclass
class FusionDataPlan:
    """What to make: scenes of ``size`` x ``size`` pixels, ``train_scenes`` then ``test_scenes`` seeds from
    ``seed``; every field is checked when the plan is made, before any scene."""

    task: str = "pansharpen"
    size: int = 512
    train_scenes: int = 2
    test_scenes: int = 1
    seed: int = 0
    sensor: str = "quickbird"
    patch: int = 64  # pan-sharpening training patches (PAN grid, reduced resolution)
    haze: float = 0.3
    spectral_source: str = "earthlib"
    houston_folder: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise DataError(f"task: got {self.task!r}, expected one of {list(TASK_NAMES)}")
        if self.size < 64 or self.size % 16:
            raise DataError(
                f"size: got {self.size}, expected a multiple of 16 of at least 64 (two ratio-4 levels)"
            )
        if not 0 <= self.haze < 1:
            raise DataError(f"--haze: got {self.haze}, expected a value in [0, 1)")
        sensor_named(self.sensor)  # an unknown sensor: refused before any scene is made
        if self.train_scenes < 1 or self.test_scenes < 1:
            raise DataError(
                f"scenes: got {self.train_scenes} train / {self.test_scenes} test, expected at least 1 each"
            )


def _scenes(plan: FusionDataPlan, seeds: range):
    extra = (
        {}
        if plan.spectral_source == "earthlib"
        else {"spectral_source": plan.spectral_source, "houston_folder": plan.houston_folder}
    )
    return [houston_like(seed=s, height=plan.size, width=plan.size, **extra) for s in seeds]


def make_pansharpen_sets(plan: FusionDataPlan) -> dict[str, PansharpenSet]:
    """{"train": patches, "test": whole reduced-resolution scenes, "test_full": full-resolution scenes}."""
    train_seeds = range(plan.seed, plan.seed + plan.train_scenes)
    test_seeds = range(plan.seed + 1000, plan.seed + 1000 + plan.test_scenes)
    train = [
        wald_reduced(pansharpen_scene(g, plan.sensor, g.scene.metadata["seed"]))
        for g in _scenes(plan, train_seeds)
    ]
    delivered = [
        pansharpen_scene(g, plan.sensor, g.scene.metadata["seed"])
        for g in _scenes(plan, test_seeds)
    ]
    patch = min(plan.patch, plan.size // 4)
    return {
        "train": concatenate([patches(s, patch) for s in train], "train"),
        "test": concatenate([wald_reduced(d) for d in delivered], "test"),
        "test_full": concatenate([d.full_resolution() for d in delivered], "test_full"),
    }


def make_irvis_sets(plan: FusionDataPlan) -> dict[str, IrVisSet]:
    train_seeds = range(plan.seed, plan.seed + plan.train_scenes)
    test_seeds = range(plan.seed + 1000, plan.seed + 1000 + plan.test_scenes)
    return {
        "train": irvis_set(_scenes(plan, train_seeds), plan.seed, plan.haze, "train"),
        "test": irvis_set(_scenes(plan, test_seeds), plan.seed + 1000, plan.haze, "test"),
    }


def make_fusion_data(output: str | os.PathLike, plan: FusionDataPlan) -> dict[str, Path]:
    """Write the sets of ``plan`` into the folder ``output`` (created); returns {set name: path}."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise DataError(f"output {output}: got an existing file, expected a folder (or a new name)")
    check_writable(output)
    # the sets are made in memory first: a refused or failed run creates no folder
    sets = make_pansharpen_sets(plan) if plan.task == "pansharpen" else make_irvis_sets(plan)
    output.mkdir(parents=True, exist_ok=True)
    if plan.task == "pansharpen":
        return {
            name: write_pancollection(output / f"{name}.h5", data, scale=DEFAULT_DATA_RANGE)
            for name, data in sets.items()
        }
    return {name: write_image_pairs(output / name, data) for name, data in sets.items()}
