"""The resume state on disk: exact round trip without pickle, and foreign files refused without
running them."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from comix.train.state import (
    FORMAT_VERSION,
    METADATA_KEY,
    TrainStateError,
    load_train_state,
    save_train_state,
)


class RunsCodeWhenUnpickled:
    """Unpickling this calls ``Path.write_text(marker, "executed")``: what a hostile run folder
    could carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "executed")


def _same(a, b) -> bool:
    """Equal values of equal types, tensors bit for bit, NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        bits_a, bits_b = (t.reshape(-1).view(torch.uint8) for t in (a, b))
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(bits_a, bits_b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_round_trip_keeps_every_value_and_type(tmp_path):
    generator = np.random.default_rng(7)
    generator.random(3)
    state = {
        "step": 3,
        "optimizer": {
            "state": {
                0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 3)},
                5: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4, dtype=torch.float64)},
            },
            "param_groups": [
                {"lr": 0.1 + 0.2, "betas": (0.9, 0.999), "foreach": None, "params": [0, 5]}
            ],
        },
        "sampler": generator.bit_generator.state,  # 128-bit integers
        "torch_rng": torch.get_rng_state(),
        "history": [{"loss": 1 / 3, "per_class": [float("nan"), 0.5, float("inf")]}],
        "half": torch.tensor([1.5, -0.0], dtype=torch.bfloat16),
        "flags": (True, False, "text", -(2**70)),
    }
    save_train_state(tmp_path / "s.safetensors", state)
    loaded = load_train_state(tmp_path / "s.safetensors")
    assert _same(loaded, state)
    assert not _same(dict(loaded, step=4), state), "the comparison must be able to fail"


def test_unstorable_values_are_a_clear_error(tmp_path):
    with pytest.raises(
        TypeError, match=r"train state at state.when: got a datetime, expected tensors"
    ):
        import datetime

        save_train_state(tmp_path / "s.safetensors", {"when": datetime.datetime.now()})
    assert not (tmp_path / "s.safetensors").exists()


def test_a_pickle_under_the_state_name_is_refused_not_run(tmp_path):
    marker = tmp_path / "marker.txt"
    payload = pickle.dumps({"step": RunsCodeWhenUnpickled(marker)})
    pickle.loads(payload)  # the payload is live: a plain unpickler runs it ...
    assert marker.read_text() == "executed"
    marker.unlink()
    (tmp_path / "train_state.safetensors").write_bytes(payload)
    with pytest.raises(
        TrainStateError, match=r"is not a readable safetensors file .*never unpickled"
    ):
        load_train_state(tmp_path / "train_state.safetensors")
    assert not marker.exists(), "... loading the train state must not"


def test_other_safetensors_files_and_versions_are_refused(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(
        TrainStateError, match=rf"has no '{METADATA_KEY}' metadata, expected a train state"
    ):
        load_train_state(tmp_path / "model.safetensors")
    document = {"format": "comix-train-state", "version": FORMAT_VERSION + 1, "state": {}}
    save_file(
        {"w": torch.zeros(2)},
        str(tmp_path / "new.safetensors"),
        metadata={METADATA_KEY: json.dumps(document)},
    )
    with pytest.raises(
        TrainStateError,
        match=rf"holds train-state version {FORMAT_VERSION + 1}, expected "
        rf"{FORMAT_VERSION}",
    ):
        load_train_state(tmp_path / "new.safetensors")
    document = {
        "format": "comix-train-state",
        "version": FORMAT_VERSION,
        "state": {"__tensor__": "missing"},
    }
    save_file(
        {"w": torch.zeros(2)},
        str(tmp_path / "bad.safetensors"),
        metadata={METADATA_KEY: json.dumps(document)},
    )
    with pytest.raises(
        TrainStateError, match=r"names tensor 'missing', expected it among the file's tensors"
    ):
        load_train_state(tmp_path / "bad.safetensors")
