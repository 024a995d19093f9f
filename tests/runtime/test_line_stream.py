"""Line streaming (:mod:`comix.runtime.line_stream`): every line's classes equal ``comix infer``'s on the same
scene (``segment_source`` on the scene written as files) for passes shorter than a tile, exactly a tile, not
a multiple of the stride, long, narrower than a tile, in strips, static models, nodata lines and pixels;
a line comes out by the push of the line a tile height after it; the buffers do not grow with the pass
(1x and 8x the Houston scene's length); bad lines and options are one sentence."""

from __future__ import annotations

import errno
import io
import tracemalloc

import numpy as np
import pytest
from runtime_helpers import BANDS, CLASSES, X_CHANNELS, make_scene, tiny_net

from comix.errors import BadInputError, FailedError
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.blending import BlendingBand
from comix.runtime.errors import RuntimeInputError
from comix.runtime.line_pump import LinePump
from comix.runtime.line_stream import LineFormat, LineSegmenter
from comix.runtime.ort_backend import OnnxRuntimeBackend
from comix.runtime.segment import open_scene, segment_source
from comix.runtime.streaming import TilePlan
from comix.runtime.tiling import Tile

NODATA = -9999.0
HOUSTON_LINES, HOUSTON_WIDTH = (
    1905,
    349,
)  # the Houston 2013 scene flown as a pushbroom: 1905 lines of 349 px


