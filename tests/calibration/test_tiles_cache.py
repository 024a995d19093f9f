"""Calibration tiles (stratified, bad scenes refused) and the content-keyed statistics cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from calibration_helpers import BANDS, make_scene

from comix.calibration.cache import StatisticsCache
from comix.calibration.errors import CacheCorrupt, CalibrationError
from comix.calibration.graph import GraphInputs
from comix.calibration.statistics import ActivationStatistics
from comix.calibration.tiles import calibration_tiles, check_scene

INPUTS = GraphInputs("hsi", "x", BANDS, 1)


def test_tiles_cover_every_class_and_come_only_from_training_pixels():
    scene = make_scene()
    tiles = calibration_tiles(scene, count=8, tile=16, seed=0)
    assert tiles.hsi.shape == (8, BANDS, 16, 16) and tiles.x.shape == (8, 1, 16, 16)
    coverage = tiles.coverage(scene.class_names)
    assert all(count >= 1 for count in coverage.values()), coverage
    counts = np.bincount(scene.labels[scene.train_mask], minlength=5)[1:]
    rarest = int(np.argmin(counts)) + 1
    assert rarest in tiles.classes[0], "the first tile is centred on the rarest class"
    for (top, left), hsi in zip(tiles.corners, tiles.hsi):
        np.testing.assert_array_equal(hsi, scene.hsi[:, top : top + 16, left : left + 16])
    again = calibration_tiles(scene, count=8, tile=16, seed=0)
    assert (
        again.sha256() == tiles.sha256()
        and calibration_tiles(scene, 8, 16, seed=1).sha256() != tiles.sha256()
    )


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bands", "got 7 HSI bands, expected 12"),
        ("unlabelled", "got only unlabelled pixels"),
    ],
)
def test_bad_scenes_are_refused_with_one_sentence(case, expected):
    scene = make_scene(bands=7) if case == "bands" else make_scene(unlabelled=True)
    with pytest.raises(CalibrationError, match=expected):
        check_scene(scene, INPUTS, "scene.yaml")


def _statistics(value: float = 1.0) -> ActivationStatistics:
    return ActivationStatistics(
        "max", True, 99.99, 4, {"a": -value}, {"a": 2 * value}, {"a": 2 * value}
    )


def test_cache_hit_miss_and_corruption(tmp_path):
    cache = StatisticsCache(tmp_path)
    inputs = {"model_sha256": "m" * 64, "tiles_sha256": "t" * 64, "method": "max"}
    assert cache.load(inputs) is None
    cache.store(inputs, _statistics())
    assert cache.load(inputs).to_dict() == _statistics().to_dict()
    assert cache.load({**inputs, "tiles_sha256": "u" * 64}) is None, "changed data must never hit"
    assert cache.load({**inputs, "method": "entropy"}) is None
    path = cache.path(inputs)
    document = json.loads(path.read_text())
    document["statistics"]["threshold"]["a"] = 99.0  # tampered: checksum no longer matches
    path.write_text(json.dumps(document))
    with pytest.raises(CacheCorrupt, match="do not match their checksum"):
        cache.load(inputs)
    path.write_text(path.read_text()[:40])  # truncated
    with pytest.raises(CacheCorrupt, match="unreadable JSON.*--rebuild-cache"):
        cache.load(inputs)
    cache.store(inputs, _statistics(3.0))  # a rebuild overwrites the entry
    assert cache.load(inputs).threshold == {"a": 6.0}
