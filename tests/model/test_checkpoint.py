"""Checkpoint round trip and clear errors for damaged or mismatched checkpoints."""

import json
import re

import pytest
import torch

from comix.model import CheckpointError, build_model, load_checkpoint, save_checkpoint


@pytest.fixture()
def saved(tmp_path):
    model = build_model("comix_t", bands=5, x_channels=2, classes=3).eval()
    model.set_normalization(
        torch.arange(5.0) * 100, torch.arange(1.0, 6.0), [1.0, -2.0], [3.0, 0.5]
    )
    folder = save_checkpoint(
        model,
        tmp_path / "ckpt",
        variant="comix_t",
        class_names=["road", "tree", "roof"],
        band_wavelengths_nm=[400.0, 500.0, 600.0, 700.0, 800.0],
        training_recipe={"optimizer": "AdamW", "lr": 6e-5, "epochs": 2},
    )
    return model, folder


def test_round_trip_gives_the_same_outputs_and_metadata(saved):
    model, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_checkpoint(folder / "model.safetensors")  # either file of the pair, or the folder
    hsi, x = torch.rand(1, 5, 40, 36) * 400, torch.randn(1, 2, 40, 36)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(hsi, x), model(hsi, x), rtol=0, atol=0)
    assert loaded.model.config == model.config and loaded.variant == "comix_t"
    assert loaded.class_names == ["road", "tree", "roof"]
    assert loaded.band_wavelengths_nm == [400.0, 500.0, 600.0, 700.0, 800.0]
    assert loaded.training_recipe["lr"] == 6e-5
    assert loaded.metadata["format_version"] == 1 and loaded.metadata["normalization"]["x_std"] == [
        3.0,
        0.5,
    ]


def test_truncated_weights_file_is_named(saved):
    _, folder = saved
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[: size // 2])
    with pytest.raises(
        CheckpointError, match=re.escape(f"truncated: got {size // 2} bytes, expected {size}")
    ):
        load_checkpoint(folder)


def test_altered_weights_file_is_named(saved):
    _, folder = saved
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_checkpoint(folder)


def test_truncated_config_is_named(saved):
    _, folder = saved
    config = folder / "config.json"
    config.write_text(config.read_text()[:100])
    with pytest.raises(
        CheckpointError, match="not valid JSON .*truncated or not a CoMiX checkpoint"
    ):
        load_checkpoint(folder)


def _edit_config(folder, edit):
    path = folder / "config.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_config_that_does_not_match_the_weights_is_named(saved):
    _, folder = saved
    _edit_config(folder, lambda d: d["model_config"].update(decoder_dim=64))
    with pytest.raises(
        CheckpointError,
        match=re.escape(
            "decoder.embed.0.weight: got shape (128, 32, 1, 1), "
            "expected (64, 32, 1, 1) from the config"
        ),
    ):
        load_checkpoint(folder)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format_version=2), "format_version: got 2, expected 1"),
        (lambda d: d.update(format="other"), "format: got 'other', expected 'comix-checkpoint'"),
        (lambda d: d["class_names"].pop(), "class_names: got 2 names, expected 3 strings"),
        (
            lambda d: d.update(band_wavelengths_nm=[1.0]),
            "band_wavelengths_nm: got 1 values, expected 5",
        ),
        (
            lambda d: d["model_config"].update(widht=3),
            "unknown config field 'widht'. Did you mean 'widths'?",
        ),
        (
            lambda d: d["normalization"]["hsi_std"].__setitem__(0, 9.0),
            "normalization.hsi_std does not match",
        ),
    ],
)
def test_inconsistent_metadata_is_named(saved, edit, message):
    _, folder = saved
    _edit_config(folder, edit)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(folder)


def test_missing_files_and_bad_save_arguments(tmp_path):
    with pytest.raises(CheckpointError, match="config.json: missing"):
        load_checkpoint(tmp_path)
    model = build_model("comix_t", bands=5, x_channels=1, classes=3)
    with pytest.raises(
        CheckpointError, match=re.escape("class_names: got 2 names, expected 3 strings")
    ):
        save_checkpoint(model, tmp_path, class_names=["a", "b"])
