"""Pushbroom line streaming in the C API (comix_stream_*): a C client written against comix_infer.h alone
pushes a scene line by line, and every line's classes equal those `comix infer` writes for the same scene
(comix.runtime.segment.segment_source on the same arrays, its class product read back), bit for bit: short,
exact, odd and long passes, several widths, tiles, overlaps and batches, nodata, fixed-tile models, scenes
the runtime plans in strips. Also: when each line comes out (one tile height after it went in), the
counters, the watchdog, and every bad call's sentence (stream_cases.c).

The networks are small and random (TinyHsiXNet; an untrained comix_t), so many pixels' logits nearly tie:
a blending weight or an accumulation order off by one rounding would show as changed classes.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from capi_helpers import python_classes, run, run_stream, scene

OK, FAILED, BAD_INPUT = 0, 1, 2


def check_stream(client, model, hsi, x, folder, tile=None, overlap=None, batch=None, nodata=None,
                 python_batch=None):  # fmt: skip
    """Stream the scene through the C client and compare with the Python runtime; returns the client's
    values and the Python run. ``batch`` is the stream's (default: 1), ``python_batch`` comix infer's
    (default: 4): which tiles share a model call must not change a class."""
    expected, reference = python_classes(
        model, hsi, x, folder / "python", tile, overlap, python_batch, nodata
    )
    classes, out_at, values = run_stream(
        client, model, hsi, x, folder / "c", tile, overlap, batch, nodata
    )
    height, width = hsi.shape[1:]
    assert classes.shape == (height, width), values
    differ = np.argwhere(classes != expected)
    assert differ.size == 0, (
        f"{len(differ)} of {height * width} pixels differ from comix infer, first at (row, col) "
        f"{differ[:5].tolist()}"
    )
    stats = reference.stats
    assert int(values["lines_in"]) == int(values["lines_out"]) == int(values["popped"]) == height
    assert int(values["lines_ready"]) == 0 and values["finished"] == "1"
    if stats.strips == 1:  # a plan in strips runs the tiles across strip edges twice
        assert int(values["tiles"]) == stats.tiles, (values["tiles"], stats.tiles)
        assert int(values["tiles_skipped"]) == stats.skipped_tiles
    assert int(values["nodata_pixels"]) == reference.summary["nodata"]["pixels"]
    # the watchdog: once per tile (skipped ones too), with the handle's running count
    assert int(values["watchdog_calls"]) == int(values["watchdog_last"]) == int(values["tiles"])
    assert values["tile"] == "x".join(map(str, reference.summary["tile"])), values["tile"]
    check_latency(out_at, height, int(values["tile"].split("x")[0]))
    return values, reference


def check_latency(out_at: np.ndarray, height: int, tile_h: int) -> None:
    """Line i comes out with the push of line i + tile_h (lines pushed = i + tile_h + 1): one tile height
    after it went in; the last tile_h lines at the finish (all of them when the pass is a tile or less)."""
    assert out_at.shape == (height,)
    early = max(0, height - tile_h)
    expected = np.concatenate([np.arange(early) + tile_h + 1, np.full(height - early, -1)])
    assert np.array_equal(out_at, expected), (out_at[:8], expected[:8])


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "batch"),
    [
        (5, 37, 16, None, None),  # shorter than a tile: the tile becomes the pass's 5 lines
        (16, 20, 16, 5, None),  # exactly one tile
        (36, 33, 16, 6, None),  # the regular rows end exactly at the last line (16 + 2 x 10)
        (53, 29, (16, 12), 6, 3),  # not a multiple of the stride, non-square tile, batches of 3
        (47, 3, 16, 0, None),  # 3 px wide (the tile narrows to 3), no overlap
        (26, 40, 16, 15, 2),  # the largest overlap: a row of tiles every line
        (100, 50, 20, 7, 1),
        (150, 61, 16, None, None),  # long, the default overlap (6 at 16)
    ],
)
def test_classes_equal_comix_infer(clients, tiny, tmp_path, height, width, tile, overlap, batch):
    hsi, x = scene(height, width, seed=height + width)
    check_stream(
        clients["stream_client"], tiny["canonical"], hsi, x, tmp_path, tile, overlap, batch
    )


def test_defaults_equal_comix_infer_defaults(clients, tiny, tmp_path):
    """No options: the tile 128 (limited to the width and, for a short pass, to its height), overlap 48."""
    hsi, x = scene(140, 45, seed=3)
    values, _ = check_stream(clients["stream_client"], tiny["canonical"], hsi, x, tmp_path)
    assert values["tile"] == "128x45" and values["overlap"] == "44" and values["batch"] == "1"


def test_portable_graph(clients, tiny, tmp_path):
    hsi, x = scene(41, 26, seed=4)
    check_stream(clients["stream_client"], tiny["portable"], hsi, x, tmp_path, 16, 5, 2)


def nodata_scene(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A scene with every kind of nodata: whole NaN lines, scattered +Inf and -9999 samples in one band or
    channel, a hole larger than a tile (tiles without a valid pixel: skipped), and leading NaN lines."""
    hsi, x = scene(height, width, seed)
    rng = np.random.default_rng(seed)
    hsi[:, :3] = np.nan  # the pass starts without data
    hsi[:, 9:11] = np.nan
    hsi[2, rng.integers(0, height, 40), rng.integers(0, width, 40)] = np.inf
    x[0, rng.integers(0, height, 30), rng.integers(0, width, 30)] = -9999
    hsi[1, 14, 3:9] = -9999
    hsi[:, 30:62, 2:30] = np.nan
    return hsi, x


