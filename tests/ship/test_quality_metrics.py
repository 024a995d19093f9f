"""Every image-quality metric against an independent implementation (scikit-image, sewar, scikit-learn, loops
written here in float64) or a worked example."""

from __future__ import annotations

import numpy as np
import pytest
import sewar
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import mutual_info_score

from comix.ship.quality import d_lambda, d_s, ergas, full_resolution, psnr, q2n, sam, ssim, uiqi
from comix.ship.quality.common import uiqi_map
from comix.ship.quality.irvis import entropy, irvis_metrics, mutual_information, qabf, vif


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    reference = rng.random((4, 40, 44))
    return reference, np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1)


def test_psnr_and_ssim_match_scikit_image(pair):
    reference, fused = pair
    assert psnr(reference, fused, 1.0) == pytest.approx(
        peak_signal_noise_ratio(reference, fused, data_range=1.0)
    )
    want = structural_similarity(
        reference,
        fused,
        data_range=1.0,
        channel_axis=0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert ssim(reference, fused, 1.0) == pytest.approx(want, abs=1e-12)


def test_sam_and_ergas_match_sewar(pair):
    reference, fused = pair
    hwc = (reference.transpose(1, 2, 0), fused.transpose(1, 2, 0))
    assert sam(reference, fused) == pytest.approx(np.degrees(sewar.sam(*hwc)), rel=1e-10)
    assert ergas(reference, fused, 4) == pytest.approx(sewar.ergas(*hwc, r=0.25), rel=1e-10)


def test_vif_matches_sewars_pixel_domain_vif():
    rng = np.random.default_rng(1)
    reference = rng.random((64, 72)) * 255
    distorted = np.clip(reference + rng.normal(0, 20, reference.shape), 0, 255)
    assert vif(reference, distorted) == pytest.approx(sewar.vifp(reference, distorted), rel=1e-9)


def test_uiqi_matches_a_window_loop():
    rng = np.random.default_rng(2)
    x, y = rng.random((12, 14)), rng.random((12, 14))
    block = 5
    want = np.empty((8, 10))
    for i in range(8):
        for j in range(10):
            a, b = x[i : i + block, j : j + block].ravel(), y[i : i + block, j : j + block].ravel()
            cov = np.cov(a, b)  # unbiased: the factor cancels in the index
            want[i, j] = (
                4
                * cov[0, 1]
                * a.mean()
                * b.mean()
                / ((cov[0, 0] + cov[1, 1]) * (a.mean() ** 2 + b.mean() ** 2))
            )
    np.testing.assert_allclose(uiqi_map(x, y, block), want, rtol=1e-9)


def _q_block_complex(reference: np.ndarray, fused: np.ndarray) -> float:
    """Q of a 2-band block with numpy complex numbers (independent of the hypercomplex code)."""
    z = reference[0] + 1j * reference[1]
    w = fused[0] + 1j * fused[1]
    mz, mw = z.mean(), w.mean()
    cov = np.mean((z - mz) * np.conj(w - mw))
    var = np.mean(np.abs(z - mz) ** 2) + np.mean(np.abs(w - mw) ** 2)
    return 4 * abs(cov) * abs(mz) * abs(mw) / (var * (abs(mz) ** 2 + abs(mw) ** 2))


def _q_block_quaternion(reference: np.ndarray, fused: np.ndarray) -> float:
    """Q of a 4-band block; the product written on complex pairs:
    (a, b)(c, d) = (ac - conj(d) b, conj(a) conj(d) + c conj(b))."""

    def split(x):
        return x[0] + 1j * x[1], x[2] + 1j * x[3]

    def conj(a, b):
        return np.conj(a), -b

    def mul(a, b, c, d):
        return a * c - np.conj(d) * b, np.conj(a) * np.conj(d) + c * np.conj(b)

    za, zb = split(reference)
    wa, wb = split(fused)
    product = mul(za, zb, *conj(wa, wb))
    ma, mb = za.mean(), zb.mean()
    na, nb = wa.mean(), wb.mean()
    mean_product = mul(ma, mb, *conj(na, nb))
    cov = (product[0].mean() - mean_product[0], product[1].mean() - mean_product[1])
    norm_cov = np.sqrt(abs(cov[0]) ** 2 + abs(cov[1]) ** 2)
    norm_m, norm_n = np.sqrt(abs(ma) ** 2 + abs(mb) ** 2), np.sqrt(abs(na) ** 2 + abs(nb) ** 2)
    var = (np.mean(abs(za) ** 2 + abs(zb) ** 2) - norm_m**2) + (
        np.mean(abs(wa) ** 2 + abs(wb) ** 2) - norm_n**2
    )
    return 4 * norm_cov * norm_m * norm_n / (var * (norm_m**2 + norm_n**2))


def _standardised(reference, fused):
    mean = reference.mean(axis=(1, 2), keepdims=True)
    std = reference.std(axis=(1, 2), ddof=1, keepdims=True)
    return (reference - mean) / std + 1, (fused - mean) / std + 1


@pytest.mark.parametrize("bands, block_q", [(2, _q_block_complex), (4, _q_block_quaternion)])
def test_q2n_matches_complex_and_quaternion_arithmetic(bands, block_q):
    rng = np.random.default_rng(bands)
    reference = rng.random((bands, 64, 32)) + 0.5
    fused = reference * rng.uniform(0.8, 1.2, (bands, 1, 1)) + rng.normal(0, 0.1, reference.shape)
    want = np.mean(
        [block_q(*_standardised(reference[:, i : i + 32], fused[:, i : i + 32])) for i in (0, 32)]
    )
    assert q2n(reference, fused, 32, 32) == pytest.approx(want, rel=1e-9)
    assert q2n(reference, reference) == pytest.approx(1.0)


def test_q2n_of_eight_bands_is_one_for_a_perfect_image_and_drops_with_distortion(pair):
    rng = np.random.default_rng(3)
    reference = rng.random((8, 32, 32)) + 0.2
    assert q2n(reference, reference) == pytest.approx(1.0)
    assert q2n(reference, reference + rng.normal(0, 0.2, reference.shape)) < 0.9


def test_full_resolution_indices_worked_examples():
    """D_lambda = 0 when the fused bands relate to each other as the MS bands do (all equal copies);
    D_s = 0 when the fused bands are the PAN and the MS bands its degraded copy; QNR = 1 then."""
    rng = np.random.default_rng(4)
    pan = rng.random((1, 64, 64)) + 0.1
    pan_low = rng.random((1, 16, 16)) + 0.1
    fused, ms = np.repeat(pan, 3, axis=0), np.repeat(pan_low, 3, axis=0)
    assert d_lambda(fused, ms, block=8) == pytest.approx(0.0, abs=1e-12)
    assert d_s(fused, ms, pan, pan_low, block=8) == pytest.approx(0.0, abs=1e-12)
    assert full_resolution(fused, ms, pan, pan_low, block=8)["qnr"] == pytest.approx(1.0)
    # one band replaced by noise: both distortions appear and follow their definitions (a loop here)
    fused[1] = rng.random((64, 64))
    want = np.mean(
        [
            abs(uiqi(fused[i], fused[j], 8) - uiqi(ms[i], ms[j], 8))
            for i in range(3)
            for j in range(3)
            if i != j
        ]
    )
    assert d_lambda(fused, ms, block=8) == pytest.approx(want) and want > 0.1


def test_entropy_sd_and_mutual_information_worked_examples():
    half = np.zeros((8, 8))
    half[:, 4:] = 200.0
    assert entropy(half) == pytest.approx(1.0)  # two equally likely grey levels: one bit
    assert mutual_information(half, half) == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    a, b = (
        rng.integers(0, 256, (40, 40)).astype(float),
        rng.integers(0, 256, (40, 40)).astype(float),
    )
    assert mutual_information(a, b) == pytest.approx(
        mutual_info_score(a.ravel(), b.ravel()) / np.log(2)
    )


def _qabf_loop(a, b, f):
    """Xydeas-Petrovic, pixel by pixel in float64 (the same constants)."""
    from scipy import ndimage

    def grad(x):
        gx = ndimage.correlate(
            x, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float), mode="nearest"
        )
        gy = ndimage.correlate(
            x, np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float), mode="nearest"
        )
        return gx, gy

    grads = [grad(x) for x in (a, b, f)]
    num = den = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            (fx, fy) = grads[2][0][i, j], grads[2][1][i, j]
            gf, af = np.hypot(fx, fy), (np.pi / 2 if fx == 0 else np.arctan(fy / fx))
            for sx, sy in (grads[0], grads[1]):
                x_, y_ = sx[i, j], sy[i, j]
                gs, as_ = np.hypot(x_, y_), (np.pi / 2 if x_ == 0 else np.arctan(y_ / x_))
                g = 1.0 if gs == gf else (gf / gs if gs > gf else gs / gf)
                o = 1 - abs(as_ - af) / (np.pi / 2)
                q = 0.9994 / (1 + np.exp(-15 * (g - 0.5))) * 0.9879 / (1 + np.exp(-22 * (o - 0.8)))
                num += q * gs
                den += gs
    return num / den


def test_qabf_matches_a_pixel_loop_and_rewards_keeping_edges():
    rng = np.random.default_rng(6)
    a, b = rng.random((16, 18)) * 255, rng.random((16, 18)) * 255
    f = 0.5 * (a + b)
    assert qabf(a, b, f) == pytest.approx(_qabf_loop(a, b, f), rel=1e-9)
    assert qabf(a, a, a) > qabf(a, b, np.full_like(a, 128.0))


def test_irvis_metrics_on_a_fused_pair():
    rng = np.random.default_rng(7)
    visible, infrared = rng.random((3, 32, 32)), rng.random((1, 32, 32))
    metrics = irvis_metrics(visible, infrared, visible)
    assert set(metrics) == {"en", "sd", "mi", "ssim", "vif", "qabf"}
    gray = np.tensordot([0.299, 0.587, 0.114], visible, axes=1) * 255
    assert metrics["sd"] == pytest.approx(gray.std())
    assert metrics["ssim"] == pytest.approx(1.0 + ssim(infrared[0] * 255, gray, 255.0))
