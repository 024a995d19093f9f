"""Behaviour of the model's parts: normalisation inside the model, padding, options, drop path."""

import pytest
import torch

from comix.model import build_model
from comix.model.blocks import DropPath
from comix.model.spectral import SpectralPooling


def test_normalization_inside_the_model_equals_normalizing_outside():
    model = build_model("comix_t", bands=6, x_channels=2, classes=3).eval()
    reference = build_model("comix_t", bands=6, x_channels=2, classes=3).eval()
    reference.load_state_dict(model.state_dict())
    hsi_mean, hsi_std = torch.rand(6) * 500, torch.rand(6) * 50 + 1
    x_mean, x_std = torch.tensor([10.0, -3.0]), torch.tensor([2.0, 0.5])
    model.set_normalization(hsi_mean, hsi_std, x_mean, x_std)
    hsi, x = torch.rand(1, 6, 32, 32) * 1000, torch.randn(1, 2, 32, 32) * 5
    with torch.no_grad():
        raw = model(hsi, x)
        normalized = reference(
            (hsi - hsi_mean.view(1, -1, 1, 1)) / hsi_std.view(1, -1, 1, 1),
            (x - x_mean.view(1, -1, 1, 1)) / x_std.view(1, -1, 1, 1),
        )
    torch.testing.assert_close(raw, normalized, rtol=1e-4, atol=1e-4)
    assert "hsi_norm.mean" in model.state_dict() and "x_norm.std" in model.state_dict()


def test_stage_features_have_the_documented_shapes():
    model = build_model("comix_t", bands=20, x_channels=1).eval()
    cfg = model.config
    with torch.no_grad():
        stages = model.forward_features(torch.zeros(1, 20, 40, 20), torch.zeros(1, 1, 40, 20))
    # 40 x 20 is padded to 64 x 32; stage i is at 1/(4 * 2^i)
    for i, stage in enumerate(stages):
        h, w = 64 // (4 << i), 32 // (4 << i)
        depth = max(1, cfg.spectral_depth >> i)
        assert stage.hsi.shape == (1, cfg.hsi_widths[i], depth, h, w)
        assert stage.x.shape == (1, cfg.widths[i], h, w)
        assert stage.fused.shape == (1, cfg.widths[i], h, w)


def test_tiles_of_any_size_are_padded_and_cropped_back():
    model = build_model("comix_t", bands=4, x_channels=1, classes=2).eval()
    hsi, x = torch.randn(1, 4, 32, 32), torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert model(hsi, x).shape == (1, 2, 32, 32)
        assert model(hsi[..., :21, :7], x[..., :21, :7]).shape == (1, 2, 21, 7)
        assert model(hsi[..., :1, :1], x[..., :1, :1]).shape == (1, 2, 1, 1)


@pytest.mark.parametrize(
    "overrides",
    [
        {"spectral_pooling": "mean"},
        {"ffm_propagation": "rectified"},
        {"dcn_mask_activation": "none"},
        {"dcn_offset_groups": 2, "dcn_groups": 2},
        {"cmfex_shared_feature": False, "cmfex_learnable_gates": False},
        {"hsi_spectral_downsample": False},
        {"pad_mode": "replicate"},
        {"hsi_width_ratio": 1.0},
    ],
)
def test_every_design_option_builds_and_runs(overrides):
    model = build_model(
        "comix_t", bands=10, x_channels=1, classes=3, spectral_depth=4, **overrides
    ).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 10, 30, 20), torch.randn(1, 1, 30, 20)).shape == (1, 3, 30, 20)


def test_options_change_the_model():
    base = build_model("comix_t")
    mean_pooled = build_model("comix_t", spectral_pooling="mean")
    assert base.spectral_pool[0].score is not None and mean_pooled.spectral_pool[0].score is None
    no_mask = build_model("comix_t", dcn_mask_activation="none")
    _, dcn = next(no_mask.deformable_convs())
    assert (
        dcn.mask_activation == "none"
        and dcn.offset_conv.out_channels == dcn.geometry.kernel_points * dcn.geometry.ndim
    )


def test_attention_pooling_is_a_convex_combination_over_depth():
    pool = SpectralPooling(3, "attention")
    volume = torch.randn(2, 3, 5, 4, 4)
    pooled = pool(volume)
    assert pooled.shape == (2, 3, 4, 4)
    assert (pooled <= volume.amax(dim=2) + 1e-6).all() and (
        pooled >= volume.amin(dim=2) - 1e-6
    ).all()


def test_drop_path_drops_whole_samples_and_is_identity_in_eval():
    layer = DropPath(0.5).train()
    out = layer(torch.ones(1000, 3, 2))
    per_sample = out.reshape(1000, -1)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert (per_sample == per_sample[:, :1]).all()
    assert 350 < int((per_sample[:, 0] == 0).sum()) < 650
    assert torch.equal(layer.eval()(torch.ones(4, 3)), torch.ones(4, 3))


def test_one_training_step_updates_offsets_and_keeps_the_loss_finite():
    model = build_model("comix_t", bands=12, x_channels=2, classes=4, drop_path_rate=0.1).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    hsi, x = torch.rand(2, 12, 32, 32) * 1000, torch.randn(2, 2, 32, 32)
    labels = torch.randint(0, 4, (2, 32, 32))
    loss = torch.nn.functional.cross_entropy(model(hsi, x), labels)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    for name, dcn in model.deformable_convs():
        assert dcn.offset_conv.weight.detach().any(), f"offset conv of {name} did not move"
    assert model.hsi_stem.band_projection.project.weight.grad.abs().sum() > 0
