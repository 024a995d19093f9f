"""Integrity on the runtime side, with the faults injected: a flipped byte in a weight of the file (refused at
open, one sentence, exit 2, by every command that opens a model), a flipped bit in a weight in memory
(caught at the next re-check, model reloaded), a changed model inside ONNX Runtime (caught by the canary), a
tile whose second run differs (majority kept), three different runs (stopped); determinism of the CPU path
across runs, batch sizes and thread counts (what the redundant runs rely on); deadlines and the watchdog."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from comix.cli.app import app
from comix.errors import FailedError
from comix.model_digest import stamp
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.errors import RuntimeInputError
from comix.runtime.guard import GuardedBackend, GuardOptions
from comix.runtime.registry import open_backend
from comix.runtime.sliding_window import SlidingWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from runtime_helpers import export_tiny, make_scene


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> Path:
    """A canonical (or, without our op library, portable) tiny network, stamped as `comix export` does."""
    from comix.runtime.session import find_custom_op_library

    folder = tmp_path_factory.mktemp("sealed")
    path = export_tiny(find_custom_op_library() is None, folder / "tiny.onnx")
    path.write_bytes(stamp(path.read_bytes()))
    return path


def _weight_offset(data: bytes) -> int:
    """A byte in the middle of the largest initializer's raw data."""
    tensor = max(onnx.load_from_string(data).graph.initializer, key=lambda t: len(t.raw_data))
    start = data.find(tensor.raw_data)
    assert start >= 0
    return start + len(tensor.raw_data) // 2


def _flipped(data: bytes, offset: int, bit: int = 0x10) -> bytes:
    out = bytearray(data)
    out[offset] ^= bit
    return bytes(out)


def _scene_files(folder: Path) -> tuple[Path, Path]:
    hsi, x = make_scene(40, 50, seed=2)
    np.save(folder / "hsi.npy", hsi.transpose(1, 2, 0))
    np.save(folder / "x.npy", x.transpose(1, 2, 0))
    return folder / "hsi.npy", folder / "x.npy"


def test_a_sealed_model_opens_verified(sealed):
    backend = open_backend(sealed, threads=1)
    assert backend.verification.status == "verified"
    assert open_backend(sealed, threads=1, verify=False).verification.status == "skipped"


@pytest.mark.parametrize("command", ["infer", "eval", "compare", "profile"])
def test_a_flipped_weight_byte_in_the_file_is_refused_in_one_sentence(command, sealed, tmp_path):
    data = sealed.read_bytes()
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(_flipped(data, _weight_offset(data)))
    hsi, x = _scene_files(tmp_path)
    args = {
        "infer": ["infer", corrupt, "--hsi", hsi, "--x", x, "-o", tmp_path / "seg.npy"],
        "eval": ["eval", corrupt, tmp_path / "no-dataset.yaml", "-o", tmp_path / "eval"],
        "compare": ["compare", corrupt, sealed, "--hsi", hsi, "--x", x, "--tile", "32"],
        "profile": ["profile", corrupt, "--tile", "32", "-o", tmp_path / "profile"],
    }[command]
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "the weights do not match the digest recorded at export" in lines[0]
    assert not (tmp_path / "seg.npy").exists() and not (tmp_path / "profile").exists()
    allowed = CliRunner().invoke(app, [str(a) for a in args] + ["--no-verify"])
    assert "digest" not in allowed.output


def test_a_flipped_bit_in_the_weights_in_memory_is_caught_at_the_next_recheck(sealed):
    backend = open_backend(sealed, threads=1)
    events: list[str] = []
    guarded = GuardedBackend(backend, GuardOptions(recheck_every=3), on_event=events.append)
    hsi, x = make_scene(32, 32, seed=4)
    tiles = np.repeat(hsi[None], 2, 0), np.repeat(x[None], 2, 0)
    clean = guarded.run(*tiles)  # tiles 0-1
    offset = _weight_offset(backend.model_bytes)
    backend.model_bytes = _flipped(backend.model_bytes, offset, 0x04)  # an upset in the master copy
    out = guarded.run(*tiles)  # tiles 2-3: crosses tile 3, the re-check
    assert guarded.stats.weights_changed == 1 and guarded.stats.reloads == 1
    # tiles 2-3 were run again; 0-1 ran before the check, when the change may already have happened
    assert guarded.stats.tiles_at_risk == 2
    assert len(events) == 1 and "reloaded from its verified file" in events[0]
    assert backend.verification.status == "verified"
    np.testing.assert_array_equal(out, clean)
    np.testing.assert_array_equal(guarded.run(*tiles), clean)  # the reloaded model is the clean one


def test_a_changed_model_inside_onnx_runtime_is_caught_by_the_canary(sealed, tmp_path):
    backend = open_backend(sealed, threads=1)
    guarded = GuardedBackend(backend, GuardOptions(recheck_every=2))
    hsi, x = make_scene(32, 32, seed=5)
    tile = hsi[None], x[None]
    clean = guarded.run(*tile)
    # an upset in ONNX Runtime's own copy of a weight: its session now computes from changed weights,
    # while the bytes this backend holds are intact
    data = backend.model_bytes
    changed = _flipped(data, _weight_offset(data), 0x40)
    backend.session = type(backend)(changed, threads=1, verify=False).session
    guarded.run(*tile)  # tile 1: the re-check
    assert guarded.stats.canary_changed == 1 and guarded.stats.weights_changed == 0
    assert guarded.stats.reloads == 1
    np.testing.assert_array_equal(guarded.run(*tile), clean)


