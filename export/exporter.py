"""torch -> ONNX with the dynamo exporter and our custom-op translations.

Why the dynamo exporter (``torch.onnx.export(dynamo=True)``) and not the TorchScript one: both map our
``torch.library`` ops to one node each (tried both), but the dynamo path is the maintained one in torch
2.13 (TorchScript export is deprecated), it takes symbolic ``dynamic_shapes`` and propagates output
shapes through our op's fake implementation, and its built-in onnxscript optimizer
gives a cleaner graph (the TorchScript graph carried Constant/ConstantOfShape/Pad-index chains around
every DCN and needed ``custom_opsets`` plus a symbolic per op).

The module is captured with ``torch.export`` (each DCN stays one ``comix::deform_conv*`` node); for the
portable graph the 3-D op is then decomposed by :mod:`comix.ops.portable` (one 2-D ``DeformConv`` on the
flattened volume for the size-keeping geometry of every CoMiX block; the vectorised implementation, 5-D
``GridSample`` + ``MatMul``, opset >= 20, for any other), ai.onnx ops only, tested against the float64
reference and the eager op; the 2-D op is always the standard ONNX ``DeformConv``. The ONNX exporter
translates what remains.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Mapping, Sequence

import onnx
import torch

from comix.errors import BadInputError
from comix.export.translation import translation_table
from comix.ops.portable import DECOMPOSITIONS

log = logging.getLogger(__name__)
MIN_OPSET = 19  # ONNX DeformConv
MIN_PORTABLE_OPSET = 20  # 5-D GridSample
DEFAULT_OPSET = 20  # 5-D GridSample for the portable graph
MAX_IR_VERSION = 10  # ONNX Runtime 1.31 accepts <= 13; keep well inside


@contextlib.contextmanager
def _quiet(verbose: bool):
    """Silence the exporter's progress prints, warnings and the "torchvision is not installed" log lines."""
    if verbose:
        yield
        return
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        registration.setLevel(level)


class TorchOnnxExporter:
    """Export a module to an in-memory ``onnx.ModelProto``.

    ``dynamic_axes`` maps an input index to ``{axis: dim name}``: those axes are exported symbolic and
    the graph's symbols are renamed to the given names (axes the model ties together, like the batch
    and H, W of both CoMiX inputs, share one symbol). ``None`` exports static shapes. ``output_axes``
    (output index -> ``{axis: dim name}``) names output axes the model's contract ties to those names,
    e.g. CoMiX's logits (B, K, H, W) have the inputs' H, W (see :func:`name_dims`).
    """

    def __init__(
        self,
        input_names: Sequence[str],
        output_names: Sequence[str],
        opset: int = DEFAULT_OPSET,
        dynamic_axes: Mapping[int, Mapping[int, str]] | None = None,
        portable: bool = False,
        verbose: bool = False,
        output_axes: Mapping[int, Mapping[int, str]] | None = None,
    ) -> None:
        if opset < MIN_OPSET:
            raise BadInputError(f"opset: got {opset}, expected >= {MIN_OPSET} (ONNX DeformConv)")
        if portable and opset < MIN_PORTABLE_OPSET:
            raise BadInputError(
                f"opset: got {opset}, expected >= {MIN_PORTABLE_OPSET} for --portable (5-D GridSample)"
            )
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.opset = opset
        self.dynamic_axes = dynamic_axes
        self.output_axes = output_axes
        self.portable = portable
        self.verbose = verbose

    def _dynamic_shapes(self, count: int):
        """``Dim.DYNAMIC`` on every requested axis; names are applied afterwards by :func:`name_dims`.

        Named ``torch.export.Dim`` objects turn every shape guard the model takes (e.g. "pad to a
        multiple of 32 is zero" when the sample is 64x64) into a hard export error; ``DYNAMIC`` records
        them instead. Whether the graph is right at other sizes is what the parity check at several
        tile sizes establishes.
        """
        if self.dynamic_axes is None:
            return None
        return tuple(
            dict.fromkeys(self.dynamic_axes.get(index, {}), torch.export.Dim.DYNAMIC) or None
            for index in range(count)
        )

    def __call__(self, model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> onnx.ModelProto:
        """Trace ``model(*inputs)`` (eval mode) and return the ONNX model."""
        model = model.eval()
        inputs = tuple(inputs)
        with _quiet(self.verbose):
            captured = torch.export.export(
                model, inputs, dynamic_shapes=self._dynamic_shapes(len(inputs)), strict=False
            )
            if self.portable:
                captured = captured.run_decompositions(DECOMPOSITIONS)
            program = torch.onnx.export(
                captured,
                inputs,
                dynamo=True,
                opset_version=self.opset,
                input_names=self.input_names,
                output_names=self.output_names,
                custom_translation_table=translation_table(),
                optimize=True,
                verbose=self.verbose,
                report=False,
            )
        proto = program.model_proto
        proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
        if self.dynamic_axes is not None:
            name_dims(proto, self.dynamic_axes, self.output_axes)
        return proto


def name_dims(
    model: onnx.ModelProto,
    dynamic_axes: Mapping[int, Mapping[int, str]],
    output_axes: Mapping[int, Mapping[int, str]] | None = None,
) -> None:
    """Rename the exporter's symbols (``s14``...) on the graph inputs to the requested names, everywhere;
    then give the graph outputs the names of ``output_axes``.

    An input symbol is renamed only where it is a whole ``dim_param`` (inputs, outputs, value_info), so
    derived expressions like ``((s12 - 1)//4) + 1`` inside the graph keep the original symbol, which stays
    consistent. A graph output, though, is what every tool shows (Polygraphy, Netron, TensorRT's
    parser, Triton): CoMiX pads to a multiple of 32 and crops back, so its logits' H, W come out as
    ``Min(s12, 4*(((s12 + (PythonMod(-s12, 32)) - 1)//4)) + 4)``, which always equals ``s12``. The exporter
    cannot prove that; the model's contract (and the parity check at sizes that are not multiples of 32,
    which compares output shapes) does, so ``output_axes`` names those axes outright.
    """
    mapping: dict[str, str] = {}
    for index, axes in dynamic_axes.items():
        if index >= len(model.graph.input):
            continue
        dims = model.graph.input[index].type.tensor_type.shape.dim
        for axis, name in axes.items():
            if axis < len(dims) and dims[axis].HasField("dim_param"):
                mapping.setdefault(dims[axis].dim_param, name)
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in mapping:
                dim.dim_param = mapping[dim.dim_param]
    for index, axes in (output_axes or {}).items():
        if index >= len(model.graph.output):
            continue
        dims = model.graph.output[index].type.tensor_type.shape.dim
        for axis, name in axes.items():
            if axis < len(dims) and not dims[axis].HasField("dim_value"):
                dims[axis].dim_param = name
