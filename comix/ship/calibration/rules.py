"""Which nodes of a SHIP fusion graph stay FP32 (FP16 graph) or read float tensors (INT8 graph),
found by structure.

The exporter leaves no module names on the nodes, so each numerically fragile part of SHIP is
recognised by its shape in the graph, the same way for the DFT and the DFT-free (matrix) lowering:

* **Fourier product** (:func:`spectral_nodes`): the transforms — ONNX ``DFT`` nodes, or ``MatMul``
  nodes with a constant operand (the cosine/sine bases of the matrix lowering; SHIP has no other
  constant-operand MatMul) — and every node between them: a node joins when all its float inputs
  come from the region (the complex product, the ``Neg``/``Sub``/``Add`` of the real matrix form),
  and a joined node is kept only if it leads to a transform (so the LayerNorm after the inverse
  transform is not counted here). Un-normalised spectra of a tile are sums over all its pixels: at
  128 x 128 the DC term of each operand is ~16 000 x the mean feature, and their product passes FP16's 65 504.
* **LayerNorm statistics** (:func:`layernorm_nodes`): ``ReduceMean(x)``, ``Sub(x, mean)`` and every
  node from it to the ``Div`` that reads the centred value (square, mean, ``+ eps``, ``Sqrt``,
  ``Div``): SHIP's per-pixel channel LayerNorm as the exporter decomposes it.
* **Exponentials** (``Exp``: the affine coupling of the invertible blocks, ``x2 * exp(s)``) and **divisions**
  (``Div``/``Reciprocal``) anywhere.
* **Output scaling**: the elementwise nodes between the last other op and a graph output
  (``fused * data_range`` and the residual add of the upsampled MS in raw units).

Softmax, InstanceNormalization and reductions are kept by the general FP16 rules
(:mod:`comix.calibration.fp16`). :data:`FP16_GROUPS` lists every candidate with the reason written
into the record; which are kept by default (:data:`FP16_DEFAULT_GROUPS`) was decided by measurement
(``tools/measure_fusion_precision.py``; docs/ship.md, "Precision"): the Fourier product and the
LayerNorm statistics reach 10^6-10^7 on a trained SHIP at 128 x 128 (570x FP16's range), and grow
with the tile area, so they are kept by structure, not only when the calibration tiles happen to
show it; releasing Exp (its argument is clamped to +-0.8 by the coupling), the divisions and the
output scaling changed no metric measurably (PSNR vs FP32 87.3 dB either way).
"""

from __future__ import annotations

import onnx

from comix.calibration.graph import consumers, producers

FORWARD_ONLY = {"Shape", "Size"}  # readers that do not carry float values on
ELEMENTWISE = {"Mul", "Add", "Sub", "Div", "Cast", "Identity", "Clip", "Relu"}

# group -> reason written into the recipe for each node kept FP32 in an FP16 fusion graph
FP16_GROUPS = {
    "fourier": "Fourier product: un-normalised spectra of a tile (sums over all its pixels) and "
    "their product pass FP16's range",
    "layernorm": "LayerNorm statistics: centring, variance, sqrt and division per pixel",
    "exp": "Exp (affine coupling of the invertible blocks): exponentials amplify FP16 rounding",
    "division": "Div: a division by a small value amplifies FP16 rounding",
    "output": "output scaling: the fused image in raw units (data_range) needs FP32 spacing",
}
FP16_DEFAULT_GROUPS = ("fourier", "layernorm")
# groups whose float inputs are kept float (no dequantised value read) in an INT8 fusion graph; their own ops
# are never quantised (the INT8 targets quantise Conv / MatMul / Gemm only, and the Fourier MatMuls
# are excluded)
INT8_GROUPS = ("fourier", "layernorm", "exp", "division", "softmax")


def _constant_names(model: onnx.ModelProto) -> set[str]:
    names = {t.name for t in model.graph.initializer}
    names |= {out for node in model.graph.node if node.op_type == "Constant" for out in node.output}
    return names


def _float_inputs(node: onnx.NodeProto, constants: set[str], integer: set[str]) -> list[str]:
    return [name for name in node.input if name and name not in constants and name not in integer]


def _integer_tensors(model: onnx.ModelProto, constants: set[str]) -> set[str]:
    """Tensors computed from shapes and constants only (``Shape`` and what is made from it): not
    activations."""
    found: set[str] = set()
    for node in model.graph.node:  # graph order: producers come first
        ins = [name for name in node.input if name]
        if node.op_type in FORWARD_ONLY or (
            ins and all(name in found or name in constants for name in ins)
        ):
            found.update(node.output)
    return found


def transform_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """``DFT`` nodes and ``MatMul`` nodes with one constant operand (a Fourier basis)."""
    constants = _constant_names(model)
    return [
        node
        for node in model.graph.node
        if node.op_type == "DFT"
        or (node.op_type == "MatMul" and sum(name in constants for name in node.input) == 1)
    ]


