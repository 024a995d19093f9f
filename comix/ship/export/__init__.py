"""Export a SHIP checkpoint (image fusion) to a validated ONNX file, the Fourier product lowered one
of two ways.

* ``lowering="dft"`` (default): ``comix::spectral_product`` becomes ONNX ``DFT`` nodes (opset >= 20); symbolic
  batch, H and W; runs in ONNX Runtime.
* ``lowering="matrix"``: the model is built with the real-matrix lowering for the export tile
  (cos/sin bases as constants, MatMul only: no ``DFT`` node, which TensorRT has no layer for); static shapes.

Either way the checkpoint is loaded once, the parity reference is the eager model with ``torch.fft``
(the model as trained), and the comparison is on the fused image: max abs error <= ``atol`` in the
data's units (no argmax: the output is an image). Inputs are ``visible``/``infrared`` or
``ms``/``pan`` in raw units (the MS already on the PAN grid), output ``fused``; the model record
carries the task and the SHIP config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from comix.errors import BadInputError
from comix.export.checkpoint import trace_size
from comix.export.exporter import DEFAULT_OPSET
from comix.export.pipeline import ExportPipeline, ExportResult
from comix.export.validate import DEFAULT_ATOL, ParityCheck
from comix.metadata import ModelRecord
from comix.tasks import FUSION_TASKS, require_task

OUTPUT_NAMES = ("fused",)
DYNAMIC_AXES = {0: {0: "batch", 2: "height", 3: "width"}, 1: {0: "batch", 2: "height", 3: "width"}}
LOWERINGS = {"dft": "dft", "matrix": "dft-free"}  # lowering -> the record's graph_kind
MIN_DFT_OPSET = 20


@dataclass
class FusionExportOptions:
    """What ``comix fusion export`` asks for. ``tile`` is (H, W) of the sample, of a static graph and of the
    matrix lowering."""

    lowering: str = "dft"
    opset: int = DEFAULT_OPSET
    dynamic: bool = True
    tile: tuple[int, int] = (128, 128)
    batch: int = 1
    validate: bool = True
    atol: float = DEFAULT_ATOL
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lowering not in LOWERINGS:
            raise BadInputError(
                f"--lowering: got {self.lowering!r}, expected one of {list(LOWERINGS)}"
            )
        if self.lowering == "matrix" and self.dynamic:
            raise BadInputError(
                "--lowering matrix: got --dynamic, expected --static: the cos/sin bases are made for one "
                "fixed tile (--tile H W)"
            )
        if self.lowering == "dft" and self.opset < MIN_DFT_OPSET:
            raise BadInputError(
                f"--opset: got {self.opset}, expected >= {MIN_DFT_OPSET} for ONNX DFT"
            )


def sample_inputs(
    model, batch: int, height: int, width: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs in [0, data_range) (uniform noise plus a smooth ramp, so the product of spectra is not flat)."""
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    ramp = torch.linspace(0.0, 0.5, width)[None, None, None, :]
    tensors = []
    for channels in (config.primary_channels, config.guide_channels):
        noise = torch.rand(batch, channels, height, width, generator=generator)
        tensors.append((0.5 * noise + ramp) * config.data_range)
    return tensors[0], tensors[1]


def fusion_record(checkpoint, config, tile: tuple[int, int]) -> ModelRecord:
    """The checkpoint's record with the exported config (the lowering and its tile)."""
    record = checkpoint.record(tile)
    record.config = config.to_dict()
    return record


def export_fusion_checkpoint(
    path: str | os.PathLike, output: str | os.PathLike, options: FusionExportOptions | None = None
) -> ExportResult:
    """Load, lower, export, validate and write ``output`` (+ ``output.validation.json``); see module doc."""
    from comix.model.checkpoint import load_checkpoint
    from comix.ship.model import ShipNet

    options = options or FusionExportOptions()
    checkpoint = load_checkpoint(path)
    require_task(checkpoint.task, FUSION_TASKS, str(path), "comix fusion export")
    reference = checkpoint.model.eval()
    tile = (int(options.tile[0]), int(options.tile[1]))
    config = reference.config.for_export(
        options.lowering, tile if options.lowering == "matrix" else None
    )
    model = ShipNet(config).eval()
    model.load_state_dict(
        reference.state_dict()
    )  # the cos/sin bases are buffers outside the state dict
    height, width = trace_size(_as_export_options(options))
    trace_batch = 2 if options.dynamic else options.batch
    inputs = sample_inputs(model, trace_batch, height, width, options.seed)
    if options.dynamic:
        shapes = [
            (1, *tile),
            (2, max(8, tile[0] - tile[0] // 4 + 3), max(8, tile[1] - tile[1] // 4 - 1)),
        ]
    else:
        shapes = [(options.batch, *tile)]
    cases = [
        sample_inputs(model, b, h, w, options.seed + i + 1) for i, (b, h, w) in enumerate(shapes)
    ]
    pipeline = ExportPipeline(
        reference.input_names,
        OUTPUT_NAMES,
        opset=options.opset,
        dynamic_axes=DYNAMIC_AXES if options.dynamic else None,
        record=fusion_record(checkpoint, config, tile),
        parity=ParityCheck(
            reference, cases, atol=options.atol * config.data_range, min_argmax_agreement=None
        )
        if options.validate
        else None,
        validate=options.validate,
        graph_kind=LOWERINGS[options.lowering],
    )
    return pipeline(model, inputs, Path(output))


def _as_export_options(options: FusionExportOptions):
    from comix.export.checkpoint import ExportOptions

    return ExportOptions(dynamic=options.dynamic, tile=tuple(options.tile), batch=options.batch)
