"""What a nodata hole does to a trained CoMiX's classes, and what is guaranteed (docs/archive.md, "Nodata").

A small CoMiX is trained for a few seconds on a synthetic Houston-like scene. The issue's case — a 15 x 20
hole in a 90 x 150 scene, as a NaN GeoTIFF written by rasterio, as -9999 with the GeoTIFF nodata tag and as an
ENVI ``data ignore value`` — is segmented through ``comix infer``'s code path. Guaranteed, and tested: the
hole is nodata in every product, the three encodings give identical products, no nodata value reaches the
model, and every pixel whose covering tiles are all clear of the hole gets bit-for-bit the logits it has
without the hole. Not attainable, and shown: "the same class as without the region" for every pixel 10 px
away — CoMiX's context is global per tile, so the hole's real content moves every logit of its tiles.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from comix.data.envi_io import write_envi
from comix.data.synthetic import houston_like
from comix.runtime.segment import open_scene, segment_scene, segment_source
from comix.runtime.torch_backend import TorchBackend

HEIGHT, WIDTH, BANDS = 90, 150, 12
HOLE = (slice(37, 52), slice(65, 85))  # 15 x 20, the hole
TILE, OVERLAP = 48, 16  # smaller than the scene, so some tiles are clear of the hole
NODATA = -9999.0
pytestmark = pytest.mark.slow  # training the model takes ~60 s on one thread
TINY_MODEL = {
    "widths": (8, 8, 16, 16),
    "depths": (1, 1, 1, 1),
    "decoder_dim": 16,
    "spectral_depth": 4,
    "hsi_width_ratio": 1.0,
    "ffm_head_dim": 8,
}


class Guarded(TorchBackend):
    """The trained model, refusing any input that is not finite or is the nodata value."""

    def run(self, hsi, x):
        assert np.isfinite(hsi).all() and np.isfinite(x).all() and not (hsi == NODATA).any(), (
            "a nodata value reached the model"
        )
        return super().run(hsi, x)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(backend, scene): a small CoMiX trained 60 steps on its own 90 x 150 scene (~60 s on one thread).

    One torch thread here too: a module fixture runs before conftest's per-test pinning, and two threads
    on the shared 2-core machine made this 456 s instead of ~60 s."""
    import torch

    from comix.train.recipe import TrainRecipe
    from comix.train.trainer import Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        scene = houston_like(
            seed=11, height=HEIGHT, width=WIDTH, wavelengths_nm=np.linspace(400, 1000, BANDS)
        ).scene
        recipe = TrainRecipe(
            tile=32,
            batch_size=4,
            steps=60,
            warmup_steps=5,
            eval_every=60,
            eval_tile=TILE,
            eval_overlap=OVERLAP,
            seed=1,
            lr=5e-3,
            model_overrides=TINY_MODEL,
        )
        folder = tmp_path_factory.mktemp("trained")
        result = Trainer(scene, recipe, folder, show_progress=False).fit()
    finally:
        torch.set_num_threads(threads)
    metrics = result.history[-1]
    print(
        f"trained: overall accuracy {metrics['overall_accuracy']:.3f}, kappa {metrics['kappa']:.3f}"
    )
    assert metrics["kappa"] > 0.1, "the model learned something (kappa 0: no better than chance)"
    checkpoint = TorchBackend.from_checkpoint(folder)
    return Guarded(checkpoint.module, checkpoint.info), scene


@pytest.fixture(scope="module")
def runs(trained, tmp_path_factory):
    """The clean scene and the hole in each encoding, segmented from files with every product written."""
    import rasterio

    backend, scene = trained
    folder = tmp_path_factory.mktemp("hole")
    hsi, x = scene.hsi.astype(np.float32), scene.x.astype(np.float32)
    profile = {"driver": "GTiff", "height": HEIGHT, "width": WIDTH, "dtype": "float32"}

    def tif(name, array, nodata=None):
        with rasterio.open(
            folder / name, "w", count=array.shape[0], nodata=nodata, **profile
        ) as dataset:
            dataset.write(array)
        return folder / name

    holed = hsi.copy()
    holed[(slice(None), *HOLE)] = np.nan
    inputs = {"clean": tif("clean.tif", hsi), "nan": tif("nan.tif", holed)}
    holed[(slice(None), *HOLE)] = NODATA
    inputs["geotiff -9999"] = tif("nodata.tif", holed, nodata=NODATA)
    write_envi(folder / "envi.img", holed, ignore_value=NODATA)
    inputs["envi ignore"] = folder / "envi.img"
    x_path = tif("x.tif", x)
    out = {}
    for case, path in inputs.items():
        with open_scene(path, x_path) as source:
            out[case] = segment_source(
                backend,
                source,
                folder / f"{case.replace(' ', '_')}.tif",
                tile=TILE,
                overlap=OVERLAP,
                probabilities=True,
                keep_in_memory=True,
            )
    return out


