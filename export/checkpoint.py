"""Export a CoMiX checkpoint (``model.safetensors`` + ``config.json``) to a validated ONNX file.

The checkpoint is loaded once; the same eager model is traced and is the parity reference (its DCNs
are the ``comix::deform_conv*`` ops, which the exporter translates or, with ``--portable``, lowers).
Inputs are ``hsi`` (B, bands, H, W) and ``x`` (B, C, H, W) in
raw units, output ``logits`` (B, classes, H, W); with ``dynamic`` the batch, H and W are symbolic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from comix.export.exporter import DEFAULT_OPSET
from comix.export.pipeline import ExportPipeline, ExportResult
from comix.export.validate import DEFAULT_ATOL, ParityCheck
from comix.metadata import ModelRecord
from comix.tasks import SEGMENTATION, require_task

INPUT_NAMES = ("hsi", "x")
OUTPUT_NAMES = ("logits",)
DYNAMIC_AXES = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}
OUTPUT_AXES = {0: {0: "batch", 2: "height", 3: "width"}}  # logits (B, K, H, W): the inputs' B, H, W


@dataclass
class ExportOptions:
    """What ``comix export`` asks for. ``tile`` is (H, W) of the sample (and of a static graph)."""

    portable: bool = False
    opset: int = DEFAULT_OPSET
    dynamic: bool = True
    tile: tuple[int, int] = (128, 128)
    batch: int = 1  # batch of a static graph; a dynamic graph is traced at batch 2
    validate: bool = True
    atol: float = DEFAULT_ATOL
    seed: int = 0


def sample_inputs(
    model, batch: int, height: int, width: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw-unit inputs drawn around the model's own normalisation statistics (mean + std * N(0, 1))."""
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    tensors = []
    for norm, channels in ((model.hsi_norm, config.bands), (model.x_norm, config.x_channels)):
        noise = torch.randn(batch, channels, height, width, generator=generator)
        tensors.append(norm.mean.reshape(1, -1, 1, 1) + norm.std.reshape(1, -1, 1, 1) * noise)
    return tensors[0], tensors[1]


def trace_size(options: ExportOptions) -> tuple[int, int]:
    """(H, W) of the trace sample. Static: the tile. Dynamic: a size that is not a multiple of 32 and has
    H != W, so that any shape-dependent Python branch takes its general path when traced. (The model's
    pad-to-32 once skipped itself at a zero pad: a 64x64 trace then gave a graph wrong at 100x76, max
    logit error 0.13. The pad is unconditional now; this stays as a guard for future branches.)"""
    height, width = options.tile
    if not options.dynamic:
        return height, width
    height = height if height % 32 else height + 4
    width = width if width % 32 else width + 12
    if height == width:
        width += 8
    return height, width


def parity_shapes(options: ExportOptions) -> list[tuple[int, int, int]]:
    """(batch, H, W) cases: the tile at batch 1, and for a dynamic graph an odd size at batch 2."""
    height, width = options.tile
    if not options.dynamic:
        return [(options.batch, height, width)]
    return [
        (1, height, width),
        (2, max(1, height - height // 4 + 3), max(1, width - width // 4 - 1)),
    ]


def model_record(checkpoint, options: ExportOptions) -> ModelRecord:
    """The model record of a loaded checkpoint (:meth:`comix.model.checkpoint.Checkpoint.record`)."""
    return checkpoint.record(tuple(options.tile))


def export_checkpoint(
    path: str | os.PathLike, output: str | os.PathLike, options: ExportOptions | None = None
) -> ExportResult:
    """Load, export, validate and write ``output`` (+ ``output.validation.json``); see module doc."""
    from comix.model.checkpoint import load_checkpoint

    options = options or ExportOptions()
    checkpoint = load_checkpoint(path)
    require_task(checkpoint.task, SEGMENTATION, str(path), "comix export")
    model = checkpoint.model.eval()
    height, width = trace_size(options)
    trace_batch = 2 if options.dynamic else options.batch
    inputs = sample_inputs(model, trace_batch, height, width, options.seed)
    cases = [
        sample_inputs(model, b, h, w, options.seed + i + 1)
        for i, (b, h, w) in enumerate(parity_shapes(options))
    ]
    pipeline = ExportPipeline(
        INPUT_NAMES,
        OUTPUT_NAMES,
        opset=options.opset,
        dynamic_axes=DYNAMIC_AXES if options.dynamic else None,
        portable=options.portable,
        record=model_record(checkpoint, options),
        parity=ParityCheck(model, cases, atol=options.atol) if options.validate else None,
        validate=options.validate,
        output_axes=OUTPUT_AXES if options.dynamic else None,
    )
    return pipeline(model, inputs, Path(output))
