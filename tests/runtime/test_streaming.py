"""Streaming inference: the blending band hands on exactly what one whole-scene accumulator gives (an
independent implementation below), keeps only about a tile of rows, skips all-nodata tiles, and the
products on disk mark nodata in every file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_helpers import CLASSES, make_scene, tiny_net

from comix.data.geotiff_io import read_geotiff, write_geotiff
from comix.data.georef import GeoRef
from comix.runtime import SlidingWindow, TorchBackend
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.scene_source import SceneSource
from comix.runtime.segment import open_scene, segment_scene, segment_source
from comix.runtime.streaming import BatchOutput, BlockSink, TilePlan, stream

GEOREF = GeoRef.from_origin(271000.0, 3290000.0, 2.5, 2.5, crs="EPSG:32615")


def _whole_scene_blend(plan: TilePlan, outputs: dict, channels: int) -> np.ndarray:
    """The pre-streaming algorithm: one (K, H, W) float32 sum and weight for the whole (padded) scene."""
    grid = plan.grid
    sums = np.zeros((channels, grid.padded_height, grid.padded_width), np.float32)
    weights = np.zeros((grid.padded_height, grid.padded_width), np.float32)
    th, tw = plan.tile
    for tile in grid.tiles():
        window = grid.window(tile)
        sums[:, tile.top:tile.top + th, tile.left:tile.left + tw] += outputs[tile] * window
        weights[tile.top:tile.top + th, tile.left:tile.left + tw] += window
    blended = sums[:, :plan.height, :plan.width]
    blended /= weights[None, :plan.height, :plan.width]
    return blended


class Blocks(BlockSink):
    def __init__(self):
        self.rows, self.blocks = [], []

    def write(self, row, outputs, valid):
        self.rows.append((row, outputs.shape[1]))
        self.blocks.append((outputs.copy(), valid.copy()))


@pytest.mark.parametrize("height,width,tile,overlap,batch", [(95, 130, (24, 32), 8, 3), (40, 23, (16, 16), 5, 1),
                                                               (10, 12, (16, 16), 4, 2)])
def test_band_equals_a_whole_scene_accumulator_and_stays_small(height, width, tile, overlap, batch):
    static = height < tile[0]  # a scene smaller than a static model's tile is edge-padded
    plan = TilePlan.for_scene(height, width, tile, overlap, batch, static_tile=static)
    rng = np.random.default_rng(0)
    outputs = {t: rng.normal(size=(3, *plan.tile)).astype(np.float32) for t in plan.grid.tiles()}
    valid = np.ones(plan.tile, bool)
    batches = [BatchOutput(b, [outputs[t] for t in b], [valid] * len(b)) for b in plan.batches]
    sink = Blocks()
    stats = stream(plan, iter(batches), [sink])
    got = np.concatenate([b for b, _ in sink.blocks], axis=1)
    np.testing.assert_array_equal(got, _whole_scene_blend(plan, outputs, 3))
    starts = [row for row, _ in sink.rows]
    assert starts[0] == 0 and all(a + n == b for (a, n), b in zip(sink.rows, starts[1:]))
    tiles_per_row = len(plan.grid.cols)
    rows_per_batch = -(-batch // tiles_per_row) + 1
    stride = plan.tile[0] - plan.grid.overlap
    assert stats.band_bytes <= (plan.tile[0] + rows_per_batch * stride) * width * (3 * 4 + 4 + 1) * 2


def test_tiles_without_valid_pixels_are_skipped_and_nodata_is_nan():
    class Counting(Backend):
        name = "counting"
        info = ModelIO(bands=6, x_channels=1, classes=CLASSES, hsi_mean=[0.0] * 6, x_mean=[10.0])

        def __init__(self):
            self.seen = 0
            self.inner = TorchBackend(tiny_net())

        def run(self, hsi, x):
            assert np.isfinite(hsi).all() and np.isfinite(x).all(), "nodata never reaches the model"
            self.seen += hsi.shape[0]
            return self.inner.run(hsi, x)

    hsi, x = make_scene(64, 64)
    hsi[:, :, :30] = np.nan  # the left 30 columns: the first tile column (0-24) has no valid pixel
    backend = Counting()
    result = SlidingWindow(backend, tile=24, overlap=4, batch=3)(hsi, x)
    assert result.stats.skipped_tiles == 3 and backend.seen == result.tiles - 3
    assert (result.classes[:, :30] == 0).all() and (result.classes[:, 30:] > 0).all()
    assert np.isnan(result.logits[:, :, :30]).all() and np.isfinite(result.logits[:, :, 30:]).all()


def test_a_scene_on_disk_streams_to_the_same_classes_as_in_memory(tmp_path):
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(70, 90, seed=3)
    write_geotiff(tmp_path / "hsi.tif", hsi, GEOREF)
    np.save(tmp_path / "x.npy", np.moveaxis(x, 0, -1))
    in_memory = SlidingWindow(backend, tile=32, overlap=12, batch=2)(hsi, x)
    with open_scene(tmp_path / "hsi.tif", tmp_path / "x.npy") as source:
        run = segment_source(backend, source, tmp_path / "seg.tif", tile=32, overlap=12, batch=2, keep_in_memory=True)
    np.testing.assert_array_equal(run.result.logits, in_memory.logits)
    np.testing.assert_array_equal(np.load(tmp_path / "seg.npy"), in_memory.classes)
    assert read_geotiff(tmp_path / "seg.tif")[1].crs == "EPSG:32615"


def test_nodata_is_nodata_in_every_product(tmp_path):
    import rasterio

    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(90, 150, seed=1)
    hole = np.zeros((90, 150), bool)
    hole[40:55, 60:80] = True
    hsi[:, hole] = np.nan
    run = segment_scene(backend, hsi, x, tmp_path / "seg.tif", georef=GEOREF, tile=48, overlap=16, probabilities=True)
    classes = np.load(tmp_path / "seg.npy")
    assert (classes[hole] == 0).all() and (classes[~hole] > 0).all()
    with rasterio.open(tmp_path / "seg.tif") as dataset:
        assert dataset.nodata == 0 and dataset.profile["tiled"] and dataset.compression is not None
        np.testing.assert_array_equal(dataset.read(1), classes)
    with rasterio.open(tmp_path / "seg.probabilities.tif") as dataset:
        probs = dataset.read()
        assert np.isnan(dataset.nodata) and np.isnan(probs[:, hole]).all()
        np.testing.assert_allclose(probs[:, ~hole].sum(0), 1.0, atol=1e-5)
    summary = json.loads((tmp_path / "seg.json").read_text())
    assert summary["nodata"]["pixels"] == 300 and summary["nodata_pixels"] == 300
    assert sum(c["pixels"] for c in summary["classes"]) == 90 * 150 - 300
    assert summary["nodata"]["fill"].startswith("nearest")
    from PIL import Image

    png = np.asarray(Image.open(tmp_path / "seg.png"))
    assert png.ndim == 3 and run.result.valid.sum() == 90 * 150 - 300


def test_cog_output_has_overviews(tmp_path):
    import rasterio

    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(600, 700, seed=2)
    with SceneSource.from_arrays(hsi, x, GEOREF) as source:
        segment_source(backend, source, tmp_path / "seg.tif", tile=128, overlap=16, batch=4, cog=True)
    with rasterio.open(tmp_path / "seg.tif") as dataset:
        assert dataset.overviews(1), "internal overviews"
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.json", "seg.npy", "seg.png", "seg.tif"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from comix.runtime import outputs

    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(30, 30)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("comix.viz.save_class_map", broken)
    with pytest.raises(OSError, match="disk full"):
        segment_scene(backend, hsi, x, tmp_path / "seg.tif", tile=16, overlap=4)
    assert list(tmp_path.iterdir()) == []
    assert outputs.PREVIEW_MAX_PIXELS == 2048
