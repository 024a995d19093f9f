"""Tile sampler (labels kept only from the training mask, augmentation consistent) and the LR schedule."""

import numpy as np
import pytest

from comix.data.scene import Scene
from comix.train.sampler import TileSampler, augment
from comix.train.schedule import warmup_poly_factor


def _scene(height=20, width=24, bands=5) -> Scene:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(height, width))
    train = (labels > 0) & (rng.random((height, width)) < 0.5)
    test = (labels > 0) & ~train
    hsi = np.broadcast_to(
        np.arange(height * width, dtype=np.float32).reshape(1, height, width),
        (bands, height, width),
    )
    x = np.arange(height * width, dtype=np.float32).reshape(1, height, width) * 10
    return Scene(
        hsi=hsi.copy(),
        x=x,
        labels=labels,
        class_names=("a", "b", "c"),
        train_mask=train,
        test_mask=test,
    )


def test_tiles_keep_only_training_labels_and_stay_aligned():
    scene = _scene()
    sampler = TileSampler(scene, tile=8, seed=1)
    batch = sampler.sample(16)
    assert (
        batch.hsi.shape == (16, 5, 8, 8)
        and batch.x.shape == (16, 1, 8, 8)
        and batch.labels.shape == (16, 8, 8)
    )
    flat_labels = np.where(scene.train_mask, scene.labels, 0).reshape(-1)
    for hsi, x, labels in zip(batch.hsi, batch.x, batch.labels):
        pixel_ids = hsi[0].astype(np.int64)  # the HSI value is the pixel's index in the scene
        np.testing.assert_array_equal(
            x[0], hsi[0] * 10
        )  # modalities stay co-registered after augmentation
        np.testing.assert_array_equal(labels, flat_labels[pixel_ids])
        assert (labels > 0).any()  # every tile holds its chosen training pixel


def test_same_seed_and_restored_state_draw_the_same_tiles():
    scene = _scene()
    a, b = TileSampler(scene, 8, seed=3), TileSampler(scene, 8, seed=3)
    a.sample(4)
    state = a.state()
    first = a.sample(4)
    b.set_state(state)
    second = b.sample(4)
    np.testing.assert_array_equal(first.hsi, second.hsi)


def test_scene_smaller_than_tile_is_padded():
    batch = TileSampler(_scene(6, 7), tile=8, seed=0).sample(2)
    assert batch.hsi.shape == (2, 5, 8, 8)


def test_augment_gives_eight_distinct_views():
    tile = np.arange(9).reshape(1, 3, 3)
    views = {augment(tile, r, f).tobytes() for r in range(4) for f in (False, True)}
    assert len(views) == 8


def test_warmup_then_poly_decay():
    assert warmup_poly_factor(0, 100, 10) == pytest.approx(0.1)
    assert warmup_poly_factor(9, 100, 10) == pytest.approx(1.0)
    assert warmup_poly_factor(10, 100, 10) == pytest.approx(1.0)
    assert warmup_poly_factor(55, 100, 10) == pytest.approx(0.5**0.9)
    assert warmup_poly_factor(100, 100, 10) == pytest.approx(0.0)