@pytest.mark.parametrize("nodata", [None, -9999.0])
@pytest.mark.parametrize(("height", "width", "tile", "batch"), [(80, 41, 16, 2), (33, 35, 16, 1)])
def test_nodata(clients, tiny, tmp_path, nodata, height, width, tile, batch):
    hsi, x = nodata_scene(height, width, seed=height)
    values, reference = check_stream(
        clients["stream_client"], tiny["canonical"], hsi, x, tmp_path, tile, None, batch, nodata
    )
    invalid = ~np.isfinite(hsi).all(0) | ~np.isfinite(x).all(0)
    if nodata is not None:
        invalid |= (hsi == nodata).any(0) | (x == nodata).any(0)
    assert int(values["nodata_pixels"]) == invalid.sum() > 0
    assert int(values["nodata_lines"]) == invalid.all(1).sum() >= 5
    if height > 62:
        assert int(values["tiles_skipped"]) > 0, values


def test_a_pass_without_data(clients, tiny, tmp_path):
    hsi, x = scene(30, 20, seed=5)
    hsi[:] = np.nan
    values, _ = check_stream(clients["stream_client"], tiny["canonical"], hsi, x, tmp_path, 16)
    assert values["model_calls"] == "0" and values["tiles_skipped"] == values["tiles"] == "6"
    assert values["nodata_lines"] == "30"


