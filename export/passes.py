"""ONNX graph passes: module scopes in node names, BatchNorm folding, simplification, and folding the input
normalisation into the first 1x1 convolution.

Each pass is a small callable object (config in ``__init__``, work in ``__call__(model) -> model``) so
passes compose into a list that the export pipeline runs in order.
"""

from __future__ import annotations

import ast
import logging

import numpy as np
import onnx
from onnx import numpy_helper

from comix.errors import BadInputError
from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D

log = logging.getLogger(__name__)

# (domain, op_type) -> (weight input index, bias input index); output channels are axis 0 of the weight.
FOLDABLE_PRODUCERS = {
    ("", "Conv"): (1, 2),
    ("", "DeformConv"): (1, 3),
    (CUSTOM_DOMAIN, DEFORM_CONV_3D): (1, 3),
}


# node metadata written by the dynamo exporter (torch.onnx): the module path at each nesting level, and the
# class of each level, both as Python list literals whose last item is the FX node itself
NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY_KEY = "pkg.torch.onnx.class_hierarchy"


def scoped_name(module_path: str, module_class: str, name: str) -> str:
    """``hsi_stages.0.0.dcn[DeformConv3d]/node_deform_conv3d``: the one format of a scoped node name.

    :func:`comix.profile.parts.split_scoped_name` reads it back (ONNX Runtime's profiler and TensorRT's
    layer names carry node names, so a per-layer time can be traced to its module)."""
    return f"{module_path}[{module_class}]/{name}"


class ScopeNodeNames:
    """Prefix every node name with the module it was traced in: ``<module path>[<Class>]/<name>``.

    The exporter records each node's module scope in ``metadata_props``, but onnxslim (and most tools)
    drop node metadata while keeping node names; a name survives into ONNX Runtime's profile and
    TensorRT's layer names. So this pass, run before the others, moves the innermost module path and
    class into the name (the root module's path is empty: ``[ComixNet]/node_pad``). Nodes without a
    recorded module (exporter-made shape arithmetic) keep their names. Names stay unique because the
    original names were.
    """

    def __call__(self, model: onnx.ModelProto) -> onnx.ModelProto:
        renamed = 0
        for node in model.graph.node:
            props = {p.key: p.value for p in node.metadata_props}
            try:
                scopes = ast.literal_eval(props[NAME_SCOPES_KEY])
                classes = ast.literal_eval(props[CLASS_HIERARCHY_KEY])
            except (KeyError, ValueError, SyntaxError):
                continue
            # [root "", outer path, ..., innermost path, fx node]; classes align with them
            if len(scopes) < 2 or len(classes) != len(scopes) or "." not in str(classes[-2]):
                continue  # no module recorded (e.g. the exporter's runtime-assert hook)
            node.name = scoped_name(str(scopes[-2]), str(classes[-2]).rsplit(".", 1)[-1], node.name)
            renamed += 1
        log.info("scoped %d of %d node names", renamed, len(model.graph.node))
        return model


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
            if (
                bn.op_type != "BatchNormalization"
                or bn.domain not in ("", "ai.onnx")
                or len(bn.output) != 1
            ):
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
            b = (
                numpy_helper.to_array(bias).astype(np.float64)
                if bias is not None
                else np.zeros(w.shape[0])
            )
            scale = gamma / np.sqrt(var + eps)
            new_w = (w.astype(np.float64) * scale.reshape(-1, *([1] * (w.ndim - 1)))).astype(
                w.dtype
            )
            new_b = ((b - mean) * scale + beta).astype(w.dtype)
            w_name, b_name = f"{bn.output[0]}__folded_weight", f"{bn.output[0]}__folded_bias"
            graph.initializer.extend(
                [numpy_helper.from_array(new_w, w_name), numpy_helper.from_array(new_b, b_name)]
            )
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
        except Exception as error:
            log.warning("onnxslim failed (%s); using onnx-graphsurgeon cleanup instead", error)
        import onnx_graphsurgeon as gs

        graph = gs.import_onnx(model)
        graph.fold_constants().cleanup().toposort()
        return gs.export_onnx(graph)


def _consumers(graph) -> dict[str, list]:
    found: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            found.setdefault(name, []).append(node)
    return found


def _int_attribute(node, name: str, default):
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _per_channel(tensor, channels: int) -> np.ndarray | None:
    """A (1, C, 1, 1) / (C, 1, 1) / (C,) / scalar initializer as a float64 (C,) vector, else None."""
    values = numpy_helper.to_array(tensor).astype(np.float64)
    if values.size == 1:
        return np.full(channels, float(values.reshape(-1)[0]))
    squeezed = values.reshape(-1)
    if (
        squeezed.size != channels
        or values.ndim > 4
        or (values.ndim >= 3 and values.shape[-1] * values.shape[-2] != 1)
    ):
        return None
    return squeezed


