"""``ShipNet``: SHIP / SHIP++ multi-modal image fusion (infrared-visible or pan-sharpening).

Shapes (any H x W; the Fourier product's matrix lowering fixes one tile):
    primary (B, P, H, W)  visible RGB/gray (IR-VIS) or MS upsampled to the PAN grid
                          (pan-sharpening), raw units
    guide   (B, G, H, W)  infrared or PAN band, raw units
    -> fused (B, P, H, W), raw units

    scale by 1/data_range; IR-VIS RGB: Y = luminance (BT.601), fuse Y;
        the colour is re-attached as RGB + (Y' - Y)
    v0 = FeatureExtractor(fused channels) ; i0 = FeatureExtractor(guide)        (B, width, H, W)
    stage s = 1..S: (v_s, i_s) = Channel(Spatial(v_{s-1} [+ gate_s * v0 with residual memory],
                                                 i_{s-1}))
    out = Refine(1x1(InvBlock([v_1 .. v_S])))                                   (B, fused channels, H, W)
    pan-sharpening with residual_output: out = upsampled MS + out
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from comix.errors import BadInputError
from comix.ship.model.config import ShipConfig
from comix.ship.model.interaction import InteractionStage
from comix.ship.model.invertible import InvBlock
from comix.ship.model.layers import FeatureExtractor, Refine
from comix.tasks import FUSION_IRVIS

# ITU-R BT.601 luminance of RGB in [0, 1] (OpenCV's YCrCb). Re-attaching Cr, Cb after fusing Y is
# R, G, B + (Y' - Y): the inverse transform's luminance column is (1, 1, 1).
LUMA = (0.299, 0.587, 0.114)


class ShipInputError(BadInputError):
    """The tensors given to a SHIP model do not match its config or each other."""


class ShipNet(nn.Module):
    """SHIP fusion network built from a :class:`ShipConfig` (see the module doc).

    Every variant exposes ``forward(primary, guide) -> fused``,
    ``check_inputs(primary, guide, check_finite)``, and the attributes ``config``, ``task``,
    ``input_names`` and ``check_finite``.
    """

    def __init__(self, config: ShipConfig, check_finite: bool = False) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.check_finite = check_finite
        width, stages = config.width, config.stages
        self.register_buffer("luma", torch.tensor(LUMA).reshape(1, 3, 1, 1), persistent=False)
        self.primary_features = FeatureExtractor(config.fused_channels, width, config.cdc_theta)
        self.guide_features = FeatureExtractor(config.guide_channels, width, config.cdc_theta)
        self.stages = nn.ModuleList(InteractionStage(width, config) for _ in range(stages))
        self.memory_gates = (
            nn.Parameter(torch.zeros(stages, width)) if config.residual_memory else None
        )
        self.head = nn.Sequential(
            InvBlock(stages * width, stages * width // 2, config.inv_clamp),
            nn.Conv2d(stages * width, width, 1),
        )
        self.refine = Refine(width, config.fused_channels)
        if (
            config.residual_output
        ):  # ours: start as the upsampled MS itself, then learn the detail to inject
            nn.init.zeros_(self.refine.conv_last.weight)
            nn.init.zeros_(self.refine.conv_last.bias)

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def input_names(self) -> tuple[str, str]:
        """Graph input names: (visible, infrared) or (ms, pan); the output is ``fused``."""
        return ("visible", "infrared") if self.config.task == FUSION_IRVIS else ("ms", "pan")

    def check_inputs(self, primary: Tensor, guide: Tensor, check_finite: bool = False) -> None:
        """Raise :class:`ShipInputError` (got/expected) unless both inputs fit the config and each other."""
        cfg = self.config
        names = self.input_names
        for name, tensor, channels in (
            (names[0], primary, cfg.primary_channels),
            (names[1], guide, cfg.guide_channels),
        ):
            if not isinstance(tensor, Tensor):
                raise ShipInputError(
                    f"{name}: got {type(tensor).__name__}, expected a torch.Tensor"
                )
            if tensor.dim() != 4 or not tensor.is_floating_point():
                raise ShipInputError(
                    f"{name}: got shape {tuple(tensor.shape)} {tensor.dtype}, expected a 4-D "
                    f"floating-point (B, {channels}, H, W) tensor"
                )
            if tensor.shape[1] != channels:
                raise ShipInputError(
                    f"{name}: got {tensor.shape[1]} channels, expected {channels} as in the model config"
                )
        if primary.shape[0] != guide.shape[0] or primary.shape[2:] != guide.shape[2:]:
            raise ShipInputError(
                f"{names[0]} {tuple(primary.shape)} and {names[1]} {tuple(guide.shape)}: expected the "
                "same batch and H x W (co-registered, the MS already upsampled to the PAN grid)"
            )
        if check_finite:
            for name, tensor in zip(names, (primary, guide)):
                if not bool(torch.isfinite(tensor).all()):
                    raise ShipInputError(f"{name}: got NaN/Inf values, expected finite values only")

    def forward(self, primary: Tensor, guide: Tensor) -> Tensor:
        if self.check_finite:
            self.check_inputs(primary, guide, check_finite=True)
        scale = 1.0 / self.config.data_range
        primary, guide = primary * scale, guide * scale
        rgb = self.config.task == FUSION_IRVIS and self.config.primary_channels == 3
        source = (primary * self.luma).sum(dim=1, keepdim=True) if rgb else primary
        shallow = self.primary_features(source)
        v, i = shallow, self.guide_features(guide)
        outputs = []
        for index, stage in enumerate(self.stages):
            if self.memory_gates is not None:
                v = v + self.memory_gates[index][None, :, None, None] * shallow
            v, i = stage(v, i)
            outputs.append(v)
        fused = self.refine(self.head(torch.cat(outputs, dim=1)))
        if self.config.residual_output:
            fused = fused + source
        if rgb:
            fused = primary + (fused - source)
        return fused * self.config.data_range