@pytest.mark.parametrize(
    ("height", "width", "overlap"),
    [(5, 9, None), (16, 16, 3), (40, 12, None), (41, 50, 5), (3, 40, None)],
)
def test_fixed_tile_model(clients, tiny, tmp_path, height, width, overlap):
    """A model exported with a fixed 16 x 16 tile and batch 1: short and narrow passes are edge-padded."""
    hsi, x = scene(height, width, seed=height)
    hsi[:, height // 2, width // 3] = np.nan
    values, _ = check_stream(
        clients["stream_client"], tiny["static"], hsi, x, tmp_path, overlap=overlap, python_batch=1
    )
    assert values["tile"] == "16x16"


def test_a_scene_the_runtime_plans_in_strips(clients, tiny, tmp_path):
    """Wider than defaults.STRIP_WIDTH (2048): comix infer runs vertical strips, the stream one band."""
    hsi, x = scene(20, 2100, seed=6)
    _, reference = check_stream(clients["stream_client"], tiny["canonical"], hsi, x, tmp_path, 16)
    assert reference.stats.strips > 1


@pytest.mark.slow
def test_comix_t(clients, comix_t, tmp_path):
    """An untrained comix_t (144 bands + 1, 15 classes; near-tied logits everywhere), with nodata."""
    hsi, x = scene(75, 50, seed=7, bands=144, x_channels=1)
    hsi[:, 20:23] = np.nan
    hsi[5, 40:44, 10:30] = -9999
    check_stream(
        clients["stream_client"], comix_t["canonical"], hsi, x, tmp_path, 32, None, None, -9999
    )


# ---------------------------------------------------------------------------------------- bad calls


def failing_model() -> onnx.ModelProto:
    """hsi (N, 6, H, W), x (N, 1, H, W) -> (N, 4, H, W) through a Reshape to (-1, 4, 16, 16) and back: ONNX
    Runtime fails the run unless H x W is a multiple of 16 x 16."""
    from onnx import TensorProto, helper, numpy_helper

    def tensor(name, channels):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", channels, "h", "w"])

    constants = {"starts": [0], "ends": [4], "axes": [1], "shape": [-1, 4, 16, 16]}
    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["hsi", "starts", "ends", "axes"], ["four"]),
            helper.make_node("Add", ["four", "x"], ["sum"]),
            helper.make_node("Reshape", ["sum", "shape"], ["flat"]),
            helper.make_node("Shape", ["sum"], ["back"]),
            helper.make_node("Reshape", ["flat", "back"], ["logits"]),
        ],
        "failing",
        [tensor("hsi", 6), tensor("x", 1)],
        [tensor("logits", 4)],
        [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


@pytest.fixture(scope="module")
def cases(clients, tiny, tmp_path_factory) -> dict[str, tuple[int, str]]:
    folder = tmp_path_factory.mktemp("stream_cases")
    model = onnx.load(str(tiny["canonical"]))
    tasks = [p for p in model.metadata_props if p.key == "comix.task"]
    entry = tasks[0] if tasks else model.metadata_props.add()
    entry.key, entry.value = "comix.task", "fusion"
    onnx.save(model, str(folder / "fusion.onnx"))
    onnx.save(failing_model(), str(folder / "failing.onnx"))
    result = run(
        [
            clients["stream_cases"],
            tiny["canonical"],
            tiny["static"],
            folder / "fusion.onnx",
            folder / "failing.onnx",
        ]
    )
    assert result.returncode == 0, (
        f"stream_cases crashed or failed: rc {result.returncode}\n{result.stderr}"
    )
    found = {}
    for line in result.stdout.splitlines():
        name, status, message = line.split("\t", 2)
        found[name] = (int(status), message)
    assert "done" in found, result.stdout
    return found


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("open_null_model", "comix_stream_open: got NULL model, expected a handle from comix_open"),
        ("open_null_out", "comix_stream_open: got NULL stream, expected a comix_stream*"),
        ("open_width_0", "comix_stream_open: width: got 0, expected >= 1 pixels"),
        ("open_width_negative", "comix_stream_open: width: got -5, expected >= 1 pixels"),
        ("open_negative_tile", "options.tile_height x tile_width: got -4x0, expected sizes >= 1"),
        (
            "open_tile_width_only",
            "options.tile_width: got 12 with tile_height 0, expected a tile_height",
        ),
        ("open_overlap_too_big", "options.overlap: got 16, expected 0 <= overlap < 16"),
        ("open_overlap_negative", "options.overlap: got -1, expected 0 <= overlap < 16"),
        ("open_bad_overlap_set", "options.overlap_set: got 2, expected 0 or 1"),
        ("open_negative_batch", "options.batch: got -1, expected >= 1 (or 0 for the default)"),
        ("open_bad_nodata_set", "options.nodata_set: got 3, expected 0 or 1"),
        ("open_nodata_out_of_range", "options.nodata: got 1e+300, expected a value a float32"),
        ("open_huge_tile", "got 1073741824x1073741824, expected sides of at most 65536 pixels"),
        ("open_huge_buffers", "ring of lines would exceed 2^40 floats"),
        ("open_fusion", "got a model whose task is 'fusion', expected a segmentation model"),
        (
            "static_wrong_tile",
            "tile: got 32x32, expected 16x16 because the model was exported with static",
        ),
        (
            "static_wrong_batch",
            "options.batch: got 2, expected 1 because the model was exported with a static",
        ),
        (
            "push_null_stream",
            "comix_stream_push: got NULL stream, expected a stream from comix_stream_open",
        ),
        (
            "push_null_line",
            "comix_stream_push: got NULL line, expected (bands + x_channels) x width",
        ),
        (
            "push_short_line",
            "got a line of 139 floats, expected 140 ((6 bands + 1 X channels) x 20 pixels)",
        ),
        ("push_long_line", "got a line of 141 floats, expected 140"),
        (
            "push_while_full",
            "got a line while 16 finished lines wait, expected comix_stream_pop to take them",
        ),
        (
            "push_after_finish",
            "got a line after comix_stream_finish, expected comix_stream_reset first",
        ),
        ("pop_null_stream", "comix_stream_pop: got NULL stream"),
        ("pop_null_classes", "comix_stream_pop: got NULL classes"),
        ("pop_null_lines", "comix_stream_pop: got NULL lines"),
        (
            "pop_small_buffer",
            "got a buffer of 19 bytes, expected at least 20 (one line of uint8 labels)",
        ),
        ("finish_null", "comix_stream_finish: got NULL stream"),
        ("reset_null", "comix_stream_reset: got NULL stream"),
        ("stats_null_stream", "comix_stream_get_stats: got NULL stream"),
        ("stats_null_stats", "comix_stream_get_stats: got NULL stats"),
    ],
)
def test_bad_calls_are_one_sentence(cases, case, words):
    status, message = cases[case]
    assert status == BAD_INPUT, (
        f"{case}: got status {status} ({message!r}), expected COMIX_BAD_INPUT"
    )
    assert words in message, message
    assert "\n" not in message
    assert f"{case}_handle" not in cases, f"{case}: a failed open left the handle set"


