"""``ShipConfig``: every size and every design choice of SHIP / SHIP++ (multi-modal image fusion),
validated here.

What the public SHIP code fixes (IR-VIS, CVPR 2024) are the defaults; SHIP++ (TPAMI 2024/25) is described
only in words, so its three mechanisms are switches (off = SHIP); pan-sharpening is our adaptation.
``docs/ship.md`` says which choice is whose.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from comix.model.config import ConfigError, reject_unknown_fields
from comix.ops.spectral import LOWERINGS
from comix.tasks import FUSION_IRVIS, FUSION_PANSHARPEN, FUSION_TASKS


class ShipConfigError(ConfigError):
    """A ``ShipConfig`` field has a value the model cannot be built with."""


@dataclass
class ShipConfig:
    """Architecture of one SHIP model.

    Inputs: ``primary`` (B, primary_channels, H, W) — the visible image (RGB or gray) for IR-VIS, the MS image
    upsampled to the PAN grid for pan-sharpening — and ``guide`` (B, guide_channels, H, W) — the infrared or
    PAN band. Output: the fused image (B, primary_channels, H, W), in the inputs' units (``data_range``).
    """

    task: str = FUSION_IRVIS
    primary_channels: int = (
        3  # IR-VIS: 3 = RGB (fused on luminance, colour kept), 1 = gray; pan-sharpening: bands
    )
    guide_channels: int = 1
    data_range: float = (
        1.0  # input units per 1.0 inside the model (2047 for 11-bit PanCollection data)
    )
    ratio: int = 4  # pan-sharpening: PAN / MS resolution ratio (the runtime upsamples MS by it)
    # sizes (the public code: width 16, three interaction stages, four orders each)
    width: int = 16
    stages: int = 3
    spatial_orders: int = 4
    channel_orders: int = 4
    # layers
    cdc_theta: float = 0.8  # central-difference weight of the cross CDC convolutions
    inv_clamp: float = 0.8  # affine-coupling clamp of the invertible blocks
    residual_output: bool = False  # pan-sharpening: fused = upsampled MS + predicted detail
    # the Fourier product (a global circular convolution per tile)
    fourier_lowering: str = (
        "dft"  # "dft": torch.fft / ONNX DFT, any size; "matrix": cos/sin matmuls, fixed tile
    )
    fourier_tile: tuple[int, ...] | None = (
        None  # (H, W) of the tile for "matrix" (after fourier_padding)
    )
    fourier_padding: int = (
        0  # reflect-pad both operands by this many pixels before the product, crop after
    )
    # SHIP++ (abstract only; our reading, docs/ship.md)
    cross_order_attention: bool = (
        False  # channel attention of order k+1 from all earlier orders' attentions
    )
    cross_order_integration: bool = (
        False  # each interaction integrates all its orders, not only the last
    )
    residual_memory: bool = (
        False  # shallow primary features carried into every stage through learned gates
    )

    @property
    def output_channels(self) -> int:
        return self.primary_channels

    # ------------------------------------------------------------------ what every family's config answers
    @property
    def input_channels(self) -> tuple[int, int]:
        """(primary, guide) channels of the two inputs."""
        return self.primary_channels, self.guide_channels

    @property
    def guide_modality(self) -> str:
        """What the guide input is (the record's ``x_modality``)."""
        return "pan" if self.task == FUSION_PANSHARPEN else "infrared"

    @property
    def class_count(self) -> int:
        """Classes a checkpoint names: none (the output is an image)."""
        return 0

    @property
    def fused_channels(self) -> int:
        """Channels the network fuses: the luminance (1) for IR-VIS, every band for pan-sharpening."""
        return 1 if self.task == FUSION_IRVIS else self.primary_channels

    def validate(self) -> None:
        """Raise :class:`ShipConfigError` (got/expected) for a field the model cannot be built with."""
        if self.task not in FUSION_TASKS:
            raise ShipConfigError(f"task: got {self.task!r}, expected one of {list(FUSION_TASKS)}")
        for name in (
            "primary_channels",
            "guide_channels",
            "ratio",
            "width",
            "stages",
            "spatial_orders",
            "channel_orders",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ShipConfigError(f"{name}: got {value!r}, expected a positive int")
        if self.task == FUSION_IRVIS and self.primary_channels not in (1, 3):
            raise ShipConfigError(
                f"primary_channels: got {self.primary_channels}, expected 1 (gray) or 3 (RGB) "
                "visible channels for IR-VIS fusion"
            )
        if self.width % 2 or self.stages * self.width % 2:
            raise ShipConfigError(
                f"width: got {self.width}, expected an even number (the invertible blocks split "
                "channels in halves)"
            )
        for name, low, high in (("cdc_theta", 0.0, 1.0), ("inv_clamp", 0.0, 5.0)):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not low <= value <= high
            ):
                raise ShipConfigError(
                    f"{name}: got {value!r}, expected a number in [{low}, {high}]"
                )
        if (
            not isinstance(self.data_range, (int, float))
            or isinstance(self.data_range, bool)
            or self.data_range <= 0
        ):
            raise ShipConfigError(
                f"data_range: got {self.data_range!r}, expected a positive number"
            )
        if self.fourier_lowering not in LOWERINGS:
            raise ShipConfigError(
                f"fourier_lowering: got {self.fourier_lowering!r}, expected one of {list(LOWERINGS)}"
            )
        if (
            not isinstance(self.fourier_padding, int)
            or isinstance(self.fourier_padding, bool)
            or self.fourier_padding < 0
        ):
            raise ShipConfigError(
                f"fourier_padding: got {self.fourier_padding!r}, expected an int >= 0"
            )
        if self.fourier_lowering == "matrix":
            tile = self.fourier_tile
            if (
                tile is None
                or len(tile) != 2
                or not all(isinstance(v, int) and v > 2 * self.fourier_padding for v in tile)
            ):
                raise ShipConfigError(
                    f"fourier_tile: got {tile!r}, expected [H, W] of the fixed tile (each > 2 x "
                    f"fourier_padding) for fourier_lowering 'matrix'"
                )
        for name in (
            "residual_output",
            "cross_order_attention",
            "cross_order_integration",
            "residual_memory",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ShipConfigError(
                    f"{name}: got {getattr(self, name)!r}, expected True or False"
                )

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ShipConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise with the closest valid name."""
        check_field_names(values)
        values = dict(values)
        if isinstance(values.get("fourier_tile"), list):
            values["fourier_tile"] = tuple(values["fourier_tile"])
        return cls(**values)

    def replace(self, **overrides: Any) -> ShipConfig:
        """A copy with some fields changed (unknown fields raise)."""
        check_field_names(overrides)
        if isinstance(overrides.get("fourier_tile"), list):
            overrides["fourier_tile"] = tuple(overrides["fourier_tile"])
        return dataclasses.replace(self, **overrides)

    def for_export(self, lowering: str, tile: tuple[int, int] | None) -> ShipConfig:
        """The same model with the Fourier product lowered as ``lowering`` ("dft" or "matrix" for
        ``tile``, the model's input H x W; the padding is added here). The weights are the same: the
        bases are buffers."""
        if lowering == "matrix":
            if tile is None:
                raise ShipConfigError(
                    "the matrix lowering needs a fixed tile (H, W); export with --static --tile H W"
                )
            pad = 2 * self.fourier_padding
            return self.replace(
                fourier_lowering="matrix", fourier_tile=(int(tile[0]) + pad, int(tile[1]) + pad)
            )
        return self.replace(fourier_lowering=lowering, fourier_tile=None)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(ShipConfig)]


def check_field_names(values: dict[str, Any]) -> None:
    """Raise :class:`ShipConfigError` for keys that are not ``ShipConfig`` fields, suggesting the
    closest one."""
    reject_unknown_fields(values, ShipConfig, ShipConfigError, "SHIP config")


__all__ = [
    "FUSION_IRVIS",
    "FUSION_PANSHARPEN",
    "ShipConfig",
    "ShipConfigError",
    "check_field_names",
    "field_names",
]
