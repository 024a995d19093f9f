"""In-memory fusion data sets: pan-sharpening samples (PanCollection's layout) and infrared-visible
image pairs.

Both are channels-first float32 in the data's own units; ``data_range`` says what 1.0 inside a model is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from comix.data.errors import DataError
from comix.ship.data.resample import bicubic_upsample


@dataclass
class PansharpenSet:
    """N co-registered pan-sharpening samples.

    Attributes:
        ms: (N, B, h, w) multispectral image at its own resolution.
        pan: (N, 1, H, W) panchromatic band, H = ratio * h.
        gt: (N, B, H, W) reference (reduced-resolution sets made by Wald's protocol), or None
            (full resolution).
        lms: (N, B, H, W) ``ms`` upsampled to the PAN grid; computed (bicubic) when not given.
        ratio: PAN / MS resolution ratio; data_range: units of 1.0 (2047 for 11-bit PanCollection
            files).
        truth: (N, B, H, W) the ideal MS at the PAN's resolution, known only for synthetic
            full-resolution sets.
    """

    ms: np.ndarray
    pan: np.ndarray
    gt: np.ndarray | None = None
    lms: np.ndarray | None = None
    ratio: int = 4
    data_range: float = 1.0
    band_names: tuple[str, ...] = ()
    name: str = ""
    truth: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = self.name or "pan-sharpening set"
        if self.ms.ndim != 4 or self.pan.ndim != 4 or self.pan.shape[1] != 1:
            raise DataError(
                f"{where}: got ms {self.ms.shape} and pan {self.pan.shape}, expected ms (N, B, h, w) and "
                "pan (N, 1, H, W)"
            )
        n, bands, height, width = self.ms.shape
        if self.pan.shape[0] != n or self.pan.shape[2:] != (
            height * self.ratio,
            width * self.ratio,
        ):
            raise DataError(
                f"{where}: got ms {self.ms.shape} and pan {self.pan.shape}, expected pan (N={n}, 1, "
                f"{height * self.ratio}, {width * self.ratio}) for the ratio {self.ratio}"
            )
        full = (n, bands, height * self.ratio, width * self.ratio)
        for key in ("gt", "lms", "truth"):
            value = getattr(self, key)
            if value is not None and value.shape != full:
                raise DataError(f"{where}: {key}: got shape {value.shape}, expected {full}")
        if self.lms is None:
            self.lms = np.stack([bicubic_upsample(sample, self.ratio) for sample in self.ms])
        if self.band_names and len(self.band_names) != bands:
            raise DataError(f"{where}: band_names: got {len(self.band_names)}, expected {bands}")

    def __len__(self) -> int:
        return self.ms.shape[0]

    @property
    def bands(self) -> int:
        return self.ms.shape[1]

    @property
    def reduced_resolution(self) -> bool:
        """True when a reference is present (Wald's protocol); full-resolution sets are scored without one."""
        return self.gt is not None

    def subset(self, indices) -> PansharpenSet:
        pick = np.asarray(indices)

        def take(value):
            return None if value is None else value[pick]

        return PansharpenSet(
            self.ms[pick],
            self.pan[pick],
            take(self.gt),
            take(self.lms),
            self.ratio,
            self.data_range,
            self.band_names,
            self.name,
            take(self.truth),
            dict(self.metadata),
        )


@dataclass
class IrVisSet:
    """N registered infrared-visible pairs (each pair its own size).

    Attributes:
        visible: per pair (C, H, W), C = 3 (RGB) or 1 (gray), values in [0, 1].
        infrared: per pair (1, H, W) in [0, 1].
        masks: per pair (1, H, W) {0, 1} thermal-target mask (1 = the infrared image is the informative one),
            or None (derived from the infrared image when a loss needs it).
        names: per pair, the file stem or sample name.
    """

    visible: list[np.ndarray]
    infrared: list[np.ndarray]
    masks: list[np.ndarray] | None = None
    names: list[str] = field(default_factory=list)
    name: str = ""

    def __post_init__(self) -> None:
        where = self.name or "IR-VIS set"
        if len(self.visible) != len(self.infrared):
            raise DataError(
                f"{where}: got {len(self.visible)} visible and {len(self.infrared)} infrared images, "
                "expected one of each per pair"
            )
        if not self.names:
            self.names = [f"pair_{i:04d}" for i in range(len(self.visible))]
        channels = {v.shape[0] for v in self.visible}
        if len(channels) > 1:
            raise DataError(
                f"{where}: visible images have {sorted(channels)} channels, expected one count for all"
            )
        for name, vis, ir in zip(self.names, self.visible, self.infrared):
            if vis.ndim != 3 or ir.ndim != 3 or ir.shape[0] != 1 or vis.shape[0] not in (1, 3):
                raise DataError(
                    f"{where}: {name}: got visible {vis.shape} and infrared {ir.shape}, expected "
                    "(3 or 1, H, W) and (1, H, W)"
                )
            if vis.shape[1:] != ir.shape[1:]:
                raise DataError(
                    f"{where}: {name}: got visible {vis.shape[1]}x{vis.shape[2]} and infrared "
                    f"{ir.shape[1]}x{ir.shape[2]} pixels, expected registered images of one size"
                )
        if self.masks is not None and [m.shape for m in self.masks] != [
            ir.shape for ir in self.infrared
        ]:
            raise DataError(
                f"{where}: masks: expected one (1, H, W) mask per pair, of the infrared image's size"
            )

    def __len__(self) -> int:
        return len(self.visible)

    @property
    def visible_channels(self) -> int:
        return self.visible[0].shape[0] if self.visible else 3
