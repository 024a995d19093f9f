"""SHIP / SHIP++ networks: size of the released model, shapes, the switches, colour handling, checkpoints."""

from __future__ import annotations

import pytest
import torch
from fusion_helpers import TINY, tiny_ship

from comix.model import (
    build_model,
    create_config,
    list_variants,
    load_checkpoint,
    save_checkpoint,
    variant_task,
)
from comix.model.checkpoint import CheckpointError
from comix.ship.model import ShipConfigError, ShipInputError, ShipNet
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN


def test_registry_holds_ship_beside_comix_with_a_task_each():
    assert list_variants(FUSION_IRVIS) == ["ship_irvis", "ship_pp_irvis"]
    assert list_variants(FUSION_PANSHARPEN) == ["ship_pansharpen", "ship_pp_pansharpen"]
    assert variant_task("comix_t") == "segmentation"


def test_ship_irvis_has_the_released_checkpoints_size():
    """The public checkpoint of SHIP (IR-VIS) holds about 0.55 M parameters; ours, built from the
    code's layout, 0.548 M."""
    model = build_model("ship_irvis")
    count = sum(p.numel() for p in model.parameters())
    assert 540_000 <= count <= 555_000, count


@pytest.mark.parametrize(
    "variant", ["ship_irvis", "ship_pansharpen", "ship_pp_irvis", "ship_pp_pansharpen"]
)
def test_every_variant_fuses_any_size_to_the_primary_shape(variant):
    model = tiny_ship(variant)
    cfg = model.config
    for height, width in ((24, 20), (17, 31)):
        fused = model(
            torch.rand(2, cfg.primary_channels, height, width), torch.rand(2, 1, height, width)
        )
        assert (
            fused.shape == (2, cfg.primary_channels, height, width) and torch.isfinite(fused).all()
        )


def test_ship_plus_plus_switches_each_change_the_network():
    base = sum(p.numel() for p in tiny_ship("ship_irvis", channel_orders=3).parameters())
    for switch in ("cross_order_attention", "cross_order_integration", "residual_memory"):
        changed = sum(
            p.numel()
            for p in tiny_ship("ship_irvis", channel_orders=3, **{switch: True}).parameters()
        )
        assert changed > base, switch


def test_irvis_fuses_luminance_and_keeps_colour():
    """RGB in, RGB out: only the luminance changes, so R - G and B - G of the output equal the input's."""
    model = tiny_ship("ship_irvis")
    visible = torch.rand(1, 3, 20, 24)
    fused = model(visible, torch.rand(1, 1, 20, 24))
    torch.testing.assert_close(
        fused[:, 0] - fused[:, 1], visible[:, 0] - visible[:, 1], atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        fused[:, 2] - fused[:, 1], visible[:, 2] - visible[:, 1], atol=1e-6, rtol=0
    )


def test_pansharpening_starts_as_the_upsampled_ms_and_honours_the_data_range():
    torch.manual_seed(0)
    model = build_model("ship_pansharpen", data_range=2047.0, **TINY).eval()
    lms = torch.rand(1, 4, 16, 16) * 2047
    torch.testing.assert_close(model(lms, torch.rand(1, 1, 16, 16) * 2047), lms)


def test_matrix_lowering_model_equals_the_fft_model():
    model = tiny_ship("ship_pansharpen", fourier_padding=2)
    lowered = ShipNet(model.config.for_export("matrix", (24, 20))).eval()
    lowered.load_state_dict(model.state_dict())
    primary, guide = torch.rand(1, 4, 24, 20), torch.rand(1, 1, 24, 20)
    with torch.no_grad():
        torch.testing.assert_close(
            lowered(primary, guide), model(primary, guide), atol=2e-5, rtol=0
        )


def test_bad_configs_and_inputs_are_named():
    with pytest.raises(
        ShipConfigError, match="primary_channels: got 4, expected 1 .gray. or 3 .RGB."
    ):
        create_config("ship_irvis", primary_channels=4)
    with pytest.raises(
        ShipConfigError, match="unknown SHIP config field 'widht'. Did you mean 'width'"
    ):
        create_config("ship_irvis", widht=8)
    with pytest.raises(ShipConfigError, match="fourier_tile: got None"):
        create_config("ship_irvis", fourier_lowering="matrix")
    model = tiny_ship("ship_pansharpen")
    with pytest.raises(ShipInputError, match="ms: got 3 channels, expected 4"):
        model.check_inputs(torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ShipInputError, match="expected the same batch and H x W"):
        model.check_inputs(torch.zeros(1, 4, 8, 8), torch.zeros(1, 1, 32, 32))


def test_checkpoint_round_trip_keeps_the_task(tmp_path):
    model = tiny_ship("ship_pp_pansharpen")
    save_checkpoint(
        model,
        tmp_path / "ship",
        variant="ship_pp_pansharpen",
        band_wavelengths_nm=[485, 560, 660, 830],
    )
    loaded = load_checkpoint(tmp_path / "ship")
    assert (
        loaded.task == FUSION_PANSHARPEN
        and isinstance(loaded.model, ShipNet)
        and loaded.class_names == []
    )
    primary, guide = torch.rand(1, 4, 12, 12), torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(primary, guide), model(primary, guide))
    with pytest.raises(CheckpointError, match=r"band_wavelengths_nm: got 2 values, expected 4"):
        save_checkpoint(model, tmp_path / "bad", band_wavelengths_nm=[1.0, 2.0])
