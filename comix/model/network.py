"""``ComixNet``: the two-branch CoMiX encoder (3-D DCN on HSI, 2-D DCN on X), CMFeX + FFM per stage,
and the ALL-MLP decoder.

Shapes (input H x W padded internally to a multiple of 32, then cropped back):
    hsi (B, bands, H, W), x (B, x_channels, H, W)
    stage i (i = 0..3, s = 4 * 2^i):
        HSI   (B, Ch_i, D_i, H/s, W/s)   D_0 = spectral_depth, halved per stage if hsi_spectral_downsample
        X     (B, C_i, H/s, W/s)
        fused (B, C_i, H/s, W/s)         -> decoder
    logits (B, classes, H, W)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comix.errors import BadInputError
from comix.model.blocks import DcnBlock
from comix.model.cmfex import Cmfex
from comix.model.config import NUM_STAGES, STRIDE_MULTIPLE, ComixConfig
from comix.model.decoder import AllMlpDecoder
from comix.model.ffm import Ffm
from comix.model.normalization import InputNormalization
from comix.model.spectral import SpectralLift, SpectralPooling, channel_projection
from comix.model.stems import HsiStem, XStem, hsi_downsample, x_downsample
from comix.ops import DeformConvNd


class InputError(BadInputError):
    """The tensors given to a CoMiX model do not match its config or each other."""


@dataclass
class StageFeatures:
    """Features of one encoder stage: hsi (B, Ch, D, h, w), x (B, C, h, w), fused (B, C, h, w)."""

    hsi: Tensor
    x: Tensor
    fused: Tensor


def _drop_path_rates(depths: tuple[int, ...], rate: float) -> list[list[float]]:
    """Linear stochastic-depth schedule 0 -> rate over all blocks, split per stage."""
    total = sum(depths)
    flat = [rate * i / max(1, total - 1) for i in range(total)]
    out, start = [], 0
    for depth in depths:
        out.append(flat[start : start + depth])
        start += depth
    return out


class ComixNet(nn.Module):
    """CoMiX segmentation network built from a :class:`ComixConfig`.

    Every variant exposes: ``forward(hsi, x) -> logits``, ``check_inputs(hsi, x, check_finite)``,
    ``forward_features(hsi, x) -> list[StageFeatures]``, ``set_normalization(...)``,
    ``deformable_convs()``, and the attributes ``config`` and ``check_finite``.
    """

    def __init__(self, config: ComixConfig, check_finite: bool = False) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.check_finite = check_finite
        widths, hsi_widths = config.widths, config.hsi_widths
        self.hsi_norm = InputNormalization(config.bands, "hsi")
        self.x_norm = InputNormalization(config.x_channels, "x")
        self.hsi_stem = HsiStem(config.bands, config.spectral_depth, hsi_widths[0])
        self.x_stem = XStem(config.x_channels, widths[0])
        dcn = {
            "groups": config.dcn_groups,
            "offset_groups": config.dcn_offset_groups,
            "mask_activation": config.dcn_mask_activation,
            "mlp_ratio": config.mlp_ratio,
        }
        rates = _drop_path_rates(config.depths, config.drop_path_rate)
        self.hsi_down = nn.ModuleList(
            [nn.Identity()]
            + [
                hsi_downsample(hsi_widths[i - 1], hsi_widths[i], config.hsi_spectral_downsample)
                for i in range(1, NUM_STAGES)
            ]
        )
        self.x_down = nn.ModuleList(
            [nn.Identity()] + [x_downsample(widths[i - 1], widths[i]) for i in range(1, NUM_STAGES)]
        )
        self.hsi_stages = nn.ModuleList(
            nn.Sequential(
                *[
                    DcnBlock(3, hsi_widths[i], kernel=config.dcn_kernel_3d, drop_path=r, **dcn)
                    for r in rates[i]
                ]
            )
            for i in range(NUM_STAGES)
        )
        self.x_stages = nn.ModuleList(
            nn.Sequential(
                *[
                    DcnBlock(2, widths[i], kernel=config.dcn_kernel_2d, drop_path=r, **dcn)
                    for r in rates[i]
                ]
            )
            for i in range(NUM_STAGES)
        )
        self.spectral_pool = nn.ModuleList(
            SpectralPooling(c, config.spectral_pooling) for c in hsi_widths
        )
        self.hsi_to_shared = nn.ModuleList(
            channel_projection(hsi_widths[i], widths[i]) for i in range(NUM_STAGES)
        )
        self.cmfex = nn.ModuleList(
            Cmfex(
                w,
                config.cmfex_reduction,
                config.cmfex_shared_feature,
                config.cmfex_learnable_gates,
                config.cmfex_gate_init,
            )
            for w in widths
        )
        self.ffm = nn.ModuleList(Ffm(w, heads) for w, heads in zip(widths, config.ffm_heads))
        # The last stage feeds only the decoder, so it has no lift back onto the HSI volume.
        self.spectral_lift = nn.ModuleList(
            SpectralLift(widths[i], hsi_widths[i]) for i in range(NUM_STAGES - 1)
        )
        self.decoder = AllMlpDecoder(
            widths, config.decoder_dim, config.classes, config.decoder_dropout
        )

    # ------------------------------------------------------------------ inputs
    def check_inputs(self, hsi: Tensor, x: Tensor, check_finite: bool = False) -> None:
        """Raise :class:`InputError` (got/expected) unless hsi (B, bands, H, W) and x
        (B, x_channels, H, W) fit."""
        cfg = self.config
        for name, tensor, channels, label in (
            ("hsi", hsi, cfg.bands, "bands"),
            ("x", x, cfg.x_channels, "x_channels"),
        ):
            if not isinstance(tensor, Tensor):
                raise InputError(f"{name}: got {type(tensor).__name__}, expected a torch.Tensor")
            if tensor.dim() != 4:
                raise InputError(
                    f"{name}: got shape {tuple(tensor.shape)}, expected 4-D (B, {label}, H, W)"
                )
            if not tensor.is_floating_point():
                raise InputError(
                    f"{name}: got dtype {tensor.dtype}, expected a floating-point tensor"
                )
            if tensor.shape[1] != channels:
                raise InputError(
                    f"{name}: got {tensor.shape[1]} channels (shape {tuple(tensor.shape)}), "
                    f"expected {label}={channels} as in the model config"
                )
            if tensor.shape[2] < 1 or tensor.shape[3] < 1:
                raise InputError(
                    f"{name}: got spatial size {tuple(tensor.shape[2:])}, expected H, W >= 1"
                )
        if hsi.shape[0] != x.shape[0]:
            raise InputError(
                f"batch: got hsi batch {hsi.shape[0]} and x batch {x.shape[0]}, expected equal"
            )
        if hsi.shape[2:] != x.shape[2:]:
            raise InputError(
                f"size: got hsi H x W {tuple(hsi.shape[2:])} and x H x W {tuple(x.shape[2:])}, "
                "expected the same (co-registered rasters)"
            )
        if check_finite:
            for name, tensor in (("hsi", hsi), ("x", x)):
                finite = torch.isfinite(tensor)
                if not bool(finite.all()):
                    count = int((~finite).sum())
                    raise InputError(
                        f"{name}: got {count} NaN/Inf values, expected finite values only"
                    )

    def set_normalization(self, hsi_mean, hsi_std, x_mean, x_std) -> None:
        """Per-band HSI and per-channel X statistics (raw units); stored as buffers, applied in forward."""
        self.hsi_norm.set_statistics(hsi_mean, hsi_std)
        self.x_norm.set_statistics(x_mean, x_std)

    def _pad(self, values: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H', W') with H', W' the next multiples of 32 (pad bottom/right).

        Always pads, also by zero: a Python branch on the pad size would be frozen into a traced graph
        (a graph traced at 64x64 then skipped the pad at 100x76)."""
        height, width = values.shape[-2:]
        pad_h = (-height) % STRIDE_MULTIPLE
        pad_w = (-width) % STRIDE_MULTIPLE
        return F.pad(values, (0, pad_w, 0, pad_h), mode=self.config.pad_mode)

    # ------------------------------------------------------------------ forward
    def forward_features(self, hsi: Tensor, x: Tensor) -> list[StageFeatures]:
        """Normalised, padded inputs through the encoder: one :class:`StageFeatures` per stage."""
        volume = self.hsi_stem(self._pad(self.hsi_norm(hsi)))  # (B, Ch0, D0, H/4, W/4)
        planes = self.x_stem(self._pad(self.x_norm(x)))  # (B, C0, H/4, W/4)
        stages = []
        for i in range(NUM_STAGES):
            volume = self.hsi_stages[i](self.hsi_down[i](volume))
            planes = self.x_stages[i](self.x_down[i](planes))
            h_shared = self.hsi_to_shared[i](self.spectral_pool[i](volume))
            delta_h, delta_x = self.cmfex[i].residuals(h_shared, planes)
            planes = planes + delta_x
            fused = self.ffm[i](h_shared + delta_h, planes)
            stages.append(StageFeatures(volume, planes, fused))
            if i < NUM_STAGES - 1:
                if self.config.ffm_propagation == "both":
                    delta_h = delta_h + fused
                    planes = planes + fused
                volume = volume + self.spectral_lift[i](delta_h)
        return stages

    def forward(self, hsi: Tensor, x: Tensor) -> Tensor:
        """hsi (B, bands, H, W), x (B, x_channels, H, W), raw values -> logits (B, classes, H, W)."""
        self.check_inputs(hsi, x, check_finite=self.check_finite)
        height, width = hsi.shape[-2:]
        stages = self.forward_features(hsi, x)
        logits = self.decoder([stage.fused for stage in stages])  # (B, K, H'/4, W'/4)
        padded = (stages[0].x.shape[-2] * 4, stages[0].x.shape[-1] * 4)
        logits = F.interpolate(logits, size=padded, mode="bilinear", align_corners=False)
        return logits[:, :, :height, :width]

    def deformable_convs(self) -> Iterator[tuple[str, DeformConvNd]]:
        """(name, module) for every deformable convolution, 2-D and 3-D."""
        for name, module in self.named_modules():
            if isinstance(module, DeformConvNd):
                yield name, module
