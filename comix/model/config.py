"""``ComixConfig``: every size and every filled-in design choice of CoMiX, validated in one place.

The paper states the overall layout (two branches, 2-D DCN on X, 3-D DCN on HSI, CMFeX + FFM per stage,
ALL-MLP decoder); everything else is our reading (see ``docs/model.md``) and is an option here, so the
official design can be matched when its code appears.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from comix.errors import BadInputError
from comix.tasks import SEGMENTATION

NUM_STAGES = 4
STRIDE_MULTIPLE = 32  # stem /4, then three stride-2 downsamplings
MASK_ACTIVATIONS = ("sigmoid", "none")
SPECTRAL_POOLINGS = ("attention", "mean")
FFM_PROPAGATIONS = ("both", "rectified")
PAD_MODES = ("constant", "replicate")
# Fields that configs written by earlier versions carry and that no longer choose anything; read and dropped.
# dcn_backend: every DCN now calls the one comix::deform_conv op (comix.ops.library), export included.
RETIRED_FIELDS = ("dcn_backend",)


class ConfigError(BadInputError):
    """A ``ComixConfig`` field has a value the model cannot be built with."""


@dataclass
class ComixConfig:
    """Architecture of one CoMiX model (sizes are per stage, 4 stages).

    Inputs: hsi (B, bands, H, W), x (B, x_channels, H, W). Output: logits (B, classes, H, W).
    """

    # data
    bands: int = 144
    x_channels: int = 1
    classes: int = 15
    # sizes
    widths: tuple[int, ...] = (32, 64, 128, 256)
    depths: tuple[int, ...] = (1, 1, 2, 1)
    hsi_width_ratio: float = (
        1.0  # HSI branch widths = widths * ratio (rounded to the channel multiple)
    )
    spectral_depth: int = 32  # D0: spectral depth after the learned band projection
    decoder_dim: int = 128  # E of the ALL-MLP decoder
    mlp_ratio: float = 4.0
    # regularisation
    drop_path_rate: float = 0.1  # linear from 0 to this over all blocks of a branch
    decoder_dropout: float = 0.1
    # deformable convolution
    dcn_kernel_2d: int = 3
    dcn_kernel_3d: int = 3
    dcn_groups: int = 1
    dcn_offset_groups: int = 1
    dcn_mask_activation: str = "sigmoid"
    # HSI branch
    hsi_spectral_downsample: bool = True  # stride 2 on D as well as H, W between stages
    spectral_pooling: str = "attention"  # "attention" (softmax over D) or "mean"
    # CMFeX
    cmfex_reduction: int = 4  # CMX uses 1; 4 keeps the channel MLP of wide stages small
    cmfex_shared_feature: bool = True
    cmfex_learnable_gates: bool = True
    cmfex_gate_init: float = 0.5
    # FFM
    ffm_head_dim: int = 32
    ffm_propagation: str = "both"  # "both": fused output added to both branches; "rectified": CMX
    # input handling
    pad_mode: str = "constant"  # how H, W are padded to a multiple of 32 (after normalisation)

    def __post_init__(self) -> None:
        self.widths = tuple(self.widths)
        self.depths = tuple(self.depths)
        self.validate()

    # ------------------------------------------------------------------ what every family's config answers
    task: ClassVar[str] = SEGMENTATION

    @property
    def input_channels(self) -> tuple[int, int]:
        """(HSI bands, X channels) of the two inputs."""
        return self.bands, self.x_channels

    @property
    def output_channels(self) -> int:
        return self.classes

    @property
    def class_count(self) -> int:
        """Classes a checkpoint names (one name per output channel)."""
        return self.classes

    # ------------------------------------------------------------------ derived sizes
    @property
    def channel_multiple(self) -> int:
        """Every DCN width must be a multiple of this (groups and offset groups divide it)."""
        return math.lcm(self.dcn_groups, self.dcn_offset_groups)

    @property
    def hsi_widths(self) -> tuple[int, ...]:
        """Channels of the HSI branch per stage: ``widths * hsi_width_ratio``, rounded, at least one
        multiple."""
        multiple = self.channel_multiple
        return tuple(
            max(multiple, int(round(w * self.hsi_width_ratio / multiple)) * multiple)
            for w in self.widths
        )

    @property
    def ffm_heads(self) -> tuple[int, ...]:
        return tuple(max(1, w // self.ffm_head_dim) for w in self.widths)

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ``ConfigError`` naming the field, the value got and what is expected."""
        for name in (
            "bands",
            "x_channels",
            "classes",
            "spectral_depth",
            "decoder_dim",
            "dcn_groups",
            "dcn_offset_groups",
            "cmfex_reduction",
            "ffm_head_dim",
        ):
            _positive_int(name, getattr(self, name))
        for name in ("dcn_kernel_2d", "dcn_kernel_3d"):
            value = getattr(self, name)
            _positive_int(name, value)
            if value % 2 == 0:
                raise ConfigError(
                    f"{name}: got {value}, expected an odd kernel size (same-size padding)"
                )
        for name in ("widths", "depths"):
            values = getattr(self, name)
            if len(values) != NUM_STAGES:
                raise ConfigError(
                    f"{name}: got {len(values)} values {values}, expected {NUM_STAGES} (one per stage)"
                )
            for stage, value in enumerate(values):
                _positive_int(f"{name}[{stage}]", value)
        for name, lower, upper, upper_open in (
            ("hsi_width_ratio", 0.0, 1.0, False),
            ("mlp_ratio", 0.0, 64.0, False),
            ("drop_path_rate", 0.0, 1.0, True),
            ("decoder_dropout", 0.0, 1.0, True),
            ("cmfex_gate_init", 0.0, 1.0, False),
        ):
            _in_range(name, getattr(self, name), lower, upper, upper_open)
        if self.hsi_width_ratio == 0 or self.mlp_ratio == 0:
            raise ConfigError(
                f"hsi_width_ratio / mlp_ratio: got {self.hsi_width_ratio} / {self.mlp_ratio}, "
                "expected > 0"
            )
        for name, allowed in (
            ("dcn_mask_activation", MASK_ACTIVATIONS),
            ("spectral_pooling", SPECTRAL_POOLINGS),
            ("ffm_propagation", FFM_PROPAGATIONS),
            ("pad_mode", PAD_MODES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name}: got {value!r}, expected one of {list(allowed)}")
        for name in ("hsi_spectral_downsample", "cmfex_shared_feature", "cmfex_learnable_gates"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: got {getattr(self, name)!r}, expected True or False")
        multiple = self.channel_multiple
        for stage, width in enumerate(self.widths):
            if width % multiple:
                raise ConfigError(
                    f"widths[{stage}]: got {width}, expected a multiple of {multiple} "
                    f"(lcm of dcn_groups={self.dcn_groups}, dcn_offset_groups={self.dcn_offset_groups})"
                )
            if width % self.ffm_heads[stage]:
                raise ConfigError(
                    f"widths[{stage}]: got {width}, expected a multiple of the FFM head count "
                    f"{self.ffm_heads[stage]} (ffm_head_dim={self.ffm_head_dim})"
                )

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ComixConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ConfigError`` with the closest valid name."""
        values = {key: value for key, value in values.items() if key not in RETIRED_FIELDS}
        check_field_names(values)
        return cls(**values)

    def replace(self, **overrides: Any) -> ComixConfig:
        """A validated copy with some fields changed."""
        check_field_names(overrides)
        return dataclasses.replace(self, **overrides)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(ComixConfig)]


def reject_unknown_fields(
    values: dict[str, Any], config_type: type, error: type[Exception], label: str
) -> None:
    """Raise ``error`` for the first key of ``values`` that is not a field of the dataclass ``config_type``,
    naming the closest field and listing the valid ones (``label``: "config", "SHIP config")."""
    valid = [f.name for f in dataclasses.fields(config_type)]
    for key in values:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise error(f"unknown {label} field {key!r}.{hint} Valid fields: {', '.join(valid)}")


def check_field_names(values: dict[str, Any]) -> None:
    """Raise ``ConfigError`` for keys that are not ``ComixConfig`` fields, suggesting the closest one."""
    reject_unknown_fields(values, ComixConfig, ConfigError, "config")


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name}: got {value!r}, expected a positive int")


def _in_range(name: str, value: Any, lower: float, upper: float, upper_open: bool) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConfigError(f"{name}: got {value!r}, expected a number")
    above = value >= upper if upper_open else value > upper
    if value < lower or above:
        bracket = ")" if upper_open else "]"
        raise ConfigError(f"{name}: got {value}, expected a value in [{lower}, {upper}{bracket}")


__all__ = [
    "ComixConfig",
    "ConfigError",
    "NUM_STAGES",
    "STRIDE_MULTIPLE",
    "check_field_names",
    "field_names",
    "reject_unknown_fields",
]
