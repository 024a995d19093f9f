"""FP16 graphs: FP32 inputs and outputs, FP16 inside, FP32 kept where range or accuracy needs it.

ONNX Runtime's float16 converter (``onnxruntime.transformers.float16``) does the mechanical part (types,
initializers, Cast nodes at every FP32/FP16 border); this module decides which nodes stay FP32 and why
(:func:`fp32_nodes`), which is written beside the model and into its record:

* input normalisation — the elementwise nodes between a graph input and the first non-elementwise op:
  raw values (reflectance x 10 000, elevations in metres) have an FP16 spacing of up to 8, coarser than
  the normalised signal needs; for the same reason the first convolution on that chain (the export folds
  the HSI normalisation into the band projection, so it reads the raw cube);
* normalisation statistics and softmax (LayerNormalization, BatchNormalization, Softmax, ...): means,
  variances and exponentials over many elements;
* reductions (ReduceMean/Sum/Max, global pools): sums over a whole tile;
* the DCN nodes: positions ``p + offset`` up to the tile size keep only 1/16 px in FP16 at 64-128 px, and
  the kernels accumulate in FP32 (ONNX Runtime's op is FP32 only); and every node between a DCN's offset or
  mask input and the convolution that predicts it: the portable 3-D lowering (comix.ops.portable) computes
  sampling rows of a flattened volume there, up to D*(H+1) px, where FP16 keeps whole pixels at best;
* range — any node whose calibrated ``|max|`` passes half of FP16's largest value (65 504);
* a task's own rules: a SHIP fusion graph's Fourier product, LayerNorm statistics, exponentials, divisions and
  output scaling (:mod:`comix.ship.calibration.rules`).
"""

from __future__ import annotations

import onnx

from comix.calibration.graph import consumers, dcn_nodes, graph_inputs, is_dcn, producers
from comix.calibration.quiet import quiet
from comix.calibration.recipe import FP16_HEADROOM, FP16_MAX
from comix.calibration.statistics import ActivationStatistics

NORMALISATION_OPS = {
    "LayerNormalization",
    "BatchNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "Softmax",
    "LogSoftmax",
    "RMSNormalization",
}
REDUCTION_OPS = {
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "ReduceMin",
    "ReduceL2",
    "ReduceSumSquare",
    "ReduceProd",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "CumSum",
}
ELEMENTWISE_OPS = {"Sub", "Div", "Mul", "Add", "Cast", "Identity", "Reshape", "Unsqueeze", "Expand"}
FIRST_LAYER_OPS = {"Conv", "MatMul", "Gemm"}
_SIZE_OPS = {"Shape", "Size"}
# shape arithmetic and indexing: not float compute; the converter leaves non-float tensors alone
_INTEGER_OPS = {"Shape", "Gather", "Range", "ConstantOfShape", "NonZero", "Equal", "Where"}


def fp32_nodes(
    model: onnx.ModelProto,
    statistics: ActivationStatistics | None,
    task_rules: dict[str, str] | None = None,
) -> dict[str, str]:
    """node name -> why it stays FP32, for every node that does (see the module doc). ``task_rules``: the
    task's own keep-list (a SHIP fusion graph: :func:`comix.ship.calibration.rules.fusion_fp32_nodes`)."""
    kept: dict[str, str] = {}
    inputs = graph_inputs(model)
    readers = consumers(model)
    # input normalisation: breadth-first from the graph inputs through elementwise nodes only
    frontier = [inputs.hsi, inputs.x]
    while frontier:
        for node in readers.get(frontier.pop(), []):
            if node.name in kept:
                continue
            if node.op_type in ELEMENTWISE_OPS:
                kept[node.name] = "input normalisation: raw input values need FP32 resolution"
                frontier += list(node.output)
            elif node.op_type in FIRST_LAYER_OPS:
                kept[node.name] = (
                    "first layer on the input: it reads raw values (the export may fold the "
                    "input normalisation into it), which need FP32 resolution"
                )
    for node in sampling_path(model):
        kept.setdefault(
            node.name,
            "DCN sampling positions: offset/mask arithmetic (flattened-volume rows in the "
            "portable lowering) needs FP32",
        )
    for name, reason in (task_rules or {}).items():
        kept.setdefault(name, reason)
    for node in model.graph.node:
        if node.name in kept:
            continue
        if is_dcn(node):
            kept[node.name] = (
                "deformable convolution: sampling positions need sub-pixel precision and the "
                "kernels accumulate in FP32"
            )
        elif node.op_type in NORMALISATION_OPS:
            kept[node.name] = f"{node.op_type}: statistics/exponentials over many elements"
        elif node.op_type in REDUCTION_OPS:
            kept[node.name] = f"{node.op_type}: reduction over a whole tile"
        elif statistics is not None:
            peak = max(
                (statistics.absmax(out) for out in node.output if out in statistics.maximum),
                default=0.0,
            )
            if peak > FP16_MAX * FP16_HEADROOM:
                kept[node.name] = (
                    f"range: calibrated |max| {peak:.4g} exceeds {FP16_HEADROOM:g} x FP16 max"
                )
    return kept


