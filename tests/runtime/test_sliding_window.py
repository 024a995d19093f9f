"""Sliding-window inference: blended tiles equal one full-scene pass; window and grid properties."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_helpers import BANDS, make_scene, tiny_net

from comix.runtime import RuntimeInputError, SlidingWindow, TileGrid, TorchBackend
from comix.runtime.tiling import axis_window, tile_starts


def test_tile_starts_cover_the_axis_and_end_at_the_edge():
    assert tile_starts(100, 32, 8) == [0, 24, 48, 68]
    assert tile_starts(32, 32, 8) == [0]
    for size, tile, overlap in ((37, 10, 3), (64, 16, 0), (17, 16, 15)):
        starts = tile_starts(size, tile, overlap)
        covered = np.zeros(size, bool)
        for s in starts:
            covered[s : s + tile] = True
        assert covered.all() and starts[-1] + tile == size


def test_window_is_flat_inside_tapered_toward_neighbours_and_never_zero():
    window = axis_window(32, 12, 3, 1e-3, taper_begin=True, taper_end=False)
    assert window.min() > 0 and window[:3].max() == pytest.approx(1e-3)
    assert np.all(np.diff(window[:12]) >= 0) and np.all(window[12:] == 1)
    grid = TileGrid(50, 70, 32, 32, 12)
    weights = np.zeros((50, 70))
    for tile in grid.tiles():
        weights[tile.top : tile.top + 32, tile.left : tile.left + 32] += grid.window(tile)
    assert weights.min() > 0.1, "every pixel is covered by some tile well above the floor weight"


def test_blended_tiles_equal_one_full_scene_pass():
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(40, 52)
    full = backend.run(hsi[None], x[None])[0]
    tiled = SlidingWindow(backend, tile=32, overlap=16, batch=3)(hsi, x)
    assert tiled.tiles == 6 and tiled.batches == 2
    # interior tile borders lose a few pixels of context; the window keeps that error small
    assert np.abs(tiled.logits - full).max() < 5e-3
    assert np.array_equal(tiled.classes, full.argmax(0) + 1)


def test_one_tile_covering_the_scene_is_exactly_the_full_pass():
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(21, 30, seed=1)
    full = backend.run(hsi[None], x[None])[0]
    result = SlidingWindow(backend, tile=64, overlap=16, batch=2)(
        hsi, x
    )  # tile clipped to the scene
    assert result.tiles == 1
    np.testing.assert_array_equal(result.logits, full)


def test_probabilities_are_a_softmax_over_classes():
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(20, 20)
    probs = SlidingWindow(backend, tile=16, overlap=4)(hsi, x).probabilities()
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)


def test_band_count_mismatch_is_a_clear_error():
    backend = TorchBackend(tiny_net())
    hsi, x = make_scene(20, 20)
    with pytest.raises(RuntimeInputError, match=f"got {BANDS - 1} bands, expected {BANDS}"):
        SlidingWindow(backend, tile=16, overlap=4)(hsi[1:], x)
    with pytest.raises(RuntimeInputError, match="expected the same grid"):
        SlidingWindow(backend, tile=16, overlap=4)(hsi, x[:, :-1])


@pytest.mark.parametrize("tile,overlap,batch", [(16, 16, 1), (0, 0, 1), (16, 4, 0)])
def test_bad_tiling_options_are_clear_errors(tile, overlap, batch):
    with pytest.raises(RuntimeInputError, match="got"):
        SlidingWindow(TorchBackend(tiny_net()), tile=tile, overlap=overlap, batch=batch)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (32, 32), (40, 17)])
def test_nearest_fill_finds_a_nearest_valid_pixel_as_scipy_does(seed, shape):
    """Our separable exact distance transform (NumPy only) against SciPy's: the same distance everywhere,
    and every chosen source is valid; its tie-break (smallest column, then the upper row) is its own."""
    from scipy import ndimage

    from comix.runtime.nearest_fill import nearest_valid

    rng = np.random.default_rng(seed)
    valid = rng.random(shape) < [0.02, 0.2, 0.6, 0.95, 0.3, 0.01][seed]
    valid.flat[rng.integers(valid.size)] = True
    rows, cols = nearest_valid(valid)
    assert valid[rows, cols].all()
    expected = ndimage.distance_transform_edt(~valid)
    grid_r, grid_c = np.indices(shape)
    np.testing.assert_allclose(np.hypot(rows - grid_r, cols - grid_c), expected, rtol=0, atol=1e-12)
    assert ((rows == grid_r) & (cols == grid_c))[valid].all()  # a valid pixel is its own source
