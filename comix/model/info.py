"""Model facts measured by running it: parameters, multiply-accumulates per tile, per-stage shapes.

MACs are counted, not estimated from a formula of the architecture:

* every convolution, linear layer and matmul (including the DCN's offset conv) through
  ``torch.utils.flop_counter.FlopCounterMode`` (its FLOPs = 2 x MACs); the DCN op itself is one opaque
  node for it, so its grouped matmul (N * O * C/group * K * output positions) is registered below as
  the op's FLOP formula;
* the DCN's sampling, which no dense op shows, by a forward hook on every ``DeformConvNd`` reading the
  shapes it really saw: per sample (N * C_in * K * output positions) one MAC per interpolation corner
  (4 in 2-D, 8 in 3-D) plus one for the mask.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula

from comix.errors import BadInputError
from comix.model.parts import PART_OF_CHILD
from comix.ops import DeformConvNd
from comix.ops.library import OP_NAMES


@dataclass
class MacCount:
    """Multiply-accumulates of one forward: dense ops (conv/linear/matmul), DCN sampling, and per part."""

    dense: int = 0
    dcn_sampling: int = 0
    by_part: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.dense + self.dcn_sampling


@register_flop_formula([getattr(torch.ops.comix, name) for name in OP_NAMES.values()])
def _dcn_matmul_flops(
    input_shape, offset_shape, weight_shape, *args, out_shape=None, **kwargs
) -> int:
    """FLOPs of the DCN's grouped matmul: 2 * N * O * (C/group * K) * output positions."""
    positions = 1
    for size in out_shape[2:]:
        positions *= size
    taps = 1
    for size in weight_shape[1:]:
        taps *= size  # C/group * K
    return 2 * out_shape[0] * out_shape[1] * taps * positions


def dcn_sampling_macs(module: DeformConvNd, input: Tensor, output: Tensor) -> int:
    """Sampling MACs of one DCN call: N*C*K*P samples x (2^nd corner MACs + 1 mask MAC if masked)."""
    geometry = module.geometry
    positions = output[0, 0].numel()
    samples = input.shape[0] * input.shape[1] * geometry.kernel_points * positions
    per_sample = 2**geometry.ndim + (1 if module.mask_activation != "none" else 0)
    return samples * per_sample


def count_macs(model: nn.Module, *inputs: Tensor) -> MacCount:
    """Run ``model(*inputs)`` once without gradients and count its MACs (see the module doc)."""
    count = MacCount()
    by_part: dict[str, int] = defaultdict(int)
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, DeformConvNd):
            part = PART_OF_CHILD.get(name.split(".")[0], name.split(".")[0] or "model")

            def hook(mod, args, output, part=part):
                macs = dcn_sampling_macs(mod, args[0], output)
                count.dcn_sampling += macs
                by_part[part] += macs

            handles.append(module.register_forward_hook(hook))
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    count.dense = counter.get_total_flops() // 2
    for key, macs in _outermost_module_macs(counter, type(model).__name__).items():
        child = key.split(".")[1]
        by_part[PART_OF_CHILD.get(child, child)] += macs
    count.by_part = dict(by_part)
    return count


def _outermost_module_macs(counter: FlopCounterMode, root: str) -> dict[str, int]:
    """MACs of the outermost called submodules of ``root`` (a ModuleList is never called, its items are)."""
    counts = {
        key: sum(ops.values()) // 2
        for key, ops in counter.get_flop_counts().items()
        if key.startswith(root + ".")
    }
    return {
        key: macs
        for key, macs in counts.items()
        if not any(key.startswith(other + ".") for other in counts if other != key)
    }


@dataclass
class StageShape:
    """Output shapes of one encoder stage (batch included)."""

    stage: int
    hsi: tuple[int, ...]
    x: tuple[int, ...]
    fused: tuple[int, ...]


@dataclass
class ModelInfo:
    """What ``comix model info`` prints."""

    name: str
    input_shapes: dict[str, tuple[int, ...]]
    parameters: int
    trainable_parameters: int
    macs: MacCount
    stages: list[StageShape]
    logits_shape: tuple[int, ...]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters)."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@contextmanager
def recording_stage_shapes(model: nn.Module) -> Iterator[dict[str, dict[int, tuple[int, ...]]]]:
    """While active, forwards of ``model`` record output shapes of each stage's HSI and X blocks, of each
    FFM (``fused``) and of the model itself (``logits``, key 0), in the yielded dict."""
    seen: dict[str, dict[int, tuple[int, ...]]] = defaultdict(dict)
    targets = (
        [("hsi", i, m) for i, m in enumerate(model.hsi_stages)]
        + [("x", i, m) for i, m in enumerate(model.x_stages)]
        + [("fused", i, m) for i, m in enumerate(model.ffm)]
        + [("logits", 0, model)]
    )
    handles = [
        module.register_forward_hook(
            lambda mod, args, out, key=key, i=i: seen[key].__setitem__(i, tuple(out.shape))
        )
        for key, i, module in targets
    ]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def model_info(model: nn.Module, size: Sequence[int], batch: int = 1, name: str = "") -> ModelInfo:
    """Parameters, MACs and per-stage shapes of ``model`` for one (batch, bands, H, W) tile
    (one eval forward)."""
    if len(size) != 2 or any(int(s) < 1 for s in size):
        raise BadInputError(f"size: got {tuple(size)}, expected (H, W) with H, W >= 1")
    cfg = model.config
    height, width = int(size[0]), int(size[1])
    hsi = torch.zeros(batch, cfg.bands, height, width)
    x = torch.zeros(batch, cfg.x_channels, height, width)
    was_training = model.training
    model.eval()
    try:
        with recording_stage_shapes(model) as seen:
            macs = count_macs(model, hsi, x)
    finally:
        model.train(was_training)
    stages = [
        StageShape(i, seen["hsi"][i], seen["x"][i], seen["fused"][i]) for i in range(len(model.ffm))
    ]
    total, trainable = count_parameters(model)
    return ModelInfo(
        name,
        {"hsi": tuple(hsi.shape), "x": tuple(x.shape)},
        total,
        trainable,
        macs,
        stages,
        seen["logits"][0],
    )


def variant_info(
    name: str,
    bands: int,
    x_channels: int,
    size: Sequence[int],
    classes: int | None = None,
    **overrides,
) -> ModelInfo:
    """Build variant ``name`` for the given data and measure it (see :func:`model_info`)."""
    from comix.model.registry import build_model

    if classes is not None:
        overrides["classes"] = classes
    model = build_model(name, bands=bands, x_channels=x_channels, **overrides)
    return model_info(model, size, name=name)