def _with_nodata(hsi: np.ndarray, x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodata the way a sensor delivers it: whole lines (NaN), a NaN in one band of some pixels, the
    declared nodata value in the X samples of others."""
    rng = np.random.default_rng(seed)
    hsi, x = hsi.copy(), x.copy()
    height, width = hsi.shape[1:]
    hsi[:, rng.integers(0, height, 2)] = np.nan
    rows, cols = rng.integers(0, height, 9), rng.integers(0, width, 9)
    hsi[rng.integers(0, BANDS), rows, cols] = np.nan
    x[0, rng.integers(0, height, 5), rng.integers(0, width, 5)] = NODATA
    return hsi, x


def _bil(hsi: np.ndarray, x: np.ndarray, row: int) -> bytes:
    """Line ``row`` as the sensor sends it: band 0's W samples, band 1's, ..., then the X channels'."""
    return np.concatenate([hsi[:, row], x[:, row]]).astype("<f4").tobytes()


def _stream(segmenter: LineSegmenter, hsi: np.ndarray, x: np.ndarray):
    """Push every line; (classes (H, W), the push index that finished each line: H for ``finish``)."""
    height = hsi.shape[1]
    blocks, out_at = [], []
    for row in range(height):
        for done in segmenter.push_record(_bil(hsi, x, row)):
            blocks.append(done)
            out_at += [row] * done.count
    for done in segmenter.finish():
        blocks.append(done)
        out_at += [height] * done.count
    assert [b.first for b in blocks] == list(np.cumsum([0] + [b.count for b in blocks[:-1]]))
    return np.concatenate([b.classes for b in blocks]), np.asarray(out_at)


def _infer(backend, hsi, x, tmp_path, **options) -> np.ndarray:
    """``comix infer``'s classes: the scene written as files, read window by window by segment_source."""
    np.save(tmp_path / "hsi.npy", hsi)
    np.save(tmp_path / "x.npy", x)
    with open_scene(
        tmp_path / "hsi.npy", tmp_path / "x.npy", layout="CHW", nodata=NODATA
    ) as source:
        run = segment_source(backend, source, tmp_path / "seg.npy", keep_in_memory=True, **options)
    classes = np.load(tmp_path / "seg.npy")
    assert np.array_equal(classes, run.result.classes)
    return classes


@pytest.fixture(scope="module")
def backend(canonical_onnx):
    """The canonical graph (our DCN op) with 2 threads: the setting where ONNX Runtime's numbers depend on
    the batch size, so only the same batches give the same classes."""
    return OnnxRuntimeBackend(canonical_onnx, threads=2)


CASES = {
    # name: height, width, tile, overlap, batch, extra options
    "shorter than a tile": (20, 37, 32, 8, 4, {}),
    "exactly a tile": (32, 37, 32, 8, 2, {}),
    "a tile and one line": (33, 37, 32, 8, 2, {}),
    "not a multiple of the stride": (95, 50, 32, 12, 3, {}),
    "last row on the last line": (92, 50, 32, 12, 1, {}),
    "long, rectangular tile": (301, 41, (24, 32), 8, 4, {}),
    "narrower than a tile": (70, 19, 32, 8, 2, {}),
    "in strips": (61, 97, 24, 6, 2, {"strip_width": 40}),
    "no overlap, mean fill": (50, 44, 16, 0, 3, {"nodata_fill": "mean"}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_line_has_the_classes_of_infer(backend, case, tmp_path):
    height, width, tile, overlap, batch, extra = CASES[case]
    hsi, x = _with_nodata(*make_scene(height, width, seed=height), seed=width)
    options = {"tile": tile, "overlap": overlap, "batch": batch, **extra}
    want = _infer(backend, hsi, x, tmp_path, **options)
    segmenter = LineSegmenter(
        backend, LineFormat(BANDS, X_CHANNELS, width), nodata=NODATA, **options
    )
    got, _ = _stream(segmenter, hsi, x)
    assert got.dtype == np.uint8 and got.shape == (height, width)
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} pixels differ"
    assert (got == 0).any() and set(np.unique(got)) <= set(range(CLASSES + 1))
    stats = segmenter.stats
    assert stats.lines_in == stats.lines_out == height
    assert stats.nodata_pixels == int((want == 0).sum())
    assert stats.nodata_lines == int((want == 0).all(axis=1).sum()) >= 1


def test_workers_run_a_row_in_parallel_with_the_same_classes(canonical_onnx, backend, tmp_path):
    hsi, x = _with_nodata(*make_scene(90, 75, seed=5), seed=6)
    options = {"tile": 24, "overlap": 8, "batch": 1}
    want = _infer(backend, hsi, x, tmp_path, **options)
    extra = [OnnxRuntimeBackend(canonical_onnx, threads=2)]
    segmenter = LineSegmenter(
        backend, LineFormat(BANDS, X_CHANNELS, 75), nodata=NODATA, workers=extra, **options
    )
    got, _ = _stream(segmenter, hsi, x)
    assert np.array_equal(got, want)
    assert segmenter.pool is None  # finish() let the worker threads go


@pytest.fixture(scope="module")
def static_onnx(tmp_path_factory):
    """A static-shape portable export: batch 2, tile 16x20 (a short pass is edge-padded to it)."""
    import onnx
    import torch

    from comix.export.exporter import TorchOnnxExporter

    model = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes=None, portable=True)(
        tiny_net(), (torch.randn(2, BANDS, 16, 20), torch.randn(2, X_CHANNELS, 16, 20))
    )
    path = tmp_path_factory.mktemp("static") / "tiny.static.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("height,width", [(11, 15), (16, 20), (53, 47)])
def test_a_static_model_streams_like_infer(static_onnx, height, width, tmp_path):
    backend = OnnxRuntimeBackend(static_onnx, threads=1)
    hsi, x = _with_nodata(*make_scene(height, width, seed=2), seed=3)
    want = _infer(backend, hsi, x, tmp_path, overlap=4)
    got, _ = _stream(
        LineSegmenter(backend, LineFormat(BANDS, X_CHANNELS, width), nodata=NODATA, overlap=4),
        hsi,
        x,
    )
    assert np.array_equal(got, want)


def test_a_line_comes_out_a_tile_height_after_it_went_in(backend):
    height, width, tile = 157, 30, 24
    hsi, x = make_scene(height, width, seed=9)
    segmenter = LineSegmenter(
        backend, LineFormat(BANDS, X_CHANNELS, width), tile=tile, overlap=8, batch=2
    )
    _, out_at = _stream(segmenter, hsi, x)
    rows = np.arange(height)
    assert (out_at[: height - tile] <= rows[: height - tile] + tile).all(), out_at
    # and not before it is final: only the end of the pass releases the last tile height of lines
    assert (out_at[height - tile :] == height).all()
    assert segmenter.stats.tile_rows == len(
        TilePlan.for_scene(height, width, (tile, tile), 8, 2).grid.rows
    )


def test_batches_never_span_two_tile_rows():
    """What lets a stream run infer's batches as soon as a row is in (see comix.runtime.streaming)."""
    for height, width, tile, overlap, batch, strip in [
        (95, 130, (24, 32), 8, 3, None),
        (61, 203, (24, 32), 8, 5, 64),
        (40, 23, (16, 16), 5, 7, None),
    ]:
        plan = TilePlan.for_scene(height, width, tile, overlap, batch, strip_width=strip)
        assert all(len({t.top for t in b}) == 1 and len(b) <= batch for b in plan.batches)
        tw = plan.tile[1]
        assert [t for b in plan.batches for t in b] == [  # the order is the same as ever
            Tile(top, left)
            for strip_ in plan.strips
            for top in plan.grid.rows
            for left in plan.grid.cols
            if left < strip_.right and left + tw > strip_.left
        ]


class PixelModel(Backend):
    """A cheap stand-in for a network (memory is about the segmenter's buffers, not the model): logits a
    fixed linear map of each pixel's bands and X value."""

    name = "pixel-model"

    def __init__(self) -> None:
        self.info = ModelIO(bands=BANDS, x_channels=X_CHANNELS, classes=CLASSES)
        self.weights = np.random.default_rng(0).normal(size=(CLASSES, BANDS + X_CHANNELS))

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        pixels = np.concatenate([hsi, x], axis=1)
        return np.einsum("kc,bchw->bkhw", self.weights, pixels).astype(np.float32)


def _peak_while_streaming(lines: int) -> tuple[int, int]:
    """(tracemalloc peak of a pass of ``lines`` Houston-wide lines, the segmenter's own buffer bytes); lines
    are made one at a time so only the segmenter holds the pass."""
    segmenter = LineSegmenter(
        PixelModel(), LineFormat(BANDS, X_CHANNELS, HOUSTON_WIDTH), nodata_fill="mean"
    )
    base = np.linspace(0.1, 0.9, BANDS + X_CHANNELS, dtype=np.float32)[:, None]
    columns = np.linspace(0, 1, HOUSTON_WIDTH, dtype=np.float32)[None]
    tracemalloc.start()
    try:
        for row in range(lines):
            record = base * columns + np.float32((row % 97) / 97)
            segmenter.push_record(record.ravel())
        segmenter.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert segmenter.stats.lines_out == lines
    return peak, segmenter.stats.buffer_bytes


def test_memory_does_not_grow_with_the_pass():
    peak_1x, buffers_1x = _peak_while_streaming(HOUSTON_LINES)
    peak_8x, buffers_8x = _peak_while_streaming(8 * HOUSTON_LINES)
    assert buffers_1x == buffers_8x
    assert peak_8x <= 1.1 * peak_1x, f"peak {peak_1x} B at 1x, {peak_8x} B at 8x the Houston length"
    assert (
        peak_8x < 8 * HOUSTON_LINES * HOUSTON_WIDTH * (BANDS + X_CHANNELS) * 4 / 10
    )  # << the pass


# ----------------------------------------------------------------------------------------------- bad input
def test_a_line_of_the_wrong_size_is_one_sentence(backend):
    segmenter = LineSegmenter(backend, LineFormat(BANDS, X_CHANNELS, 20), tile=16, overlap=4)
    segmenter.push_record(np.zeros((BANDS + X_CHANNELS) * 20, "<f4").tobytes())
    with pytest.raises(RuntimeInputError, match=r"line 1: got 556 bytes, expected 560 bytes"):
        segmenter.push_record(np.zeros(139, "<f4").tobytes())
    with pytest.raises(
        RuntimeInputError, match=r"line 1: got HSI shape \(6, 21\), expected \(6, 20\)"
    ):
        segmenter.push(np.zeros((BANDS, 21)), np.zeros((X_CHANNELS, 20)))
    with pytest.raises(RuntimeInputError, match=r"got X shape \(2, 20\), expected \(1, 20\)"):
        segmenter.push(np.zeros((BANDS, 20)), np.zeros((2, 20)))
    assert [d.count for d in segmenter.finish()] == [1]
    with pytest.raises(RuntimeInputError, match="after finish"):
        segmenter.push(np.zeros((BANDS, 20)), np.zeros((X_CHANNELS, 20)))


@pytest.mark.parametrize(
    "line,options,message",
    [
        (LineFormat(BANDS + 1, X_CHANNELS, 20), {}, "got 7 bands, expected 6"),
        (LineFormat(BANDS, 2, 20), {}, "got 2 channels, expected 1"),
        (LineFormat(BANDS, X_CHANNELS, 20), {"tile": 16, "overlap": 16}, "overlap 16"),
        (LineFormat(BANDS, X_CHANNELS, 20), {"batch": 0}, "batch: got 0"),
        (LineFormat(BANDS, X_CHANNELS, 20), {"nodata_fill": "zero"}, "--nodata-fill: got 'zero'"),
    ],
)
def test_bad_options_are_one_sentence(backend, line, options, message):
    with pytest.raises(BadInputError, match=message):
        LineSegmenter(backend, line, **options)


def test_bad_line_formats_and_models():
    with pytest.raises(BadInputError, match="--width: got 0, expected >= 1"):
        LineFormat(BANDS, X_CHANNELS, 0)
    model = PixelModel()
    model.info = ModelIO(bands=BANDS, x_channels=X_CHANNELS, classes=300)
    with pytest.raises(BadInputError, match="got 300 classes, expected at most 254"):
        LineSegmenter(model, LineFormat(BANDS, X_CHANNELS, 20))
    with pytest.raises(BadInputError, match="got no line, expected at least one"):
        LineSegmenter(PixelModel(), LineFormat(BANDS, X_CHANNELS, 20)).finish()


class FailingSource(io.RawIOBase):
    """``data``, then an I/O error where byte ``fail_at`` would be read."""

    def __init__(self, data: bytes, fail_at: int) -> None:
        self.data, self.fail_at, self.position = data, fail_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.position >= self.fail_at:
            raise OSError(errno.EIO, "Input/output error")
        count = min(len(buffer), self.fail_at - self.position)
        buffer[:count] = self.data[self.position : self.position + count]
        self.position += count
        return count


def test_a_read_error_is_one_sentence_after_the_lines_before_it(backend):
    height, width, whole = 60, 20, 41
    hsi, x = make_scene(height, width, seed=1)
    data = b"".join(_bil(hsi, x, row) for row in range(height))
    line = LineFormat(BANDS, X_CHANNELS, width)
    sink = io.BytesIO()
    pump = LinePump(LineSegmenter(backend, line, tile=16, overlap=4))
    with pytest.raises(FailedError) as failed:
        pump.run(FailingSource(data, whole * line.nbytes + 7), sink)
    assert str(failed.value) == (
        f"input: reading line {whole} failed (Input/output error); the {whole} lines before it were "
        "streamed"
    )
    assert failed.value.exit_code == 1 and pump.report.failure == str(failed.value)
    want, _ = _stream(
        LineSegmenter(backend, line, tile=16, overlap=4), hsi[:, :whole], x[:, :whole]
    )
    assert sink.getvalue() == want.tobytes()


@pytest.mark.parametrize(
    "height,width,tile,overlap", [(95, 61, (24, 32), 8), (50, 30, (10, 16), 0)]
)
def test_the_band_popped_line_by_line_is_the_whole_scene_blend(height, width, tile, overlap):
    """The blending band popped one line at a time (as a stream pops it, its rows not moved at each pop;
    with no overlap it empties between tile rows) equals an independent whole-scene accumulator, bit for
    bit."""
    plan = TilePlan.for_scene(height, width, tile, overlap, 3)
    grid, (th, tw) = plan.grid, plan.tile
    rng = np.random.default_rng(4)
    outputs = {t: rng.normal(size=(3, th, tw)).astype(np.float32) for t in grid.tiles()}
    sums = np.zeros((3, grid.height, grid.width), np.float32)
    weights = np.zeros((grid.height, grid.width), np.float32)
    for tile in grid.tiles():
        window = grid.window(tile)
        sums[:, tile.top : tile.top + th, tile.left : tile.left + tw] += outputs[tile] * window
        weights[tile.top : tile.top + th, tile.left : tile.left + tw] += window
    band = BlendingBand(grid.height, grid.width, 3)
    lines = []
    for index, top in enumerate(grid.rows):
        for left in grid.cols:
            tile = Tile(top, left)
            band.add(tile, outputs[tile], grid.window(tile), np.ones((th, tw), bool))
        end = grid.rows[index + 1] if index + 1 < len(grid.rows) else grid.height
        while band.top < end:
            row, blended, valid = band.pop(band.top + 1)
            assert blended.shape == (3, 1, grid.width) and valid.all()
            lines.append(blended[:, 0])
    assert np.array_equal(np.stack(lines, axis=1), sums / weights[None])
    assert band.nbytes <= (th + 8) * grid.width * (3 * 4 + 4 + 1) * 2


def test_the_nearest_fill_needs_no_scipy(backend, monkeypatch):
    """The runtime-only install has no SciPy: the default fill (comix.runtime.nearest_fill) must not reach
    for it, or a pass would stop at its first tile with nodata."""
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.split(".")[0] == "scipy":
            raise ModuleNotFoundError("No module named 'scipy' (blocked)", name="scipy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    line = LineFormat(BANDS, X_CHANNELS, 20)
    hsi, x = make_scene(24, 20, seed=11)
    hsi[:, 3:9, 2:7] = np.nan  # a hole: the nearest fill runs
    with LineSegmenter(backend, line) as segmenter:
        blocks = [b for row in range(24) for b in segmenter.push(hsi[:, row], x[:, row])]
        blocks += segmenter.finish()
    assert sum(block.count for block in blocks) == 24
