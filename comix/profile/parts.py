"""Which part of CoMiX a layer belongs to, read from its name, and times summed per part.

Layer names carry the module they came from: an exported node is ``<module path>[<Class>]/<node>``
(:func:`comix.export.passes.scoped_name`), a PyTorch module scope ``<module path>[<Class>]``, a TensorRT
layer fused from several nodes joins their names with `` + ``. The module path's first item is a child
of ``ComixNet``, mapped to its part by :data:`comix.model.parts.PART_OF_CHILD` (the model's one list of
parts); here the stems join their branches, and the deformable op itself (sampling and its matmul,
not its offset conv) is its own part, per dimensionality.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from comix.model.parts import PART_OF_CHILD
from comix.runtime.backend import LayerTime

DCN_3D, DCN_2D = "DCN sampling 3-D", "DCN sampling 2-D"
INPUT_OUTPUT = "input/output (normalise, pad, upsample, crop)"
LAYOUT = "layout conversion (inserted by the runtime)"
OTHER = "other (no module recorded)"
# model part (PART_OF_CHILD value) -> profile part
COARSER = {"HSI stem": "HSI branch", "X stem": "X branch", "normalization": INPUT_OUTPUT}
DCN_CLASSES = {"DeformConv3d": DCN_3D, "DeformConv2d": DCN_2D}
DCN_OP_TYPES = {"DeformConv3D": DCN_3D, "DeformConv": DCN_2D}
LAYOUT_OP_TYPES = {"ReorderInput", "ReorderOutput"}  # ONNX Runtime's NCHWc layout changes
# report order
PARTS = (
    "HSI branch",
    DCN_3D,
    "X branch",
    DCN_2D,
    "spectral pool/lift",
    "CMFeX",
    "FFM",
    "decoder",
    INPUT_OUTPUT,
    LAYOUT,
    OTHER,
)

# a scope at the start of a name or after a runtime's prefix ("fused hsi_stem...[Conv3d]/node_x")
_SCOPE = re.compile(r"(?:^|\s)(?P<path>[^\[\]/\s]*)\[(?P<cls>[A-Za-z_][A-Za-z0-9_]*)\](?:/|$)")


def split_scoped_name(name: str) -> tuple[str, str] | None:
    """(module path, module class) of a scoped layer name, or None when the name carries no scope."""
    match = _SCOPE.search(name.strip())
    return (match["path"], match["cls"]) if match else None


def part_of(name: str, kind: str = "") -> str:
    """The profile part of a layer named ``name`` whose op type/class is ``kind`` (one of :data:`PARTS`).

    A fused layer (``a + b``, or ONNX Runtime's ``..._nchwc`` copies of a node) takes the part of its
    first scoped member. A DCN op is recognised by its module class, or by its op type when unscoped;
    a layout change a runtime inserted is its own part (it moves data and computes nothing).
    """
    if kind in LAYOUT_OP_TYPES:
        return LAYOUT
    for member in name.split(" + "):
        scope = split_scoped_name(member)
        if scope is None:
            continue
        path, cls = scope
        if cls in DCN_CLASSES:
            return DCN_CLASSES[cls]
        child = path.split(".")[0]
        if not child:
            return INPUT_OUTPUT  # the root module's own ops: pad, final upsample, crop
        part = PART_OF_CHILD.get(child, child)
        return COARSER.get(part, part)
    return DCN_OP_TYPES.get(kind, OTHER)


def time_by_part(layers: Iterable[LayerTime]) -> dict[str, float]:
    """Milliseconds per part, in :data:`PARTS` order (parts with no layers left out; unknown parts last)."""
    totals: dict[str, float] = {}
    for layer in layers:
        part = part_of(layer.name, layer.kind)
        totals[part] = totals.get(part, 0.0) + layer.milliseconds
    ordered = {part: totals.pop(part) for part in PARTS if part in totals}
    return {**ordered, **dict(sorted(totals.items()))}