class _Flaky(Backend):
    """Per-pixel logits of the first band; the ``bad`` calls (1-based) return perturbed logits."""

    name = "flaky"

    def __init__(self, bad: set[int]) -> None:
        self.info = ModelIO(bands=2, x_channels=1, classes=3)
        self.bad, self.calls = bad, 0

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        logits = np.stack([hsi[:, 0], hsi[:, 1], x[:, 0]], axis=1).astype(np.float32)
        if self.calls in self.bad:
            logits = logits + np.float32(self.calls)  # a different wrong answer on every bad call
        return logits


def _tiles(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((count, 2, 8, 8), np.float32), rng.random((count, 1, 8, 8), np.float32)


def test_a_tile_whose_second_run_differs_keeps_the_majority():
    hsi, x = _tiles(4)
    truth = _Flaky(set()).run(hsi, x)
    events: list[str] = []
    # call 1: the batch (holding tiles 0 and 2, K = 2); call 2: its redundant run (wrong); call 3: the third
    guarded = GuardedBackend(_Flaky({2}), GuardOptions(redundant=2), on_event=events.append)
    out = guarded.run(hsi, x)
    np.testing.assert_array_equal(out, truth)
    assert guarded.stats.redundant_runs == 4 and guarded.stats.redundant_mismatches == 4
    assert guarded.stats.majority_kept == 4 and "agreed with the first run" in events[0]
    # a batch with no K-th tile is not rerun
    calm = GuardedBackend(_Flaky(set()), GuardOptions(redundant=8))
    calm.run(hsi[:1], x[:1])  # tile 0: rerun
    calm.run(hsi[:3], x[:3])  # tiles 1-3: none is a multiple of 8
    assert calm.stats.redundant_runs == 1


def test_a_tile_whose_first_run_was_wrong_is_replaced_by_the_majority():
    hsi, x = _tiles(1)
    truth = _Flaky(set()).run(hsi, x)
    guarded = GuardedBackend(_Flaky({1}), GuardOptions(redundant=1))
    np.testing.assert_array_equal(guarded.run(hsi, x), truth)
    assert guarded.stats.majority_kept == 1 and "second" in guarded.stats.events[0]


def test_three_different_runs_stop_the_run():
    hsi, x = _tiles(1)
    guarded = GuardedBackend(_Flaky({1, 2}), GuardOptions(redundant=1))
    with pytest.raises(FailedError, match="three runs gave three different outputs"):
        guarded.run(hsi, x)


def test_deadline_and_watchdog_count_every_tile():
    calls: list[int] = []
    hsi, x = _tiles(3)
    guarded = GuardedBackend(_Flaky(set()), GuardOptions(deadline_ms=1e-9, watchdog=calls.append))
    guarded.run(hsi, x)
    guarded.run(hsi[:1], x[:1])
    assert calls == [1, 2, 3, 4] and guarded.stats.over_deadline == 4
    relaxed = GuardedBackend(_Flaky(set()), GuardOptions(deadline_ms=1e9))
    relaxed.run(hsi, x)
    assert relaxed.stats.over_deadline == 0 and relaxed.stats.slowest_tile_ms > 0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"recheck_every": -1}, "--recheck-every: got -1"),
        ({"redundant": 1.5}, "--redundant: got 1.5"),
        ({"deadline_ms": 0}, "--deadline-ms: got 0"),
    ],
)
def test_bad_guard_options_are_refused(options, message):
    with pytest.raises(RuntimeInputError, match=message):
        GuardOptions(**options)


@pytest.mark.parametrize("graph", ["canonical", "portable"])
def test_the_cpu_path_is_deterministic_across_runs_batches_and_threads(graph, tmp_path):
    from comix.runtime.session import find_custom_op_library

    if graph == "canonical" and find_custom_op_library() is None:
        pytest.skip("our ONNX Runtime op library is not built (comix plugins build)")
    path = export_tiny(graph == "portable", tmp_path / f"{graph}.onnx")
    rng = np.random.default_rng(1)
    hsi = rng.random((3, 6, 40, 36), np.float32)
    x = rng.random((3, 1, 40, 36), np.float32)
    one = open_backend(path, threads=1)
    two = open_backend(path, threads=2)
    batch = one.run(hsi, x)
    np.testing.assert_array_equal(batch, one.run(hsi, x))
    np.testing.assert_array_equal(batch, two.run(hsi, x))
    singles = np.concatenate([one.run(hsi[i : i + 1], x[i : i + 1]) for i in range(3)])
    np.testing.assert_array_equal(batch, singles)


def test_infer_reports_integrity_in_its_summary(sealed, tmp_path):
    hsi, x = _scene_files(tmp_path)
    output = tmp_path / "seg.npy"
    result = CliRunner().invoke(
        app,
        [
            str(a)
            for a in (
                "infer",
                sealed,
                "--hsi",
                hsi,
                "--x",
                x,
                "-o",
                output,
                "--tile",
                "32",
                "--recheck-every",
                "2",
                "--redundant",
                "2",
                "--deadline-ms",
                "1000",
            )
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(output.with_suffix(".json").read_text())["integrity"]
    assert summary["verification"]["status"] == "verified"
    assert summary["rechecks"] >= 1 and summary["redundant_runs"] >= 1
    assert summary["reloads"] == 0 and summary["redundant_mismatches"] == 0
    assert "integrity: model verified" in result.output
    plain = SlidingWindow(open_backend(sealed, threads=1), tile=32)(*make_scene(40, 50, seed=2))
    np.testing.assert_array_equal(np.load(output), plain.classes)
