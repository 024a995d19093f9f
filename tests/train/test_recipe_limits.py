"""A tile / batch pair is refused exactly when training would fail deep in PyTorch: the encoder's deepest
stage is 1 x 1 per tile up to 32 pixels, and batch normalisation in training needs more than one value per
channel."""

from __future__ import annotations

import pytest
import torch

from comix.errors import BadInputError
from comix.model.registry import build_model
from comix.train.recipe import TrainRecipe

TINY = {
    "widths": (8, 8, 16, 16),
    "depths": (1, 1, 1, 1),
    "decoder_dim": 16,
    "spectral_depth": 4,
    "hsi_width_ratio": 1.0,
    "ffm_head_dim": 8,
}


def _trains(tile: int, batch: int) -> bool:
    """Whether one training forward pass of a (tiny) comix_t runs at this tile and batch."""
    model = build_model("comix_t", bands=6, x_channels=1, **TINY).train()
    try:
        model(torch.randn(batch, 6, tile, tile), torch.randn(batch, 1, tile, tile))
    except ValueError as error:
        assert "Expected more than 1 value per channel" in str(error)
        return False
    return True


@pytest.mark.parametrize(
    "tile, batch, accepted",
    [(16, 1, False), (32, 1, False), (33, 1, True), (16, 2, True), (8, 2, True)],
)
def test_the_recipe_refuses_exactly_what_batch_norm_cannot_train(tile, batch, accepted):
    if accepted:
        TrainRecipe(tile=tile, batch_size=batch)
    else:
        with pytest.raises(BadInputError, match=f"got {tile} / {batch}, expected tile > 32"):
            TrainRecipe(tile=tile, batch_size=batch)
    assert _trains(tile, batch) is accepted
