"""ONNX graph passes: BatchNorm folding and simplification.

Each pass is a small callable object (config in ``__init__``, work in ``__call__(model) -> model``) so
passes compose into a list that the export pipeline runs in order.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import numpy_helper

from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D

log = logging.getLogger(__name__)

# (domain, op_type) -> (weight input index, bias input index); output channels are axis 0 of the weight.
FOLDABLE_PRODUCERS = {
    ("", "Conv"): (1, 2),
    ("", "DeformConv"): (1, 3),
    (CUSTOM_DOMAIN, DEFORM_CONV_3D): (1, 3),
}


class FoldBatchNorm:
    """Fold ``BatchNormalization`` (inference form) into the Conv / DeformConv / DeformConv3D before it.

    ``y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta`` becomes a conv with weight
    ``W * s[:, None, ...]`` and bias ``(b - mean) * s + beta``, ``s = gamma / sqrt(var + eps)``.
    Folds only when the conv output feeds this BatchNormalization alone and every parameter is an
    initializer; a BatchNorm before a conv (pre-norm blocks) stays, since padding makes that fold inexact.
    """

    def __call__(self, model: onnx.ModelProto) -> onnx.ModelProto:
        graph = model.graph
        inits = {t.name: t for t in graph.initializer}
        producers = {out: node for node in graph.node for out in node.output}
        consumers: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                consumers[name] = consumers.get(name, 0) + 1
        graph_outputs = {o.name for o in graph.output}
        folded = []
        for bn in list(graph.node):
            if bn.op_type != "BatchNormalization" or bn.domain not in ("", "ai.onnx") or len(bn.output) != 1:
                continue
            conv = producers.get(bn.input[0])
            if conv is None or (conv.domain, conv.op_type) not in FOLDABLE_PRODUCERS:
                continue
            if consumers.get(conv.output[0], 0) != 1 or conv.output[0] in graph_outputs:
                continue
            w_index, b_index = FOLDABLE_PRODUCERS[(conv.domain, conv.op_type)]
            params = [inits.get(name) for name in bn.input[1:5]]
            weight = inits.get(conv.input[w_index]) if len(conv.input) > w_index else None
            has_bias = len(conv.input) > b_index and conv.input[b_index] != ""
            bias = inits.get(conv.input[b_index]) if has_bias else None
            if weight is None or any(p is None for p in params) or (has_bias and bias is None):
                continue
            eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
            gamma, beta, mean, var = (numpy_helper.to_array(p).astype(np.float64) for p in params)
            w = numpy_helper.to_array(weight)
            b = numpy_helper.to_array(bias).astype(np.float64) if bias is not None else np.zeros(w.shape[0])
            scale = gamma / np.sqrt(var + eps)
            new_w = (w.astype(np.float64) * scale.reshape(-1, *([1] * (w.ndim - 1)))).astype(w.dtype)
            new_b = ((b - mean) * scale + beta).astype(w.dtype)
            w_name, b_name = f"{bn.output[0]}__folded_weight", f"{bn.output[0]}__folded_bias"
            graph.initializer.extend([numpy_helper.from_array(new_w, w_name), numpy_helper.from_array(new_b, b_name)])
            inputs = list(conv.input) + [""] * max(0, b_index + 1 - len(conv.input))
            inputs[w_index], inputs[b_index] = w_name, b_name
            del conv.input[:]
            conv.input.extend(inputs)
            conv.output[0] = bn.output[0]
            graph.node.remove(bn)
            folded.append(bn.name or bn.output[0])
        _drop_unused_initializers(model)
        log.info("folded %d BatchNormalization nodes", len(folded))
        return model


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    used |= {o.name for o in model.graph.output}
    keep = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


class Simplify:
    """Constant folding, dead-code removal and pattern fusion with onnxslim.

    Falls back to onnx-graphsurgeon's cleanup + toposort if onnxslim fails on a graph (logged, never
    silent). Custom-domain nodes pass through unchanged (their schema is registered first).
    """

    def __call__(self, model: onnx.ModelProto) -> onnx.ModelProto:
        from comix.export.schema import register_deform_conv3d_schema

        register_deform_conv3d_schema()
        try:
            import onnxslim

            slimmed = onnxslim.slim(model)
            if slimmed is not None:
                return slimmed
            log.warning("onnxslim returned no model; using onnx-graphsurgeon cleanup instead")
        except Exception as error:  # noqa: BLE001 - a third-party pass failing must not lose the export
            log.warning("onnxslim failed (%s); using onnx-graphsurgeon cleanup instead", error)
        import onnx_graphsurgeon as gs

        graph = gs.import_onnx(model)
        graph.fold_constants().cleanup().toposort()
        return gs.export_onnx(graph)
