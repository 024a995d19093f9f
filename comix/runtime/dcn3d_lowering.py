"""Rewrite a canonical graph's ``ai.comix::DeformConv3D`` nodes into standard ONNX ops, for runtimes that have
no such op (OpenVINO) — the graph-level twin of :func:`comix.ops.portable.deform_conv3d_as_2d`.

    static = lower_deform_conv3d(model, {"hsi": (1, 144, 128, 128), "x": (1, 1, 128, 128)})

The graph's inputs are fixed to the given shapes first and every 3-D DCN node's input size is found
by running the graph once on zeros in ONNX Runtime with the 3-D DCNs replaced by plain 3-D
convolutions (same output shape, no custom op); then each node whose geometry keeps the size
(stride 1, "same" padding: every CoMiX block) becomes one 2-D ONNX ``DeformConv`` over the volume
viewed as an image, with one zero row below each depth slice; trilinear sampling is two bilinear taps per
kernel point (the low and high depth slice, weighted 1 - fd and fd), as the portable export lowers
it (the math and its checks: :mod:`comix.ops.portable`). Constants (base positions, tap indices) are
computed here for the fixed size. Other geometries are refused in one sentence. Needs numpy, onnx
and ONNX Runtime (no torch). Tested against the custom op in ONNX Runtime and the float64 reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count

import numpy as np
import onnx
from onnx import helper, numpy_helper

from comix.ops.spec import CUSTOM_DOMAIN, DEFORM_CONV_3D
from comix.runtime.errors import RuntimeInputError

MIN_OPSET = 19  # ONNX DeformConv


def fix_input_shapes(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]
) -> onnx.ModelProto:
    """A copy of ``model`` whose graph inputs have the given static shapes (other inputs unchanged) and no
    recorded intermediate shapes (an export's symbolic ones would hide what shape inference now finds)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    del fixed.graph.value_info[:]
    for value in fixed.graph.input:
        if value.name in shapes:
            dims = value.type.tensor_type.shape.dim
            if len(dims) != len(shapes[value.name]):
                raise RuntimeInputError(
                    f"input {value.name!r}: got shape {tuple(shapes[value.name])}, expected "
                    f"{len(dims)} axes"
                )
            for dim, size in zip(dims, shapes[value.name]):
                dim.Clear()
                dim.dim_value = int(size)
    return fixed


class _Builder:
    """Emits the nodes and constants of one lowered node, with unique names under ``prefix``."""

    def __init__(self, prefix: str, dtype: np.dtype) -> None:
        self.prefix, self.dtype = prefix, dtype
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self._ids = count()

    def name(self, what: str) -> str:
        return f"{self.prefix}/{what}_{next(self._ids)}"

    def const(self, value, dtype=None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        tensor = numpy_helper.from_array(array, self.name("const"))
        self.constants.append(tensor)
        return tensor.name

    def shape(self, dims: Sequence[int]) -> str:
        return self.const(np.asarray(dims, dtype=np.int64), np.int64)

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        output = self.name(op_type)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def clamp(self, values: str, low: float, high: float) -> str:
        """``values`` limited to [low, high], NaN -> ``low`` (Where, not Clip: Clip keeps NaN)."""
        floor, ceiling = self.const(low), self.const(high)
        values = self.op("Where", self.op("Greater", values, floor), values, floor)
        return self.op("Where", self.op("Less", values, ceiling), values, ceiling)


def _attributes(node: onnx.NodeProto) -> dict:
    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    kernel = [int(v) for v in values["kernel_shape"]]
    return {
        "kernel": kernel,
        "strides": [int(v) for v in values.get("strides", [1, 1, 1])],
        "pads": [int(v) for v in values.get("pads", [0] * 6)],
        "dilations": [int(v) for v in values.get("dilations", [1, 1, 1])],
        "group": int(values.get("group", 1)),
        "offset_group": int(values.get("offset_group", 1)),
    }


def _base_positions(attributes: dict, size: Sequence[int]) -> list[np.ndarray]:
    """Per axis (D, H, W), the undeformed position of kernel point k at output p: (1, 1, 1, K, D, H, W)."""
    kernel, dilation = attributes["kernel"], attributes["dilations"]
    pad_begin = attributes["pads"][:3]
    taps = np.stack(np.meshgrid(*[np.arange(k) for k in kernel], indexing="ij"), -1).reshape(-1, 3)
    grids = np.meshgrid(*[np.arange(s) for s in size], indexing="ij")
    positions = []
    for axis in range(3):
        start = grids[axis][None] - pad_begin[axis]  # stride 1
        tap = (taps[:, axis] * dilation[axis]).reshape(-1, 1, 1, 1)
        positions.append((tap + start).reshape(1, 1, 1, len(taps), *size))
    return positions


def _keeps_size(attributes: dict) -> bool:
    pads = attributes["pads"]
    return all(
        attributes["strides"][a] == 1
        and pads[a] + pads[a + 3] == attributes["dilations"][a] * (attributes["kernel"][a] - 1)
        for a in range(3)
    )


def _lower_node(
    node: onnx.NodeProto, shape: Sequence[int], out_channels: int, elem_type: int
) -> _Builder:
    """The standard-op subgraph of one DeformConv3D node whose input X has static ``shape`` (N, C, D, H, W)
    and whose weight has ``out_channels`` rows (explicit sizes everywhere: a batch of 0 is allowed)."""
    attributes = _attributes(node)
    if not _keeps_size(attributes):
        raise RuntimeInputError(
            f"node {node.name!r}: got a 3-D DCN with strides {attributes['strides']} and pads "
            f"{attributes['pads']}, expected stride 1 and 'same' padding (the only geometry lowered to "
            "standard ops); export the model with `comix export --portable` for this backend"
        )
    batch, channels, depth, height, width = shape
    points = int(np.prod(attributes["kernel"]))
    groups = attributes["offset_group"]
    taps = max(2 * points, depth + 1)
    pad_begin = (taps - 1 - depth) // 2
    b = _Builder(node.name or node.output[0], helper.tensor_dtype_to_np_dtype(elem_type))
    inputs = list(node.input) + [""] * (5 - len(node.input))
    x, weight, offset, bias, mask = inputs
    # the volume as an image: one zero row below each depth slice
    padded = b.op("Pad", x, b.shape([0, 0, 0, 0, 0, 0, 0, 0, 1, 0]))
    image = b.op("Reshape", padded, b.shape([batch, channels, depth * (height + 1), width]))
    # target positions per axis: (N, OG, 1, K, D, H, W)
    per_axis = b.op("Reshape", offset, b.shape([batch, groups, points, 3, depth, height, width]))
    base = _base_positions(attributes, (depth, height, width))
    target = []
    for axis in range(3):
        part = b.op(
            "Slice", per_axis, b.shape([axis]), b.shape([axis + 1]), b.shape([3])
        )  # (N, OG, K, 1, D, H, W)
        part = b.op("Reshape", part, b.shape([batch, groups, 1, points, depth, height, width]))
        target.append(b.op("Add", part, b.const(base[axis])))
    t_depth = b.clamp(target[0], -1.0, float(depth))
    t_height = b.clamp(target[1], -1.0, float(height))
    t_width = b.clamp(target[2], -1.0, float(width))
    low = b.op("Floor", t_depth)
    frac = b.op("Sub", t_depth, low)
    slice_index = b.op("Add", low, b.const(np.arange(2).reshape(1, 1, 2, 1, 1, 1, 1)))
    share = b.op("Concat", b.op("Sub", b.const(1.0), frac), frac, axis=2)
    inside = b.op(
        "And",
        b.op("GreaterOrEqual", slice_index, b.const(0.0)),
        b.op("Less", slice_index, b.const(float(depth))),
    )
    if mask:
        modulation = b.op(
            "Reshape", mask, b.shape([batch, groups, 1, points, depth, height, width])
        )
        share = b.op("Mul", share, modulation)
    taps_mask = b.op("Mul", share, b.op("Cast", inside, to=elem_type))
    # 2-D tap t = slice * K + k at output row r = d*H + h has base (r - pad_begin + t, w)
    out_row = (np.arange(depth * height).reshape(1, 1, 1, 1, depth, height, 1)) - pad_begin
    tap = np.arange(2 * points).reshape(1, 1, 2, points, 1, 1, 1)
    slice_row = b.op("Mul", b.clamp(slice_index, 0.0, float(depth - 1)), b.const(height + 1.0))
    rows = b.op("Add", slice_row, t_height)
    row_offset = b.op("Sub", rows, b.const(out_row + tap))
    col_offset = b.op(
        "Expand",
        b.op("Sub", t_width, b.const(np.arange(width).reshape(1, 1, 1, 1, 1, 1, width))),
        b.shape([batch, groups, 2, points, depth, height, width]),
    )
    pair = [b.op("Unsqueeze", o, b.shape([4])) for o in (row_offset, col_offset)]
    offsets = b.op("Concat", *pair, axis=4)  # (N, OG, 2, K, 2, D, H, W)
    offsets = b.op(
        "Reshape", offsets, b.shape([batch, groups, 2 * points, 2, depth * height, width])
    )
    taps_mask = b.op(
        "Reshape", taps_mask, b.shape([batch, groups, 2 * points, depth * height, width])
    )
    weight_2d = b.op("Reshape", weight, b.shape([0, 0, points, 1]))
    weight_2d = b.op("Concat", weight_2d, weight_2d, axis=2)
    extra = taps - 2 * points
    if extra:
        offsets = b.op("Pad", offsets, b.shape([0] * 6 + [0, 0, extra, 0, 0, 0]))
        taps_mask = b.op("Pad", taps_mask, b.shape([0] * 5 + [0, 0, extra, 0, 0]))
        weight_2d = b.op("Pad", weight_2d, b.shape([0] * 4 + [0, 0, extra, 0]))
    offsets = b.op("Reshape", offsets, b.shape([batch, groups * taps * 2, depth * height, width]))
    taps_mask = b.op("Reshape", taps_mask, b.shape([batch, groups * taps, depth * height, width]))
    output = b.op(
        "DeformConv",
        image,
        weight_2d,
        offsets,
        bias,
        taps_mask,
        kernel_shape=[taps, 1],
        strides=[1, 1],
        pads=[pad_begin, 0, taps - 1 - depth - pad_begin, 0],
        dilations=[1, 1],
        group=attributes["group"],
        offset_group=groups,
    )
    b.nodes.append(
        helper.make_node(
            "Reshape",
            [output, b.shape([batch, out_channels, depth, height, width])],
            [node.output[0]],
            name=b.name("Reshape"),
        )
    )
    return b


def _probe_shapes(model: onnx.ModelProto, names: Sequence[str]) -> dict[str, tuple[list[int], int]]:
    """(dims, elem type) of the values ``names`` of a graph with fixed input shapes, found by running it once
    on zeros in ONNX Runtime with every DeformConv3D replaced by the plain 3-D convolution of the same
    geometry (the same output shape, and no custom op needed). ONNX shape inference alone cannot: an
    exported dynamic graph computes its reshape targets from ``Shape`` nodes."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    nodes = []
    for node in probe.graph.node:
        if _is_dcn3d(node):
            attributes = _attributes(node)
            inputs = [node.input[0], node.input[1]] + (
                [node.input[3]] if len(node.input) > 3 and node.input[3] else []
            )
            node = helper.make_node(
                "Conv",
                inputs,
                list(node.output),
                name=node.name,
                kernel_shape=attributes["kernel"],
                strides=attributes["strides"],
                pads=attributes["pads"],
                dilations=attributes["dilations"],
                group=attributes["group"],
            )
        nodes.append(node)
    del probe.graph.node[:]
    probe.graph.node.extend(nodes)
    kept = [o for o in probe.opset_import if o.domain != CUSTOM_DOMAIN]
    del probe.opset_import[:]
    probe.opset_import.extend(kept)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    feeds = {}
    for value in probe.graph.input:
        if value.name in {t.name for t in probe.graph.initializer}:
            continue
        tensor = value.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        feeds[value.name] = np.zeros([d.dim_value for d in tensor.shape.dim], dtype=dtype)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    outputs = session.run(list(names), feeds)
    return {
        name: (list(out.shape), helper.np_dtype_to_tensor_dtype(out.dtype))
        for name, out in zip(names, outputs)
    }


def _is_dcn3d(node: onnx.NodeProto) -> bool:
    return node.domain == CUSTOM_DOMAIN and node.op_type == DEFORM_CONV_3D


def lower_deform_conv3d(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]
) -> onnx.ModelProto:
    """``model`` with fixed input ``shapes`` and every DeformConv3D node lowered (module doc)."""
    lowered = fix_input_shapes(model, shapes)
    default = next((o for o in lowered.opset_import if o.domain in ("", "ai.onnx")), None)
    if default is None or default.version < MIN_OPSET:
        raise RuntimeInputError(
            f"model: got opset {default.version if default else 'none'}, expected >= {MIN_OPSET} "
            "(ONNX DeformConv) to lower its 3-D DCN nodes"
        )
    dcn_nodes = [node for node in lowered.graph.node if _is_dcn3d(node)]
    if not dcn_nodes:
        return lowered
    wanted = sorted({name for node in dcn_nodes for name in node.input[:2]})
    try:
        found = _probe_shapes(lowered, wanted)
    except (
        Exception
    ) as error:  # ONNX Runtime's own error: say what could not be done, in one sentence
        raise RuntimeInputError(
            f"model: the input shapes of its 3-D DCN nodes could not be found for the input shapes "
            f"{dict(shapes)} ({str(error).strip().splitlines()[0][:200]}); export it with `comix export "
            "--portable` instead"
        ) from None
    nodes, constants = [], []
    for node in lowered.graph.node:
        if not _is_dcn3d(node):
            nodes.append(node)
            continue
        dims, elem_type = found[node.input[0]]
        builder = _lower_node(node, dims, found[node.input[1]][0][0], elem_type)
        nodes += builder.nodes
        constants += builder.constants
    del lowered.graph.node[:]
    lowered.graph.node.extend(nodes)
    lowered.graph.initializer.extend(constants)
    kept = [o for o in lowered.opset_import if o.domain != CUSTOM_DOMAIN]
    del lowered.opset_import[:]
    lowered.opset_import.extend(kept)
    del lowered.graph.value_info[:]
    return lowered
