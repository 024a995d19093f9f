"""One parametrised test set over every registered variant: shapes, any band/channel count, gradients."""

import pytest
import torch

from comix.model import ComixNet, build_model, create_config, list_variants
from comix.ops import DeformConv2d, DeformConv3d

INPUT_CASES = [(144, 1), (63, 2)]  # (bands, x channels): Houston-like, Trento-like
SIZES = [(64, 64), (100, 76)]


def _forward_params():
    return [
        pytest.param(v, c, size, id=f"{v}-{c[0]}b{c[1]}x-{size[0]}x{size[1]}")
        for v in list_variants("segmentation")
        for c in INPUT_CASES
        for size in SIZES
    ]


def test_registry_lists_the_three_variants():
    assert list_variants("segmentation") == ["comix_b", "comix_s", "comix_t"]


@pytest.mark.parametrize("variant, case, size", _forward_params())
def test_forward_gives_logits_at_input_size(variant, case, size):
    bands, x_channels = case
    height, width = size
    model = build_model(variant, bands=bands, x_channels=x_channels, classes=7).eval()
    assert isinstance(model, ComixNet)
    assert model.config == create_config(variant, bands=bands, x_channels=x_channels, classes=7)
    with torch.no_grad():
        logits = model(
            torch.rand(1, bands, height, width) * 1000, torch.randn(1, x_channels, height, width)
        )
    assert logits.shape == (1, 7, height, width)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("variant", list_variants("segmentation"))
@pytest.mark.parametrize("case", INPUT_CASES, ids=lambda c: f"{c[0]}b{c[1]}x")
def test_backward_reaches_offset_branch_of_2d_and_3d_dcns(variant, case):
    bands, x_channels = case
    # eval mode (BN running statistics, no drop path) so one 32x32 tile at batch 1 suffices; the
    # gradient path to the offsets is the same as in training (train mode: test_model_parts)
    model = build_model(variant, bands=bands, x_channels=x_channels).eval()
    dcns = [m for _, m in model.deformable_convs()]
    assert any(isinstance(m, DeformConv2d) for m in dcns) and any(
        isinstance(m, DeformConv3d) for m in dcns
    )
    assert all(not m.offset_conv.weight.detach().any() for m in dcns)  # zero-initialised
    logits = model(torch.randn(1, bands, 32, 32), torch.randn(1, x_channels, 32, 32))
    torch.nn.functional.cross_entropy(
        logits, torch.randint(0, model.config.classes, (1, 32, 32))
    ).backward()
    for name, module in model.deformable_convs():
        grad = module.offset_conv.weight.grad
        assert grad is not None and float(grad.abs().sum()) > 0, (
            f"no offset gradient reached {name}"
        )
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert unused == [], f"parameters outside the graph: {unused}"


@pytest.mark.parametrize("variant", list_variants("segmentation"))
def test_every_variant_exposes_the_shared_methods(variant):
    model = build_model(variant)
    for method in (
        "forward",
        "check_inputs",
        "forward_features",
        "set_normalization",
        "deformable_convs",
    ):
        assert callable(getattr(model, method))
    assert model.check_finite is False