class FoldInputNormalization:
    """``Conv1x1(Pad0((x - mean) / std))`` -> ``Pad0(Conv1x1(x; W / std, -(W / std) mean)) + b``.

    CoMiX normalises the HSI cube per band, pads it to a multiple of 32 and projects its bands with a
    1x1 convolution. Run as exported, that is three passes over the full-band cube (Sub, Div, Pad) before
    the convolution — measured at ~8 % of a comix_t tile in ONNX Runtime on the CPU, for an input that has
    144 channels where the projection has 8. Folded, the cube is read once, by the convolution with
    scaled weights, and the pad moves to the projected (N, O, H, W) map.
    Exact in real arithmetic: at real pixels ``W (x - m) / s + b = (W / s) x - (W / s) m + b``; at padded
    pixels the original saw zeros, so its output there was ``b`` — what the zero pad of
    ``(W / s) x - (W / s) m`` plus ``b`` gives. Applies when each tensor of the chain has one consumer,
    and none is a graph output, mean and std are per-channel constants, the pad is a constant-zero pad, and
    the convolution is 1x1 with stride 1, no padding and one group.
    """

    def __call__(self, model: onnx.ModelProto) -> onnx.ModelProto:
        graph = model.graph
        inits = {t.name: t for t in graph.initializer}
        producers = {out: node for node in graph.node for out in node.output}
        consumers = _consumers(graph)
        folded = 0
        for conv in list(graph.node):
            chain = self._match(conv, producers, consumers, inits, {o.name for o in graph.output})
            if chain is None:
                continue
            self._rewrite(graph, chain, inits)
            folded += 1
        if folded:
            _drop_unused_initializers(model)
        log.info("folded the input normalisation into %d 1x1 convolution(s)", folded)
        return model

    @staticmethod
    def _match(conv, producers, consumers, inits, graph_outputs):
        if (
            conv.op_type != "Conv"
            or conv.domain not in ("", "ai.onnx")
            or conv.input[1] not in inits
        ):
            return None
        weight = numpy_helper.to_array(inits[conv.input[1]])
        if weight.ndim != 4 or weight.shape[2:] != (1, 1) or _int_attribute(conv, "group", 1) != 1:
            return None
        if (
            any(v != 1 for v in _int_attribute(conv, "strides", [1, 1]))
            or any(v != 0 for v in _int_attribute(conv, "pads", [0, 0, 0, 0]))
            or _int_attribute(conv, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
        ):
            return None
        has_bias = len(conv.input) > 2 and conv.input[2] != ""
        if has_bias and conv.input[2] not in inits:
            return None
        pad = producers.get(conv.input[0])
        if (
            pad is None
            or pad.op_type != "Pad"
            or _int_attribute(pad, "mode", b"constant") not in (b"constant", "constant")
        ):
            return None
        if len(pad.input) > 2 and pad.input[2] != "":  # a constant value other than the default 0
            value = inits.get(pad.input[2])
            if value is None or np.any(numpy_helper.to_array(value) != 0):
                return None
        if (
            len(pad.input) > 3 and pad.input[3] != ""
        ):  # explicit axes: keep it simple, leave such graphs
            return None
        div = producers.get(pad.input[0])
        sub = producers.get(div.input[0]) if div is not None and div.op_type == "Div" else None
        if (
            sub is None
            or sub.op_type != "Sub"
            or div.input[1] not in inits
            or sub.input[1] not in inits
        ):
            return None
        channels = weight.shape[1]
        mean, std = (
            _per_channel(inits[sub.input[1]], channels),
            _per_channel(inits[div.input[1]], channels),
        )
        if mean is None or std is None or np.any(std == 0):
            return None
        for node in (sub, div, pad):
            if len(consumers.get(node.output[0], [])) != 1 or node.output[0] in graph_outputs:
                return None
        return sub, div, pad, conv, weight, mean, std, has_bias

    @staticmethod
    def _rewrite(graph, chain, inits) -> None:
        sub, div, pad, conv, weight, mean, std, has_bias = chain
        out_channels, channels = weight.shape[:2]
        scaled = weight.astype(np.float64) / std.reshape(1, channels, 1, 1)
        shift = -(scaled.reshape(out_channels, channels) @ mean)
        prefix = conv.name or conv.output[0]
        names = {
            key: f"{prefix}/fold_{key}"
            for key in ("weight", "shift", "bias", "projected", "padded")
        }
        graph.initializer.extend(
            [
                numpy_helper.from_array(scaled.astype(weight.dtype), names["weight"]),
                numpy_helper.from_array(shift.astype(weight.dtype), names["shift"]),
            ]
        )
        output = conv.output[0]
        nodes = [
            onnx.helper.make_node(
                "Conv",
                [sub.input[0], names["weight"], names["shift"]],
                [names["projected"]],
                name=f"{prefix}/fold_conv",
                kernel_shape=[1, 1],
            ),
            onnx.helper.make_node(
                "Pad",
                [names["projected"], *pad.input[1:2]],
                [names["padded"] if has_bias else output],
                mode="constant",
                name=f"{prefix}/fold_pad",
            ),
        ]
        if has_bias:
            bias = numpy_helper.to_array(inits[conv.input[2]])
            graph.initializer.append(
                numpy_helper.from_array(bias.reshape(out_channels, 1, 1), names["bias"])
            )
            nodes.append(
                onnx.helper.make_node(
                    "Add", [names["padded"], names["bias"]], [output], name=f"{prefix}/fold_bias"
                )
            )
        position = list(graph.node).index(conv) - 3
        for node in (sub, div, pad, conv):
            graph.node.remove(node)
        for offset, node in enumerate(nodes):
            graph.node.insert(position + offset, node)
        _toposort(graph)


def _toposort(graph) -> None:
    """Order ``graph.node`` so every node follows the producers of its inputs (stable otherwise)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        remaining = []
        for node in pending:
            if all(name in available for name in node.input):
                ordered.append(node)
                available.update(node.output)
            else:
                remaining.append(node)
        if len(remaining) == len(pending):
            raise BadInputError(
                f"graph: got a cycle or a missing input around {remaining[0].name!r}, expected a DAG"
            )
        pending = remaining
    del graph.node[:]
    graph.node.extend(ordered)
