"""Classic fusion methods behind the runtime's :class:`~comix.runtime.backend.Backend` interface, so
they are scored exactly as a model is (same tiling, same metrics).

Pan-sharpening (inputs: MS upsampled to the PAN grid (B, C, H, W) and PAN (B, 1, H, W)):

* ``bicubic`` — the upsampled MS itself (no detail injected);
* ``brovey`` — ``MS_b * PAN / I``, ``I`` the mean of the upsampled bands;
* ``gram_schmidt`` — GS adaptive in its simplest (mode 1) form: ``MS_b + g_b (P - I)``, ``I`` the
  band mean, ``P`` the PAN matched to ``I``'s mean and standard deviation,
  ``g_b = cov(MS_b, I) / var(I)`` per image.

IR-VIS (visible (B, 3 or 1, H, W), infrared (B, 1, H, W), [0, 1]): ``average`` and ``max`` of the
luminance and the infrared, the colour kept as the model keeps it (RGB + (Y' - Y)).
"""

from __future__ import annotations

import numpy as np

from comix.errors import BadInputError
from comix.runtime.backend import Backend, ModelIO
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, input_labels

LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def _brovey(ms: np.ndarray, pan: np.ndarray) -> np.ndarray:
    intensity = ms.mean(axis=1, keepdims=True)
    return ms * pan / np.maximum(intensity, 1e-6)


def _gram_schmidt(ms: np.ndarray, pan: np.ndarray) -> np.ndarray:
    out = np.empty_like(ms)
    for n in range(ms.shape[0]):
        intensity = ms[n].mean(axis=0)
        matched = (pan[n, 0] - pan[n, 0].mean()) * (
            intensity.std() / max(pan[n, 0].std(), 1e-12)
        ) + intensity.mean()
        centred = intensity - intensity.mean()
        variance = max(float((centred**2).mean()), 1e-12)
        for b in range(ms.shape[1]):
            gain = float(((ms[n, b] - ms[n, b].mean()) * centred).mean()) / variance
            out[n, b] = ms[n, b] + gain * (matched - intensity)
    return out


def _luminance_rule(visible: np.ndarray, infrared: np.ndarray, rule: str) -> np.ndarray:
    y = np.tensordot(LUMA, visible, axes=([0], [1]))[:, None] if visible.shape[1] == 3 else visible
    fused_y = (y + infrared) / 2.0 if rule == "average" else np.maximum(y, infrared)
    return visible + (fused_y - y) if visible.shape[1] == 3 else fused_y


PANSHARPEN_BASELINES = {
    "bicubic": lambda ms, pan: ms.copy(),
    "brovey": _brovey,
    "gram_schmidt": _gram_schmidt,
}
IRVIS_BASELINES = {
    "average": lambda v, i: _luminance_rule(v, i, "average"),
    "max": lambda v, i: _luminance_rule(v, i, "max"),
}


class BaselineBackend(Backend):
    """A classic method as a backend: ``run(primary, guide) -> fused`` (shapes as a SHIP model's)."""

    name = "baseline"

    def __init__(
        self, method: str, task: str, primary_channels: int, data_range: float = 1.0, ratio: int = 4
    ) -> None:
        table = PANSHARPEN_BASELINES if task == FUSION_PANSHARPEN else IRVIS_BASELINES
        if task not in (FUSION_IRVIS, FUSION_PANSHARPEN) or method not in table:
            raise BadInputError(
                f"baseline: got {method!r} for {task!r}, expected one of {sorted(table)}"
            )
        self.method = table[method]
        self.name = f"baseline:{method}"
        self.info = ModelIO(
            bands=primary_channels,
            x_channels=1,
            classes=primary_channels,
            name=method,
            task=task,
            config={"data_range": data_range, "ratio": ratio, "primary_channels": primary_channels},
            input_labels=input_labels(task),
        )

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.method(hsi.astype(np.float32), x.astype(np.float32)).astype(np.float32)


def baselines_for(
    task: str, primary_channels: int, data_range: float = 1.0, ratio: int = 4
) -> dict[str, BaselineBackend]:
    """Every classic method of ``task`` as a backend, by name."""
    names = PANSHARPEN_BASELINES if task == FUSION_PANSHARPEN else IRVIS_BASELINES
    return {
        name: BaselineBackend(name, task, primary_channels, data_range, ratio) for name in names
    }
