"""Streaming inference: the blending band hands on exactly what one whole-scene accumulator gives (an
independent implementation below), keeps only about a tile of rows, skips all-nodata tiles, and the
products on disk mark nodata in every file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_helpers import CLASSES, make_scene, tiny_net

from comix.data.georef import GeoRef
from comix.data.geotiff_io import read_geotiff, write_geotiff
from comix.runtime import SlidingWindow, TorchBackend
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.errors import RuntimeInputError
from comix.runtime.scene_source import SceneSource
from comix.runtime.segment import open_scene, segment_scene, segment_source
from comix.runtime.streaming import BatchOutput, BlockSink, TilePlan, stream, strip_edges

GEOREF = GeoRef.from_origin(271000.0, 3290000.0, 2.5, 2.5, crs="EPSG:32615")


def _whole_scene_blend(plan: TilePlan, outputs: dict, channels: int) -> np.ndarray:
    """The pre-streaming algorithm: one (K, H, W) float32 sum and weight for the whole (padded) scene."""
    grid = plan.grid
    sums = np.zeros((channels, grid.padded_height, grid.padded_width), np.float32)
    weights = np.zeros((grid.padded_height, grid.padded_width), np.float32)
    th, tw = plan.tile
    for tile in grid.tiles():
        window = grid.window(tile)
        sums[:, tile.top : tile.top + th, tile.left : tile.left + tw] += outputs[tile] * window
        weights[tile.top : tile.top + th, tile.left : tile.left + tw] += window
    blended = sums[:, : plan.height, : plan.width]
    blended /= weights[None, : plan.height, : plan.width]
    return blended


class Blocks(BlockSink):
    def __init__(self):
        self.rows, self.blocks = [], []

    def write(self, row, outputs, valid):
        self.rows.append((row, outputs.shape[1]))
        self.blocks.append((outputs.copy(), valid.copy()))


@pytest.mark.parametrize(
    "height,width,tile,overlap,batch",
    [(95, 130, (24, 32), 8, 3), (40, 23, (16, 16), 5, 1), (10, 12, (16, 16), 4, 2)],
)
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
    assert (
        stats.band_bytes <= (plan.tile[0] + rows_per_batch * stride) * width * (3 * 4 + 4 + 1) * 2
    )


class ColumnBlocks(BlockSink):
    """Assembles the scene from column blocks and records their order."""

    column_blocks = True

    def begin(self, height, width, channels, georef=None):
        self.scene = np.full((channels, height, width), -1.0, np.float32)
        self.written = np.zeros((height, width), np.int64)
        self.blocks = []

    def write(self, row, outputs, valid):
        self.write_block(row, 0, outputs, valid)

    def write_block(self, row, col, outputs, valid):
        self.blocks.append((row, col, *outputs.shape[1:]))
        self.scene[:, row : row + outputs.shape[1], col : col + outputs.shape[2]] = outputs
        self.written[row : row + outputs.shape[1], col : col + outputs.shape[2]] += 1


@pytest.mark.parametrize(
    "height,width,tile,overlap,batch,strip,align",
    [
        (61, 203, (24, 32), 8, 3, 64, 16),
        (40, 150, (16, 20), 9, 4, 40, 1),
        (33, 97, (16, 16), 0, 2, 32, 8),
        (20, 300, (16, 24), 12, 5, 50, 5),
    ],
)
def test_strips_give_the_whole_scene_blend_with_a_band_of_one_strip(
    height, width, tile, overlap, batch, strip, align
):
    plan = TilePlan.for_scene(
        height, width, tile, overlap, batch, strip_width=strip, strip_align=align
    )
    edges = [plan.strips[0].left] + [s.right for s in plan.strips]
    widest = max(strip // align * align, -(-tile[1] // align) * align)
    assert edges[0] == 0 and edges[-1] == width and len(plan.strips) > 1
    assert all(
        e % align == 0 and 0 < b - a <= widest for a, b, e in zip(edges, edges[1:], edges[1:-1])
    )
    assert plan.tiles == sum(len(b) for b in plan.batches) >= len(plan.grid)
    if overlap == 0:  # edges fall between tile columns: nothing runs twice
        assert plan.tiles == len(plan.grid)
    # each strip runs exactly the tiles that reach into its columns, every grid tile at least once
    scheduled = [t for b in plan.batches for t in b]
    assert set(scheduled) == set(plan.grid.tiles())
    rng = np.random.default_rng(1)
    outputs = {t: rng.normal(size=(3, *plan.tile)).astype(np.float32) for t in plan.grid.tiles()}
    valid = np.ones(plan.tile, bool)
    sink = ColumnBlocks()
    stats = stream(
        plan,
        iter([BatchOutput(b, [outputs[t] for t in b], [valid] * len(b)) for b in plan.batches]),
        [sink],
    )
    assert (sink.written == 1).all(), "every pixel written exactly once"
    np.testing.assert_array_equal(sink.scene, _whole_scene_blend(plan, outputs, 3))
    assert stats.strips == len(plan.strips) and stats.boundary_tiles == plan.tiles - len(plan.grid)
    stride = plan.tile[0] - plan.grid.overlap
    rows = plan.tile[0] + (-(-batch // 1) + 1) * stride
    assert stats.band_bytes <= rows * widest * (3 * 4 + 4 + 1), "the band is one strip wide"
    columns = [col for _, col, _, _ in sink.blocks]
    assert columns == sorted(columns), "strip by strip, left to right"
    with pytest.raises(RuntimeInputError, match="take whole rows only"):
        stream(plan, iter([]), [Blocks()])


def test_an_all_nodata_first_strip_is_written_once_the_channel_count_is_known():
    """Before any tile has run the class count is unknown: the finished rows of a strip without valid pixels
    are held as (row, column, size) only and written as nodata when the first tile has run."""
    plan = TilePlan.for_scene(40, 150, (16, 20), 6, 4, strip_width=40, strip_align=1)
    first = plan.strips[0]
    rng = np.random.default_rng(2)
    outputs = {t: rng.normal(size=(2, 16, 20)).astype(np.float32) for t in plan.grid.tiles()}

    def batch_output(batch):
        empty = [
            t.left < first.right for t in batch
        ]  # every tile of strip 0: K unknown until strip 1
        return BatchOutput(
            batch,
            [None if e else outputs[t] for t, e in zip(batch, empty)],
            [np.full((16, 20), not e) for e in empty],
        )

    sink = ColumnBlocks()
    stats = stream(plan, map(batch_output, plan.batches), [sink], channels=None)
    assert (sink.written == 1).all() and stats.skipped_tiles > 0
    whole = ColumnBlocks()
    stream(plan, map(batch_output, plan.batches), [whole], channels=2)  # K known from the start
    np.testing.assert_array_equal(sink.scene, whole.scene)
    assert (
        np.isnan(sink.scene[:, :, : first.right]).all()
        and np.isfinite(sink.scene[:, :, first.right + 20 :]).all()
    )


def test_strip_edges_avoid_straddling_tiles():
    from comix.runtime.tiling import TileGrid

    grid = TileGrid(
        100, 7620, 128, 128, 48
    )  # the 16x Houston mosaic's width, default tile and overlap
    edges = strip_edges(grid, 2048, 256)
    assert edges[0] == 0 and edges[-1] == 7620 and all(e % 256 == 0 for e in edges[1:-1])
    assert all(1024 <= b - a <= 2048 for a, b in zip(edges[:-2], edges[1:-1]))
    starts = np.asarray(grid.cols)
    straddling = [int(((starts < e) & (starts + 128 > e)).sum()) for e in edges[1:-1]]
    assert straddling == [1] * len(straddling), (
        "one tile column runs twice per edge (overlap < tile / 2)"
    )
    assert strip_edges(grid, 10_000, 256) == [0, 7620]


def test_strips_give_the_same_products_as_one_band(tmp_path):
    """A real model through strips: the blend is exact (test above); what can differ is a tile's logits in
    their last bits, because strips batch other tiles together and batched kernels may round differently.
    So logits agree to float32 rounding, classes wherever the top two logits are not tied to that level, and
    each product file says the same as the in-memory result."""
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(50, 170, seed=5)
    hsi[:, 20:30, 60:75] = np.nan
    whole = segment_scene(
        backend, hsi, x, tmp_path / "whole.tif", georef=GEOREF, tile=32, overlap=12, batch=3
    )
    with SceneSource.from_arrays(hsi, x, GEOREF) as source:
        strips = segment_source(
            backend,
            source,
            tmp_path / "strips.tif",
            tile=32,
            overlap=12,
            batch=3,
            probabilities=True,
            keep_in_memory=True,
            strip_width=48,
        )
    assert whole.stats.strips == 1  # narrower than the default strip width
    assert strips.stats.strips == 4 and strips.summary["strips"] == 4
    assert strips.summary["boundary_tiles"] == strips.stats.tiles - whole.stats.tiles > 0
    a, b = strips.result.logits, whole.result.logits
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    top2 = np.sort(np.nan_to_num(b, nan=0.0), axis=0)[-2:]
    decided = (top2[1] - top2[0]) > 1e-4
    np.testing.assert_array_equal(strips.result.classes[decided], whole.result.classes[decided])
    classes = strips.result.classes
    np.testing.assert_array_equal(np.load(tmp_path / "strips.npy"), classes)
    np.testing.assert_array_equal(read_geotiff(tmp_path / "strips.tif")[0][0], classes)
    probs = read_geotiff(tmp_path / "strips.probabilities.tif")[0]
    np.testing.assert_allclose(probs, strips.result.probabilities(), rtol=1e-6, atol=1e-7)
    summary = json.loads((tmp_path / "strips.json").read_text())
    assert (
        sum(c["pixels"] for c in summary["classes"]) == int((classes > 0).sum()) == 50 * 170 - 150
    )
    from PIL import Image

    assert (
        np.asarray(Image.open(tmp_path / "strips.png")).shape
        == np.asarray(Image.open(tmp_path / "whole.png")).shape
    )


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
        run = segment_source(
            backend, source, tmp_path / "seg.tif", tile=32, overlap=12, batch=2, keep_in_memory=True
        )
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
    run = segment_scene(
        backend,
        hsi,
        x,
        tmp_path / "seg.tif",
        georef=GEOREF,
        tile=48,
        overlap=16,
        probabilities=True,
    )
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
        segment_source(
            backend, source, tmp_path / "seg.tif", tile=128, overlap=16, batch=4, cog=True
        )
    with rasterio.open(tmp_path / "seg.tif") as dataset:
        assert dataset.overviews(1), "internal overviews"
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "seg.json",
        "seg.npy",
        "seg.png",
        "seg.tif",
    ]


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