def _hole() -> np.ndarray:
    hole = np.zeros((HEIGHT, WIDTH), bool)
    hole[HOLE] = True
    return hole


@pytest.mark.parametrize("case", ["nan", "geotiff -9999", "envi ignore"])
def test_the_hole_is_nodata_in_every_product(runs, case):
    import rasterio

    run, hole = runs[case], _hole()
    with rasterio.open(run.paths["classes_tif"]) as dataset:
        classes = dataset.read(1)
        assert dataset.nodata == 0
    assert (classes[hole] == 0).all() and (classes[~hole] > 0).all()
    np.testing.assert_array_equal(np.load(run.paths["classes_npy"]), classes)
    with rasterio.open(run.paths["probabilities"]) as dataset:
        probs = dataset.read()
    assert np.isnan(probs[:, hole]).all() and np.isfinite(probs[:, ~hole]).all()
    summary = json.loads(run.paths["summary"].read_text())
    assert summary["nodata_pixels"] == summary["nodata"]["pixels"] == 300
    assert sum(c["pixels"] for c in summary["classes"]) == HEIGHT * WIDTH - 300


def test_the_three_encodings_give_identical_products(runs):
    logits = runs["nan"].result.logits
    for case in ("geotiff -9999", "envi ignore"):
        np.testing.assert_array_equal(runs[case].result.logits, logits)
        assert (
            runs[case].paths["classes_tif"].read_bytes()
            == runs["nan"].paths["classes_tif"].read_bytes()
        )


def test_pixels_clear_of_the_hole_tiles_keep_their_logits_exactly(runs):
    """Every pixel whose covering tiles are all clear of the hole: the logits it has without the hole, bit
    for bit (the same tile inputs, the same batches, the same blend)."""
    from comix.runtime.streaming import TilePlan

    plan = TilePlan.for_scene(HEIGHT, WIDTH, (TILE, TILE), OVERLAP, 4)
    hole = _hole()
    touched = np.zeros_like(hole)
    for tile in plan.grid.tiles():
        window = (slice(tile.top, tile.top + TILE), slice(tile.left, tile.left + TILE))
        touched[window] |= hole[window].any()
    clear = ~touched
    assert 0.3 < clear.mean() < 0.9, "both kinds of pixel are present"
    clean, holed = runs["clean"].result, runs["nan"].result
    np.testing.assert_array_equal(holed.logits[:, clear], clean.logits[:, clear])
    assert np.abs(holed.logits[:, touched & ~hole] - clean.logits[:, touched & ~hole]).max() > 0


def test_far_pixels_under_hole_tiles_cannot_all_keep_their_class(trained, tmp_path):
    """Why the issue's "no pixel 10 px away changes" cannot hold for every scene: two scenes that differ only
    inside the hole (both real data, no nodata) give different logits 10 px and more away, under the hole's
    tiles. Both have the same nodata version, so no method given only that version can return both; a class
    whose top two logits are close flips. The docs give the measured fraction for the demo's model."""
    backend, scene = trained
    hsi, x = scene.hsi.astype(np.float32), scene.x.astype(np.float32)
    other = hsi.copy()
    other[(slice(None), *HOLE)] = hsi[(slice(None), *HOLE)][
        :, ::-1, ::-1
    ]  # the hole's own pixels, mirrored
    a = segment_scene(backend, hsi, x, tmp_path / "a.tif", tile=TILE, overlap=OVERLAP).result
    b = segment_scene(backend, other, x, tmp_path / "b.tif", tile=TILE, overlap=OVERLAP).result
    far = ndimage.distance_transform_edt(~_hole()) >= 10
    assert np.abs(a.logits[:, far] - b.logits[:, far]).max() > 1e-4


def test_the_nearest_fill_keeps_almost_every_far_class(runs):
    """A guard against the issue's bug (every pixel changed class): with the default fill, at most a few per
    cent of the pixels 10 px or more from the hole change class on this small model."""
    far = ndimage.distance_transform_edt(~_hole()) >= 10
    changed = runs["nan"].result.classes[far] != runs["clean"].result.classes[far]
    assert changed.mean() < 0.03