@pytest.mark.parametrize(
    "case",
    [
        "open_nodata_nan",
        "open_defaults_null_options",
        "open_defaults",
        "open_ok",
        "pop_nothing_yet",
        "pop_one",
        "push_after_pop",
        "finish",
        "finish_again",
        "reset",
        "push_after_reset",
        "finish_empty",
        "static_defaults",
    ],
)
def test_good_calls(cases, case):
    assert cases[case] == (OK, ""), cases[case]


def test_a_failed_run_stops_the_stream_until_a_reset(cases):
    status, message = cases["failing_finish"]
    assert status == FAILED, message
    assert message.startswith(
        "comix_stream_finish: the row of tiles at line 0: comix_run: ONNX Runtime says: "
    ), message
    for case, function in (("failing_finish_again", "finish"), ("failing_push", "push")):
        status, message = cases[case]
        assert status == FAILED and message.startswith(
            f"comix_stream_{function}: the stream failed earlier (the row of tiles at line 0: "
        ), message
        assert message.endswith("expected comix_stream_reset or comix_stream_close first"), message
    assert cases["failing_pop"] == (OK, "") and cases["failing_pop_lines"][1] == "0"
    assert cases["failing_reset"] == cases["failing_after_reset"] == (OK, "")
    assert (
        cases["failing_after_reset_lines"][1] == "1"
    )  # 17 lines of 16 x 16 tiles: line 0 is final


def test_what_the_cases_saw(cases):
    values = {name: message for name, (_, message) in cases.items()}
    assert values["pop_null_stream_lines"] == "0" and values["pop_nothing_yet_lines"] == "0"
    # defaults on a 300 px line: tile 128, overlap 3/8 of it, batch 1, (6 + 1) x 300 floats per line
    assert values["defaults"] == (
        "in=0 out=0 ready=0 tiles=0 finished=0 tile=128x128 overlap=48 batch=1 floats=2100"
    )
    # back-pressure at 16 waiting lines: 32 lines pushed (the first 16 finish none), the 33rd refused
    assert values["pushed_without_pop"] == "32"
    assert values["full"].startswith("in=32 out=0 ready=16 ")
    assert values["pop_one_lines"] == "1" and values["pop_all_lines"] == "16"
    assert values["pop_rest_lines"] == "16"  # the last tile height of lines, at the finish
    assert values["finished"].startswith(
        "in=33 out=33 ready=0 tiles=6 finished=1 tile=16x16 overlap=6"
    )
    assert values["after_reset"].startswith("in=0 out=0 ready=0 tiles=0 finished=0 tile=16x16")
    assert values["pop_empty_lines"] == "0"
    assert values["static"].endswith("tile=16x16 overlap=6 batch=1 floats=35")


def test_memory_does_not_grow_with_the_pass(clients, tiny, tmp_path):
    """Peak resident memory of a whole pass (the client holds only the classes it collects: 1 byte a pixel)
    at 1x and 8x the length: within 5 %."""
    peaks = {}
    for lines in (150, 1200):
        hsi, x = scene(lines, 96, seed=lines)
        _, _, values = run_stream(
            clients["stream_client"], tiny["canonical"], hsi, x, tmp_path / str(lines), 32
        )
        assert int(values["lines_out"]) == lines
        peaks[lines] = int(values["peak_rss_kib"])
    print(f"peak resident memory (KiB) by pass length: {peaks}")
    assert peaks[1200] <= 1.05 * peaks[150], peaks