def spectral_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the Fourier-product nodes: transforms and everything between them (module doc)."""
    transforms = transform_nodes(model)
    if not transforms:
        return []
    constants = _constant_names(model)
    integer = _integer_tensors(model, constants)
    region = {node.name for node in transforms}
    made_by = producers(model)
    for node in model.graph.node:  # graph order: a node's producers are decided before it
        if node.name in region:
            continue
        ins = _float_inputs(node, constants, integer)
        if ins and all(name in made_by and made_by[name].name in region for name in ins):
            region.add(node.name)
    # keep a region node only if a transform is reachable from it inside the region
    readers = consumers(model)
    leads: set[str] = {node.name for node in transforms}
    for node in reversed(model.graph.node):
        if (
            node.name in region
            and node.name not in leads
            and any(reader.name in leads for out in node.output for reader in readers.get(out, []))
        ):
            leads.add(node.name)
    return [node.name for node in model.graph.node if node.name in leads]


def layernorm_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes of every decomposed LayerNorm: mean, centring, variance, sqrt, division
    (module doc)."""
    made_by = producers(model)
    readers = consumers(model)
    found: list[str] = []
    for mean in (n for n in model.graph.node if n.op_type == "ReduceMean"):
        source = mean.input[0]
        for centre in readers.get(mean.output[0], []):
            if centre.op_type != "Sub" or list(centre.input[:2]) != [source, mean.output[0]]:
                continue
            divisions = [
                r
                for r in readers.get(centre.output[0], [])
                if r.op_type == "Div" and r.input[0] == centre.output[0]
            ]
            if not divisions:
                continue
            # nodes on a path from the centred value to the division's denominator
            between: set[str] = set()
            stack = [divisions[0].input[1]]
            while stack:
                node = made_by.get(stack.pop())
                if node is None or node.name in between or node.name == centre.name:
                    continue
                between.add(node.name)
                stack += [name for name in node.input if name]
            forward: set[str] = set()
            stack = [centre.output[0]]
            while stack:
                for reader in readers.get(stack.pop(), []):
                    if reader.name not in forward:
                        forward.add(reader.name)
                        stack += list(reader.output)
            group = {mean.name, centre.name, divisions[0].name} | (between & forward)
            found += [
                name
                for name in (n.name for n in model.graph.node)
                if name in group and name not in found
            ]
    return found


def output_scaling_nodes(model: onnx.ModelProto) -> list[str]:
    """Elementwise nodes between the last non-elementwise op and each graph output
    (breadth-first backwards)."""
    made_by = producers(model)
    found: list[str] = []
    stack = [o.name for o in model.graph.output]
    while stack:
        node = made_by.get(stack.pop())
        if node is None or node.op_type not in ELEMENTWISE or node.name in found:
            continue
        found.append(node.name)
        stack += [name for name in node.input if name]
    return found


def fragile_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """group -> node names, for every group of :data:`FP16_GROUPS` plus ``softmax``."""
    ops = {"exp": ("Exp",), "division": ("Div", "Reciprocal"), "softmax": ("Softmax", "LogSoftmax")}
    groups = {
        "fourier": spectral_nodes(model),
        "layernorm": layernorm_nodes(model),
        "output": output_scaling_nodes(model),
    }
    for group, types in ops.items():
        groups[group] = [n.name for n in model.graph.node if n.op_type in types]
    return groups


def fusion_fp32_nodes(
    model: onnx.ModelProto, groups: tuple[str, ...] | None = None
) -> dict[str, str]:
    """node name -> reason, for the nodes an FP16 fusion graph keeps in FP32 (``groups``: default
    :data:`FP16_DEFAULT_GROUPS`; the measurement tool passes others)."""
    chosen = FP16_DEFAULT_GROUPS if groups is None else groups
    found = fragile_groups(model)
    kept: dict[str, str] = {}
    for group in chosen:
        for name in found[group]:
            kept.setdefault(name, FP16_GROUPS[group])
    return kept


def fusion_int8_float_readers(model: onnx.ModelProto) -> list[str]:
    """Nodes of an INT8 fusion graph that must read float tensors, never a dequantised one
    (:data:`INT8_GROUPS`)."""
    found = fragile_groups(model)
    return list(dict.fromkeys(name for group in INT8_GROUPS for name in found[group]))


def fusion_int8_exclusions(model: onnx.ModelProto) -> dict[str, str]:
    """node name -> reason, for the quantisable nodes an INT8 fusion graph leaves float: the Fourier
    MatMuls."""
    op_types = {n.name: n.op_type for n in model.graph.node}
    return {
        name: "Fourier product: cosine/sine basis products of a whole tile's spectrum (range and phase)"
        for name in spectral_nodes(model)
        if op_types[name] in ("MatMul", "Gemm")
    }
