"""The in-memory form of one HSI-X scene, as every reader and the synthetic generator return it.

Axis conventions (the model and runtime rely on them):

* ``hsi``    float32 ``(bands, H, W)`` — band-first, the order ``(B, bands, H, W)`` the model takes.
* ``x``      float32 ``(C, H, W)``     — the X modality (LiDAR DSM, SAR, ...), same ``H x W``.
* ``labels`` int64   ``(H, W)``        — ``0`` = unlabelled, classes ``1..K`` (``K = len(class_names)``).
* ``train_mask`` / ``test_mask`` bool ``(H, W)`` — disjoint, and only on labelled pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef


@dataclass
class Scene:
    """One co-registered HSI + X scene with sparse labels and a train/test split.

    Attributes:
        hsi: float32 ``(bands, H, W)`` hyperspectral cube.
        x: float32 ``(C, H, W)`` X-modality raster(s), e.g. ``C = 1`` for a LiDAR DSM.
        labels: int64 ``(H, W)``; ``0`` = unlabelled, ``1..K`` = ``class_names[k - 1]``.
        class_names: the ``K`` class names, in label order.
        train_mask: bool ``(H, W)``, pixels to train on (a subset of ``labels > 0``).
        test_mask: bool ``(H, W)``, held-out pixels (a subset of ``labels > 0``, disjoint from train).
        wavelengths_nm: float64 ``(bands,)`` band centres in nanometres, or ``None`` if unknown.
        x_modality: what ``x`` is, e.g. ``"lidar_dsm"``, ``"sar"``.
        x_channel_names: one name per ``x`` channel.
        georef: georeference of the ``H x W`` grid, or ``None``.
        name: a short name for reports.
        metadata: free-form provenance (e.g. generator preset and seed).
    """

    hsi: np.ndarray
    x: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    train_mask: np.ndarray
    test_mask: np.ndarray
    wavelengths_nm: np.ndarray | None = None
    x_modality: str = "lidar_dsm"
    x_channel_names: tuple[str, ...] = ()
    georef: GeoRef | None = None
    name: str = "scene"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = tuple(str(c) for c in self.class_names)
        if self.hsi.ndim != 3:
            raise DataError(
                f"Scene '{self.name}': hsi has shape {self.hsi.shape}, expected 3 axes (bands, H, W)"
            )
        if self.x.ndim != 3:
            raise DataError(
                f"Scene '{self.name}': x has shape {self.x.shape}, expected 3 axes (C, H, W)"
            )
        height, width = self.hsi.shape[1:]
        for what, array in (
            ("x", self.x[0]),
            ("labels", self.labels),
            ("train_mask", self.train_mask),
            ("test_mask", self.test_mask),
        ):
            if array.shape != (height, width):
                raise DataError(
                    f"Scene '{self.name}': {what} is {array.shape[0]}x{array.shape[1]} (H x W), "
                    f"expected {height}x{width} like the HSI cube"
                )
        self.hsi = np.ascontiguousarray(self.hsi, dtype=np.float32)
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        self.train_mask = np.asarray(self.train_mask, dtype=bool)
        self.test_mask = np.asarray(self.test_mask, dtype=bool)
        num_classes = len(self.class_names)
        low, high = int(self.labels.min(initial=0)), int(self.labels.max(initial=0))
        if low < 0 or high > num_classes:
            raise DataError(
                f"Scene '{self.name}': label values span {low}..{high}, expected 0 (unlabelled) "
                f"or 1..{num_classes} for the {num_classes} declared classes"
            )
        if np.any(self.train_mask & self.test_mask):
            raise DataError(
                f"Scene '{self.name}': {int(np.sum(self.train_mask & self.test_mask))} pixels are in "
                "both train_mask and test_mask, expected disjoint masks"
            )
        for what, mask in (("train_mask", self.train_mask), ("test_mask", self.test_mask)):
            stray = int(np.sum(mask & (self.labels == 0)))
            if stray:
                raise DataError(
                    f"Scene '{self.name}': {what} covers {stray} unlabelled pixels, "
                    "expected only labelled ones"
                )
        if self.wavelengths_nm is not None:
            self.wavelengths_nm = np.asarray(self.wavelengths_nm, dtype=np.float64).reshape(-1)
            if self.wavelengths_nm.shape[0] != self.hsi.shape[0]:
                raise DataError(
                    f"Scene '{self.name}': {self.wavelengths_nm.shape[0]} wavelengths for "
                    f"{self.hsi.shape[0]} bands, expected one per band"
                )
        if not self.x_channel_names:
            self.x_channel_names = tuple(f"{self.x_modality}_{i}" for i in range(self.x.shape[0]))
        self.x_channel_names = tuple(self.x_channel_names)
        if len(self.x_channel_names) != self.x.shape[0]:
            raise DataError(
                f"Scene '{self.name}': {len(self.x_channel_names)} x_channel_names for "
                f"{self.x.shape[0]} x channels, expected one per channel"
            )

    @property
    def height(self) -> int:
        return int(self.hsi.shape[1])

    @property
    def width(self) -> int:
        return int(self.hsi.shape[2])

    @property
    def num_bands(self) -> int:
        return int(self.hsi.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self, mask: np.ndarray | None = None) -> np.ndarray:
        """int64 ``(K + 1,)``: pixel count per label value ``0..K`` (inside ``mask`` if given)."""
        values = self.labels if mask is None else self.labels[mask]
        return np.bincount(values.reshape(-1), minlength=self.num_classes + 1)
