"""Training end to end on a small synthetic scene: checkpoint, history, exact resume, evaluation outputs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from comix.data.synthetic import houston_like
from comix.model.checkpoint import load_checkpoint
from comix.runtime.torch_backend import TorchBackend
from comix.train.evaluate import evaluate_scene, write_evaluation
from comix.train.recipe import TrainRecipe
from comix.train.state import TrainStateError
from comix.train.trainer import Trainer

TINY_MODEL = {
    "widths": (8, 8, 16, 16),
    "depths": (1, 1, 1, 1),
    "decoder_dim": 16,
    "spectral_depth": 4,
    "hsi_width_ratio": 1.0,
    "ffm_head_dim": 8,
}


@pytest.fixture(scope="module")
def scene():
    return houston_like(
        seed=3, height=48, width=64, wavelengths_nm=np.linspace(400, 1000, 12)
    ).scene


def _recipe(**overrides) -> TrainRecipe:
    values = {
        "tile": 32,
        "batch_size": 2,
        "steps": 4,
        "warmup_steps": 1,
        "eval_every": 2,
        "eval_tile": 32,
        "eval_overlap": 8,
        "seed": 5,
        "model_overrides": TINY_MODEL,
    }
    values.update(overrides)
    return TrainRecipe(**values)


def test_resumed_run_equals_uninterrupted_run(scene, tmp_path):
    whole = Trainer(scene, _recipe(), tmp_path / "whole", show_progress=False).fit()
    paused = Trainer(scene, _recipe(), tmp_path / "paused", show_progress=False).fit(stop_after=3)
    assert paused.step == 3
    resumed_trainer = Trainer(scene, _recipe(), tmp_path / "paused", show_progress=False)
    resumed_trainer.resume()
    assert resumed_trainer.step == 3
    resumed = resumed_trainer.fit()
    assert resumed.step == whole.step == 4
    assert json.dumps(resumed.history) == json.dumps(
        whole.history
    )  # NaN-aware: absent classes are NaN
    a = load_checkpoint(tmp_path / "whole").model.state_dict()
    b = load_checkpoint(tmp_path / "paused").model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_carries_scene_metadata_and_history(scene, tmp_path):
    Trainer(scene, _recipe(steps=2, eval_every=2), tmp_path, show_progress=False).fit()
    loaded = load_checkpoint(tmp_path)
    assert loaded.class_names == list(scene.class_names)
    assert loaded.band_wavelengths_nm == pytest.approx(scene.wavelengths_nm.tolist())
    assert (
        loaded.training_recipe["steps"] == 2
        and loaded.training_recipe["x_modality"] == scene.x_modality
    )
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["step"] for h in history] == [2] and 0.0 <= history[0]["overall_accuracy"] <= 1.0
    # normalisation statistics come from the scene
    np.testing.assert_allclose(
        loaded.model.hsi_norm.mean.numpy(),
        scene.hsi.reshape(scene.num_bands, -1).mean(1),
        rtol=1e-5,
    )


def test_resume_refuses_a_different_recipe(scene, tmp_path):
    Trainer(scene, _recipe(steps=2), tmp_path, show_progress=False).fit()
    other = Trainer(scene, _recipe(steps=2, lr=1e-4), tmp_path, show_progress=False)
    with pytest.raises(ValueError, match="cannot resume: the recipe .* differs"):
        other.resume()


class _WritesMarkerWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "executed")


def test_resume_refuses_a_pickled_state_without_running_it(scene, tmp_path):
    Trainer(scene, _recipe(steps=2), tmp_path, show_progress=False).fit()
    marker = tmp_path / "marker.txt"
    hostile = {"step": 1, "optimizer": _WritesMarkerWhenUnpickled(marker)}
    (tmp_path / "train_state.safetensors").write_bytes(pickle.dumps(hostile))
    with pytest.raises(
        TrainStateError, match=r"train_state.safetensors is not a readable safetensors file"
    ):
        Trainer(scene, _recipe(steps=2), tmp_path, show_progress=False).resume()
    assert not marker.exists()
    # a run folder of the older format (torch.save pickle) is refused by name, never opened
    (tmp_path / "train_state.safetensors").unlink()
    torch.save(hostile, tmp_path / "train_state.pt")
    with pytest.raises(
        TrainStateError,
        match=r"got .*train_state.pt \(a pickle written by an older comix\), "
        r"expected train_state.safetensors",
    ):
        Trainer(scene, _recipe(steps=2), tmp_path, show_progress=False).resume()
    assert not marker.exists()
    torch.load(
        tmp_path / "train_state.pt", weights_only=False
    )  # what the old resume did: runs the payload
    assert marker.read_text() == "executed"


def test_resume_without_state_names_the_missing_file(scene, tmp_path):
    with pytest.raises(FileNotFoundError, match="train_state.safetensors does not exist"):
        Trainer(scene, _recipe(), tmp_path, show_progress=False).resume()


def test_evaluation_writes_metrics_and_pictures(scene, tmp_path):
    trainer = Trainer(scene, _recipe(), tmp_path / "run", show_progress=False)
    metrics, prediction = evaluate_scene(TorchBackend(trainer.model), scene, tile=32, overlap=8)
    assert prediction.shape == scene.labels.shape
    assert prediction.min() >= 1 and prediction.max() <= scene.num_classes
    paths = write_evaluation(tmp_path / "eval", metrics, prediction, scene, "test")
    document = json.loads(paths[0].read_text())
    assert document["pixels"] == int(scene.test_mask.sum())
    assert len(document["confusion_matrix"]) == scene.num_classes
    assert all(p.stat().st_size > 1000 for p in paths[1:])
