"""Bad names, bad configs and bad inputs give errors that say what was got and what is expected."""

import re

import pytest
import torch

from comix.model import (
    ComixConfig,
    ConfigError,
    InputError,
    UnknownVariantError,
    build_model,
    create_config,
)


def test_unknown_variant_lists_valid_names_and_suggests_closest():
    with pytest.raises(UnknownVariantError) as info:
        build_model("comix_tt")
    assert str(info.value) == (
        "unknown model variant 'comix_tt'. Did you mean 'comix_t'? "
        "Valid variants: comix_b, comix_s, comix_t, ship_irvis, ship_pansharpen, "
        "ship_pp_irvis, ship_pp_pansharpen"
    )


def test_unknown_config_field_suggests_closest():
    with pytest.raises(
        ConfigError, match=re.escape("unknown config field 'band'. Did you mean 'bands'?")
    ):
        create_config("comix_t", band=63)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"widths": (32, 64, 128)},
            "widths: got 3 values (32, 64, 128), expected 4 (one per stage)",
        ),
        ({"depths": (1, 0, 1, 1)}, "depths[1]: got 0, expected a positive int"),
        ({"bands": 0}, "bands: got 0, expected a positive int"),
        ({"hsi_width_ratio": 1.5}, "hsi_width_ratio: got 1.5, expected a value in [0.0, 1.0]"),
        ({"drop_path_rate": 1.0}, "drop_path_rate: got 1.0, expected a value in [0.0, 1.0)"),
        (
            {"dcn_mask_activation": "softmax"},
            "dcn_mask_activation: got 'softmax', expected one of ['sigmoid', 'none']",
        ),
        (
            {"spectral_pooling": "max"},
            "spectral_pooling: got 'max', expected one of ['attention', 'mean']",
        ),
        (
            {"ffm_propagation": "fused"},
            "ffm_propagation: got 'fused', expected one of ['both', 'rectified']",
        ),
        ({"dcn_kernel_3d": 4}, "dcn_kernel_3d: got 4, expected an odd kernel size"),
        ({"dcn_offset_groups": 3}, "widths[0]: got 32, expected a multiple of 3"),
    ],
)
def test_bad_config_values_are_named(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_config("comix_t", **overrides)


def test_configs_from_before_the_one_op_still_load():
    """Checkpoints written before every DCN became one op carry ``dcn_backend``: read and dropped."""
    values = create_config("comix_t").to_dict()
    assert "dcn_backend" not in values
    assert ComixConfig.from_dict({**values, "dcn_backend": "torch"}) == ComixConfig.from_dict(
        values
    )
    with pytest.raises(ConfigError, match="unknown config field 'dcn_backnd'"):
        ComixConfig.from_dict({**values, "dcn_backnd": "torch"})


@pytest.fixture(scope="module")
def model():
    return build_model("comix_t", bands=144, x_channels=1).eval()


@pytest.mark.parametrize(
    "hsi_shape, x_shape, message",
    [
        (
            (1, 63, 32, 32),
            (1, 1, 32, 32),
            "hsi: got 63 channels (shape (1, 63, 32, 32)), expected bands=144",
        ),
        (
            (1, 144, 32, 32),
            (1, 2, 32, 32),
            "x: got 2 channels (shape (1, 2, 32, 32)), expected x_channels=1",
        ),
        (
            (1, 144, 32, 32),
            (1, 1, 32, 30),
            "size: got hsi H x W (32, 32) and x H x W (32, 30), expected the same",
        ),
        ((2, 144, 32, 32), (1, 1, 32, 32), "batch: got hsi batch 2 and x batch 1, expected equal"),
        (
            (144, 32, 32),
            (1, 1, 32, 32),
            "hsi: got shape (144, 32, 32), expected 4-D (B, bands, H, W)",
        ),
    ],
)
def test_bad_inputs_are_named(model, hsi_shape, x_shape, message):
    with pytest.raises(InputError, match=re.escape(message)):
        model(torch.zeros(hsi_shape), torch.zeros(x_shape))


def test_integer_input_is_refused(model):
    with pytest.raises(
        InputError, match=re.escape("hsi: got dtype torch.int64, expected a floating-point")
    ):
        model(torch.zeros(1, 144, 32, 32, dtype=torch.long), torch.zeros(1, 1, 32, 32))


def test_non_finite_input_is_caught_only_when_asked(model):
    hsi = torch.zeros(1, 144, 32, 32)
    hsi[0, 3, 4, 5] = float("nan")
    hsi[0, 7, 1, 1] = float("inf")
    x = torch.zeros(1, 1, 32, 32)
    with pytest.raises(
        InputError, match=re.escape("hsi: got 2 NaN/Inf values, expected finite values only")
    ):
        model.check_inputs(hsi, x, check_finite=True)
    model.check_inputs(hsi, x)  # not asked: shape checks only
    model.check_finite = True
    try:
        with pytest.raises(InputError, match="NaN/Inf"):
            model(hsi, x)
    finally:
        model.check_finite = False


def test_bad_normalization_statistics_are_named(model):
    with pytest.raises(ValueError, match=re.escape("hsi mean: got 10 values, expected 144")):
        model.set_normalization(torch.zeros(10), torch.ones(144), [0.0], [1.0])
    std = torch.ones(144)
    std[5] = 0
    with pytest.raises(ValueError, match=re.escape("hsi std[5]: got 0.0, expected > 0")):
        model.set_normalization(torch.zeros(144), std, [0.0], [1.0])


def test_config_round_trips_through_dict():
    config = create_config("comix_s", bands=63, x_channels=2, classes=6)
    assert ComixConfig.from_dict(config.to_dict()) == config
