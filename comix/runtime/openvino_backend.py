"""OpenVINO backend: our exported ``.onnx`` graphs on OpenVINO's CPU plugin, behind the
:class:`Backend` interface.

OpenVINO's ONNX frontend has no conversion for ONNX ``DeformConv``; OpenVINO's own ``DeformableConvolution``
(opset 8) has ONNX's semantics with ``bilinear_interpolation_pad=True`` (a corner outside contributes 0), so a
conversion extension maps one to the other (bias added after it). A canonical graph's
``ai.comix::DeformConv3D`` nodes are first rewritten into standard ops by
:mod:`comix.runtime.dcn3d_lowering` (the portable export's lowering, done on the graph). Shapes are
fixed before compiling — one compiled model per input shape, cached — because with dynamic H and W
OpenVINO gave other classes on 15 % of a tile's pixels of the portable comix_t graph
(with fixed shapes it agreed on 100 %). Inference runs in FP32 (the CPU plugin would otherwise pick
BF16 on CPUs that have it: no silent precision downgrade).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from comix.metadata import MetadataError, ModelRecord
from comix.runtime.backend import Backend, LayerTime, model_io
from comix.runtime.errors import RuntimeInputError
from comix.runtime.integrity import check_model_bytes
from comix.runtime.session import read_model_bytes, uses_custom_domain


def _fixed(dim) -> int | None:
    return dim.dim_value if dim.HasField("dim_value") else None


def _convert_deform_conv(context):
    """ONNX DeformConv (X, W, offset, [B], [mask]) -> OpenVINO DeformableConvolution-8 (+ bias)."""
    from openvino import opset8, opset13

    def present(index: int) -> bool:
        return (
            context.get_input_size() > index
            and context.get_input(index).get_node().get_type_name() != "NullNode"
        )

    x, weight, offset = (context.get_input(i) for i in range(3))
    pads = list(context.get_attribute("pads", [0, 0, 0, 0]))
    node = opset8.deformable_convolution(
        x,
        offset,
        weight,
        strides=list(context.get_attribute("strides", [1, 1])),
        pads_begin=pads[:2],
        pads_end=pads[2:],
        dilations=list(context.get_attribute("dilations", [1, 1])),
        mask=context.get_input(4) if present(4) else None,
        group=int(context.get_attribute("group", 1)),
        deformable_group=int(context.get_attribute("offset_group", 1)),
        bilinear_interpolation_pad=True,
    )
    if present(3):
        shape = opset13.constant(np.array([1, -1, 1, 1], dtype=np.int64))
        node = opset13.add(node, opset13.reshape(context.get_input(3), shape, special_zero=False))
    return [node.output(0)]


class OpenVinoBackend(Backend):
    """Run an exported ONNX graph with OpenVINO on the CPU; inputs are the first two graph inputs (hsi, x)."""

    name = "openvino"

    def __init__(self, model: str | os.PathLike, threads: int = 0, verify: bool = True) -> None:
        import onnx
        import openvino as ov
        from openvino.frontend.onnx import ConversionExtension

        self.path = Path(model)
        data = read_model_bytes(self.path)
        self.verification = check_model_bytes(data, str(self.path), verify)
        self.proto = onnx.load_from_string(data)
        inputs = [i for i in self.proto.graph.input if i.name not in _initializers(self.proto)]
        if len(inputs) != 2:
            raise RuntimeInputError(
                f"model: got {len(inputs)} inputs {[i.name for i in inputs]}, expected 2 "
                "(hsi (B, bands, H, W), x (B, C, H, W))"
            )
        self.input_names = [i.name for i in inputs]
        try:
            self.record = ModelRecord.read_onnx(self.proto)
        except MetadataError as error:
            raise RuntimeInputError(str(error)) from None
        hsi, x = (i.type.tensor_type.shape.dim for i in inputs)
        out = self.proto.graph.output[0].type.tensor_type.shape.dim
        tile = (_fixed(hsi[2]), _fixed(hsi[3]))
        self.info = model_io(
            self.record,
            bands=_fixed(hsi[1]),
            x_channels=_fixed(x[1]),
            classes=_fixed(out[1]) if len(out) > 1 else None,
            tile=tile if None not in tile else None,
            max_batch=_fixed(hsi[0]),
        )
        self.canonical = uses_custom_domain(self.proto)
        self.core = ov.Core()
        self.core.add_extension(ConversionExtension("DeformConv", _convert_deform_conv))
        properties = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            properties["INFERENCE_NUM_THREADS"] = threads
        self.core.set_property("CPU", properties)
        self.threads = threads
        self._compiled: dict[tuple, object] = {}

    @classmethod
    def open(cls, path, options) -> OpenVinoBackend:
        """The registry's way in (:mod:`comix.runtime.registry`)."""
        return cls(path, threads=options.threads, verify=options.verify)

    def _compile(self, shapes: tuple[tuple[int, ...], tuple[int, ...]], profile: bool = False):
        """The compiled model for these input shapes (lowered and fixed first; cached)."""
        key = (shapes, profile)
        if key not in self._compiled:
            from comix.runtime.dcn3d_lowering import fix_input_shapes, lower_deform_conv3d

            fixed = dict(zip(self.input_names, shapes))
            graph = (
                lower_deform_conv3d(self.proto, fixed)
                if self.canonical
                else fix_input_shapes(self.proto, fixed)
            )
            try:
                model = self.core.read_model(graph.SerializeToString(), b"")
            except RuntimeError as error:
                raise RuntimeInputError(
                    f"model {self.path}: OpenVINO could not read it ({str(error).strip().splitlines()[-1]})"
                ) from None
            config = {"PERF_COUNT": "YES"} if profile else {}
            self._compiled[key] = self.core.compile_model(model, "CPU", config)
        return self._compiled[key]

    def _feeds(self, hsi: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        return [np.ascontiguousarray(hsi, np.float32), np.ascontiguousarray(x, np.float32)]

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        feeds = self._feeds(hsi, x)
        compiled = self._compile((feeds[0].shape, feeds[1].shape))
        return np.asarray(compiled(feeds)[compiled.output(0)], dtype=np.float32)

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime]:
        """Per-node times from OpenVINO's performance counters (``PERF_COUNT``), mean over ``runs`` runs after
        one warm-up; the names are OpenVINO's nodes, most of them the ONNX node names they came from."""
        feeds = self._feeds(hsi, x)
        compiled = self._compile((feeds[0].shape, feeds[1].shape), profile=True)
        request = compiled.create_infer_request()
        request.infer(feeds)
        totals: dict[str, list] = {}
        for _ in range(max(runs, 1)):
            request.infer(feeds)
            for entry in request.profiling_info:
                if entry.status.name != "EXECUTED":
                    continue
                row = totals.setdefault(entry.node_name, [entry.node_type, 0.0])
                row[1] += entry.real_time.total_seconds() * 1e3
        return [
            LayerTime(name, kind, total / max(runs, 1)) for name, (kind, total) in totals.items()
        ]


def _initializers(model) -> set[str]:
    return {t.name for t in model.graph.initializer}
