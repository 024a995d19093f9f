"""Whole-scene agreement measures: backend vs backend, tiled vs full pass, split at tile borders."""

from __future__ import annotations

import numpy as np
import pytest

from comix.runtime import ModelIO, RuntimeInputError
from comix.runtime.agreement import (
    border_band,
    border_lines,
    region_stats,
    scene_agreement,
    seam_check,
)
from comix.runtime.backend import Backend


class PerPixel(Backend):
    """Logits from each pixel alone (no context): tiling cannot change them. ``sign=-1`` flips every class."""

    name = "per-pixel"

    def __init__(self, classes: int = 3, sign: float = 1.0):
        self.info = ModelIO(bands=2, x_channels=1, classes=classes)
        self.sign = sign

    def run(self, hsi, x):
        channels = [hsi[:, 0] * (k + 1) - x[:, 0] * k * k for k in range(self.info.classes)]
        return (self.sign * np.stack(channels, axis=1)).astype(np.float32)


class TileContext(Backend):
    """Class 1 where a pixel is above its tile's mean, else class 2: a per-tile global context, like
    the FFM."""

    name = "tile-context"

    def __init__(self):
        self.info = ModelIO(bands=2, x_channels=1, classes=2)

    def run(self, hsi, x):
        centred = hsi[:, 0] - hsi[:, 0].mean(axis=(1, 2), keepdims=True)
        return np.stack([centred, np.zeros_like(centred)], axis=1).astype(np.float32)


def _scene(height: int, width: int):
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    hsi = np.stack([np.sin(rows / 4) + cols / width, np.cos(cols / 5)])
    return hsi.astype(np.float32), (0.3 * np.sin(rows / 3 + cols / 7))[None].astype(np.float32)


def test_border_lines_are_tile_starts_and_ends_inside_the_scene():
    # tile_starts(100, 32, 8) == [0, 24, 48, 68]: starts 24, 48, 68 and ends 32, 56, 80
    # (68 + 32 = 100 is the edge)
    rows, cols = border_lines(100, 64, 32, 8)
    assert rows == [24, 32, 48, 56, 68, 80]
    assert cols == [
        24,
        32,
        56,
    ]  # tile_starts(64, 32, 8) == [0, 24, 32]: starts 24, 32 and ends 32, 56
    assert border_lines(96, 40, 32, 0) == (
        [32, 64],
        [8, 32],
    )  # width 40: starts 0, 8 -> start 8, end 32
    assert border_lines(20, 20, 32, 8) == ([], []), (
        "one tile, clipped to the scene: no interior border"
    )


def test_border_band_marks_pixels_on_both_sides_of_each_line():
    near = border_band(12, 6, rows=[5], cols=[0], band=2)
    assert (
        near[:, 0].all() and near[:, 1].all() and not near[:, 2:][[0, 1, 2, 7, 8, 9, 10, 11]].any()
    )
    assert near[3:7].all(), "rows 3, 4 (before line 5) and 5, 6 (from it)"


def test_region_stats_over_a_mask_and_an_empty_mask():
    agree = np.array([[True, False], [True, True]])
    diff = np.array([[0.0, 2.0], [1.0, 1.0]])
    got = region_stats(agree, diff, np.array([[True, True], [False, False]]))
    assert got["pixels"] == 2 and got["agreement"] == 0.5 and got["mean_logit_diff"] == 1.0
    assert got["p99_logit_diff"] == pytest.approx(1.98)
    empty = region_stats(agree, diff, np.zeros((2, 2), bool))
    assert empty["pixels"] == 0 and np.isnan(empty["agreement"])


def test_compare_backends_counts_differing_classes():
    hsi, x = _scene(40, 56)
    same = scene_agreement(PerPixel(), PerPixel(), hsi, x, tile=16, overlap=4, batch=3)
    assert (
        same["pixels"] == 40 * 56
        and same["differing_pixels"] == 0
        and same["max_abs_logit_diff"] == 0.0
    )
    assert (
        same["tiles"] == 3 * 5 and same["backend_seconds"] >= 0 and same["reference_seconds"] >= 0
    )
    flipped = scene_agreement(PerPixel(sign=-1.0), PerPixel(), hsi, x, tile=16, overlap=4, batch=3)
    assert (
        flipped["differing_pixels"] > 0.5 * flipped["pixels"]
        and flipped["max_abs_logit_diff"] > 1.0
    )
    with pytest.raises(
        RuntimeInputError,
        match=r"logits: got per-pixel \(2, 40, 56\), expected per-pixel's "
        r"\(3, 40, 56\)",
    ):
        scene_agreement(PerPixel(classes=2), PerPixel(), hsi, x, tile=16, overlap=4, batch=3)


def test_seam_check_sees_no_seams_without_context_and_disagreement_with_it():
    hsi, x = _scene(48, 64)
    stats, maps = seam_check(PerPixel(), hsi, x, tile=24, overlaps=[8, 0], batch=4, band=2)
    assert list(stats) == [8, 0] and maps[8].shape == (48, 64)
    for overlap, st in stats.items():
        assert (st["border_rows"], st["border_cols"]) == border_lines(48, 64, 24, overlap)
        assert (
            st["border_band"]["pixels"] + st["elsewhere"]["pixels"]
            == st["all"]["pixels"]
            == 48 * 64
        )
        assert st["all"]["agreement"] == 1.0 and maps[overlap].max() < 1e-5
    stats, _ = seam_check(TileContext(), hsi, x, tile=24, overlaps=[0], batch=4, band=2)
    assert stats[0]["all"]["agreement"] < 0.95, (
        "a per-tile context must show as disagreement with the full pass"
    )
    assert stats[0]["classes_predicted"] == 2 and 0.0 < stats[0]["largest_class_fraction"] < 1.0
