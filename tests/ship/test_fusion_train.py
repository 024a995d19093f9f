"""SHIP training pieces: the losses, the classic baselines, scoring through a backend, a short
training run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fusion_helpers import TINY, tiny_ship

from comix.model import load_checkpoint
from comix.runtime.torch_backend import TorchBackend
from comix.ship.data import IrVisSet, irvis_set, pansharpen_scene, wald_reduced
from comix.ship.train.baselines import BaselineBackend, baselines_for
from comix.ship.train.evaluate import metric_deltas, score_fusion
from comix.ship.train.losses import irvis_losses, sobel_magnitude, spectral_angle, ssim_mean
from comix.ship.train.recipe import FusionRecipe
from comix.ship.train.trainer import FusionTrainer
from comix.tasks import TaskMismatchError


def test_sobel_magnitude_of_a_step_edge_is_four():
    step = torch.zeros(1, 1, 6, 6)
    step[..., 3:] = 1.0
    magnitude = sobel_magnitude(step)[0, 0, 1:-1]  # rows away from the zero padding
    assert torch.all(magnitude[:, 2:4] == 4.0) and torch.all(magnitude[:, :2] == 0.0)


def test_irvis_losses_vanish_where_they_should():
    y = torch.rand(1, 1, 12, 12)  # the ssim term needs the 11 x 11 window
    ir = torch.zeros(1, 1, 12, 12)
    terms = irvis_losses(y, ir, y, torch.zeros_like(y))  # fused = visible = max(visible, 0-IR)
    assert float(terms["max_l1"]) == 0.0 and float(terms["gradient"]) == 0.0
    assert float(spectral_angle(torch.rand(2, 4, 5, 5) + 0.1, torch.rand(2, 4, 5, 5) * 0 + 1)) > 0.0


def _ssim_loop(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """float64 reference: a loop over every 11 x 11 window fully inside the image, Gaussian weights
    (sigma 1.5)."""
    taps = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    w = np.outer(taps, taps) / taps.sum() ** 2
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for r in range(x.shape[0] - 10):
        for c in range(x.shape[1] - 10):
            a, b = x[r : r + 11, c : c + 11], y[r : r + 11, c : c + 11]
            mu_a, mu_b = (w * a).sum(), (w * b).sum()
            var_a, var_b = (w * a * a).sum() - mu_a**2, (w * b * b).sum() - mu_b**2
            cov = (w * a * b).sum() - mu_a * mu_b
            values.append(
                (2 * mu_a * mu_b + c1)
                * (2 * cov + c2)
                / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
            )
    return float(np.mean(values))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ssim_loss_matches_a_window_loop_and_the_metric(dtype):
    from skimage.metrics import structural_similarity

    from comix.ship.quality.common import ssim

    rng = np.random.default_rng(3)
    shape = (2, 1, 19, 14)  # odd, non-square, batch 2
    x = rng.random(shape)
    y = np.clip(0.6 * x + 0.4 * rng.random(shape), 0.0, 1.0)
    got = float(ssim_mean(torch.from_numpy(x).to(dtype), torch.from_numpy(y).to(dtype)))
    loop = np.mean([_ssim_loop(x[n, 0], y[n, 0], 1.0) for n in range(2)])
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    assert abs(got - loop) < tolerance
    metric = np.mean([ssim(x[n], y[n], 1.0) for n in range(2)])  # what the IR-VIS score sums
    reference = np.mean(
        [
            structural_similarity(
                x[n, 0],
                y[n, 0],
                data_range=1.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for n in range(2)
        ]
    )
    assert abs(got - metric) < tolerance and abs(got - reference) < tolerance
    # the term of irvis_losses: 2 - SSIM(F, Y_vis) - SSIM(F, IR); zero only when fused equals both sources
    v, i, f = (torch.from_numpy(a).to(dtype) for a in (x, y, 0.5 * (x + y)))
    term = irvis_losses(v, i, f, torch.zeros_like(v))["ssim"]
    expected = (
        2.0
        - np.mean(
            [_ssim_loop(0.5 * (x[n, 0] + y[n, 0]), s[n, 0], 1.0) for n in range(2) for s in (x, y)]
        )
        * 2
    )
    assert abs(float(term) - expected) < 10 * tolerance
    assert float(irvis_losses(v, v, v, torch.zeros_like(v))["ssim"]) == pytest.approx(
        0.0, abs=tolerance
    )


def test_ssim_loss_gradient_and_refusals():
    x = torch.rand(1, 1, 12, 13, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 12, 13, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ssim_mean(t, y), (x,))
    with pytest.raises(ValueError, match=r"got H x W \(10, 13\), expected at least 11 x 11"):
        ssim_mean(x[..., :10, :], y[..., :10, :])
    with pytest.raises(ValueError, match="expected two equal"):
        ssim_mean(x, y[..., :12])


def test_every_irvis_loss_term_has_a_default_and_a_public_code_weight():
    from comix.ship.train.recipe import IRVIS_LOSS_WEIGHTS, IRVIS_PUBLIC_LOSS_WEIGHTS

    y = torch.rand(1, 1, 16, 16)
    terms = irvis_losses(y, y, y, torch.zeros_like(y))
    assert set(terms) == set(IRVIS_LOSS_WEIGHTS) == set(IRVIS_PUBLIC_LOSS_WEIGHTS)
    assert IRVIS_PUBLIC_LOSS_WEIGHTS == {
        "mask_l1": 3.0,
        "max_l1": 10.0,
        "gradient": 10.0,
        "ssim": 0.0,
    }


def test_baselines_follow_their_formulas():
    rng = np.random.default_rng(0)
    ms, pan = (
        rng.random((1, 4, 8, 8)).astype(np.float32) + 0.1,
        rng.random((1, 1, 8, 8)).astype(np.float32) + 0.1,
    )
    brovey = BaselineBackend("brovey", "fusion-pansharpen", 4).run(ms, pan)
    np.testing.assert_allclose(brovey, ms * pan / ms.mean(axis=1, keepdims=True), rtol=1e-5)
    gs = BaselineBackend("gram_schmidt", "fusion-pansharpen", 4).run(ms, pan)
    detail = (gs - ms).mean(axis=1)[0].ravel()
    assert np.corrcoef(detail, pan.ravel())[0, 1] > 0.5  # the injected detail is the PAN's
    visible, infrared = (
        rng.random((1, 3, 4, 4)).astype(np.float32),
        rng.random((1, 1, 4, 4)).astype(np.float32),
    )
    fused = BaselineBackend("max", "fusion-irvis", 3).run(visible, infrared)
    luma = np.tensordot([0.299, 0.587, 0.114], fused[0], axes=1)
    np.testing.assert_allclose(
        luma,
        np.maximum(np.tensordot([0.299, 0.587, 0.114], visible[0], axes=1), infrared[0, 0]),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="expected one of"):
        BaselineBackend("ihs", "fusion-pansharpen", 4)


def test_scores_of_methods_and_their_deltas(small_scene):
    reduced = wald_reduced(pansharpen_scene(small_scene))
    scores = {
        name: score_fusion(backend, reduced).metrics
        for name, backend in baselines_for("fusion-pansharpen", 4).items()
    }
    assert set(scores["bicubic"]) == {"psnr", "ssim", "sam", "ergas", "q2n"}
    assert scores["brovey"]["sam"] == pytest.approx(
        scores["bicubic"]["sam"], abs=1e-3
    )  # Brovey keeps the angles
    deltas = metric_deltas(scores["brovey"], scores["bicubic"])
    assert deltas["psnr"]["loss"] == pytest.approx(
        scores["bicubic"]["psnr"] - scores["brovey"]["psnr"]
    )
    assert deltas["ergas"]["loss"] == pytest.approx(
        scores["brovey"]["ergas"] - scores["bicubic"]["ergas"]
    )
    with pytest.raises(TaskMismatchError, match="expects a SHIP infrared-visible fusion model"):
        score_fusion(baselines_for("fusion-pansharpen", 4)["bicubic"], irvis_set([small_scene]))


@pytest.mark.parametrize("kind", ["pansharpen", "irvis"])
def test_a_short_training_run_lowers_the_loss_and_writes_a_fusion_checkpoint(
    tmp_path, small_scene, kind
):
    if kind == "pansharpen":
        data = wald_reduced(pansharpen_scene(small_scene))
        variant = "ship_pansharpen"
    else:
        pair = irvis_set([small_scene])
        data = IrVisSet(
            [v[:, :64, :64] for v in pair.visible],
            [i[:, :64, :64] for i in pair.infrared],
            [m[:, :64, :64] for m in pair.masks],
        )
        variant = "ship_irvis"
    # one crop covering the whole image, no augmentation: every step sees the same batch, so the
    # loss must fall
    size = data.pan.shape[-1] if kind == "pansharpen" else 64
    recipe = FusionRecipe(
        variant=variant,
        steps=6,
        batch_size=1,
        patch=size,
        lr=3e-3,
        eval_every=6,
        augment=False,
        model_overrides=TINY,
    )
    trainer = FusionTrainer(data, data, recipe, tmp_path / "run", show_progress=False)
    batch = trainer.sampler.batch(1)
    with torch.no_grad():
        before = float(trainer.loss(batch)[0])
    result = trainer.fit()
    with torch.no_grad():
        after = float(trainer.loss(batch)[0])
    assert after < before
    loaded = load_checkpoint(tmp_path / "run")
    assert loaded.task == f"fusion-{kind}" and loaded.training_recipe["steps"] == 6
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["step"] == 6 and result.last_scores is not None


def test_irvis_training_refuses_crops_smaller_than_the_ssim_window(small_scene):
    with pytest.raises(ValueError, match="patch: got 8, expected at least 11 for IR-VIS"):
        FusionTrainer(
            irvis_set([small_scene]), None, FusionRecipe(variant="ship_irvis", patch=8), "unused"
        )


def test_training_refuses_a_variant_of_the_other_task(small_scene):
    data = wald_reduced(pansharpen_scene(small_scene))
    with pytest.raises(
        TaskMismatchError, match="variant ship_irvis: got a SHIP infrared-visible fusion model"
    ):
        FusionTrainer(data, None, FusionRecipe(variant="ship_irvis"), "unused")


def test_torch_backend_of_a_ship_model_describes_its_inputs():
    backend = TorchBackend(tiny_ship("ship_pansharpen"))
    assert backend.info.task == "fusion-pansharpen" and backend.info.input_labels == (
        "MS image",
        "PAN image",
    )
    with pytest.raises(ValueError, match="MS image: got 3 bands, expected 4"):
        backend.check_scene(np.zeros((3, 8, 8), np.float32), np.zeros((1, 8, 8), np.float32))