def sampling_path(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The nodes between each DCN's offset (input 2) or mask (input 4) and the layers that predict them
    (walked backwards, stopping at a Conv/MatMul/Gemm or another DCN, which are not included, and at ``Shape``
    nodes: the sizes they read are integers, so the feature maps behind them are not on the path)."""
    made_by = producers(model)
    found: dict[str, onnx.NodeProto] = {}
    for dcn in dcn_nodes(model):
        stack = [dcn.input[i] for i in (2, 4) if len(dcn.input) > i and dcn.input[i]]
        while stack:
            node = made_by.get(stack.pop())
            if (
                node is None
                or node.name in found
                or node.op_type in FIRST_LAYER_OPS
                or is_dcn(node)
                or node.op_type in _SIZE_OPS
            ):
                continue
            found[node.name] = node
            stack += [name for name in node.input if name]
    return list(found.values())


def convert_fp16(
    model: onnx.ModelProto, keep: dict[str, str]
) -> tuple[onnx.ModelProto, list[dict]]:
    """(FP16 graph with FP32 inputs/outputs, the kept nodes as ``{"node", "op_type", "reason"}``)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    import comix.export.schema  # noqa: F401 - DeformConv3D's schema, for the converter's shape inference

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    op_types = {n.name: n.op_type for n in model.graph.node}
    with quiet():
        converted = convert_float_to_float16(
            copy,
            keep_io_types=True,
            node_block_list=sorted(keep),
            op_block_list=sorted(_INTEGER_OPS),
        )
    drop_fp16_round_trips(converted)
    kept = [
        {"node": name, "op_type": op_types.get(name, "?"), "reason": reason}
        for name, reason in keep.items()
    ]
    return converted, kept


def drop_fp16_round_trips(model: onnx.ModelProto) -> int:
    """Remove ``Cast(to FP16) -> Cast(to FP32)`` round trips; returns how many readers were rewired.

    The converter casts every kept node's output to FP16 and back to FP32 before the next kept node,
    so a chain of FP32 nodes (a Fourier product, a LayerNorm) would still store its values in FP16
    between them — overflowing past 65 504 and rounding what the keep-list was for. The FP32 readers
    read the FP32 tensor instead."""
    float16, float32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    outputs = {o.name for o in model.graph.output}

    def cast_to(node: onnx.NodeProto) -> int | None:
        return (
            next((a.i for a in node.attribute if a.name == "to"), None)
            if node.op_type == "Cast"
            else None
        )

    readers = consumers(model)
    rewired, dead = 0, set()
    for down in [n for n in model.graph.node if cast_to(n) == float16]:
        for back in readers.get(down.output[0], []):
            if cast_to(back) != float32 or back.output[0] in outputs:
                continue
            for reader in readers.get(back.output[0], []):
                for index, name in enumerate(reader.input):
                    if name == back.output[0]:
                        reader.input[index] = down.input[0]
                        rewired += 1
            dead.add(back.name)
    remaining = consumers(model) if dead else readers
    for down in [n for n in model.graph.node if cast_to(n) == float16]:
        users = [r for r in remaining.get(down.output[0], []) if r.name not in dead]
        if not users and down.output[0] not in outputs:
            dead.add(down.name)
    kept_nodes = [n for n in model.graph.node if n.name not in dead]
    del model.graph.node[:]
    model.graph.node.extend(kept_nodes)
    produced = {out for node in kept_nodes for out in node.output}
    stale = [
        v for v in model.graph.value_info if v.name not in produced
    ]  # types of the removed casts' outputs
    for value in stale:
        model.graph.value_info.remove(value)
    return rewired
