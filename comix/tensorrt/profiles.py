"""Optimisation profiles of a CoMiX engine: min/opt/max of the batch and of the tile (H, W).

Both inputs, ``hsi`` (B, bands, H, W) and ``x`` (B, C, H, W), share B, H and W, so one profile is three
ranges. Where they come from, in order: the option given (``comix build --batch 1:4:8 --tile 128``), a
static axis of the graph (fixed; an option that disagrees is refused), the model record (the training
tile: engines are fastest at the size they are tuned for), and last the caller's defaults (the runtime's
tile and batch, passed in by ``comix build``).

Default ranges: batch 1..B (the sliding window's last batch may be short, so min is 1), tile fixed at
the training tile (the runtime then feeds exactly that size and pads scene edges). A wider tile range
costs engine speed; ask for it with ``--tile MIN:OPT:MAX``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import onnx

from comix.errors import BadInputError
from comix.metadata import ModelRecord
from comix.tiles import parse_tile_range


class ProfileError(BadInputError):
    """A profile option or a graph that cannot be profiled (message says got/expected)."""


@dataclass(frozen=True)
class ShapeRange:
    """min <= opt <= max, all >= 1."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not (1 <= self.min <= self.opt <= self.max):
            raise ProfileError(
                f"range {self.min}:{self.opt}:{self.max}: expected 1 <= min <= opt <= max"
            )

    @classmethod
    def fixed(cls, value: int) -> ShapeRange:
        return cls(value, value, value)

    @property
    def is_fixed(self) -> bool:
        return self.min == self.max

    def __contains__(self, value: int) -> bool:
        return self.min <= value <= self.max

    def __str__(self) -> str:
        return str(self.min) if self.is_fixed else f"{self.min}:{self.opt}:{self.max}"


def parse_range(text: str, what: str) -> ShapeRange:
    """``"4"`` -> 1:4:4 for a batch (``what='batch'``) or 4:4:4 otherwise; ``"1:4:8"`` -> 1:4:8."""
    parts = str(text).strip().split(":")
    if len(parts) not in (1, 3) or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ProfileError(f"--{what}: got {text!r}, expected N or MIN:OPT:MAX (positive integers)")
    values = [int(p) for p in parts]
    if len(values) == 1:
        values = [1, values[0], values[0]] if what == "batch" else values * 3
    try:
        return ShapeRange(*values)
    except ProfileError as error:
        raise ProfileError(f"--{what}: got {text!r}, {str(error).split(': ', 1)[1]}") from None


def tile_ranges(text: str) -> tuple[ShapeRange, ShapeRange]:
    """``--tile`` of ``comix build`` (:func:`comix.tiles.parse_tile_range`: ``128``, ``96x128``,
    ``64:128:256``, ``64x64:96x128:128x256``) -> (height range, width range) of the profile."""
    low, opt, high = parse_tile_range(text)
    return ShapeRange(low[0], opt[0], high[0]), ShapeRange(low[1], opt[1], high[1])


@dataclass(frozen=True)
class GraphInput:
    """A graph input: name and dims (int = static, str = symbolic)."""

    name: str
    dims: tuple[int | str, ...]


def graph_inputs(model: onnx.ModelProto) -> list[GraphInput]:
    """The real inputs of a graph (initializers excluded), dims as int or symbol name ("?" when unnamed)."""
    initializers = {t.name for t in model.graph.initializer}
    found = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value.type.tensor_type.shape.dim
        )
        found.append(GraphInput(value.name, dims))
    return found


@dataclass(frozen=True)
class EngineProfile:
    """One optimisation profile: batch, height, width ranges applied to every (B, C, H, W) input."""

    batch: ShapeRange
    height: ShapeRange
    width: ShapeRange

    def shapes(
        self, inputs: Sequence[GraphInput]
    ) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """input name -> (min shape, opt shape, max shape)."""
        result = {}
        for item in inputs:
            channels = item.dims[1]
            result[item.name] = tuple(
                (getattr(self.batch, k), channels, getattr(self.height, k), getattr(self.width, k))
                for k in ("min", "opt", "max")
            )
        return result

    def to_dict(self) -> dict:
        return {
            axis: [r.min, r.opt, r.max]
            for axis, r in (("batch", self.batch), ("height", self.height), ("width", self.width))
        }

    @classmethod
    def from_dict(cls, document: dict) -> EngineProfile:
        try:
            return cls(*(ShapeRange(*document[axis]) for axis in ("batch", "height", "width")))
        except (KeyError, TypeError) as error:
            raise ProfileError(
                f"profile: got {document!r}, expected batch/height/width as [min, opt, max] "
                f"({error})"
            ) from None


def _check_inputs(inputs: Sequence[GraphInput]) -> None:
    if len(inputs) != 2 or any(len(i.dims) != 4 for i in inputs):
        shown = [(i.name, list(i.dims)) for i in inputs]
        raise ProfileError(
            f"graph inputs: got {shown}, expected two 4-D inputs hsi (B, bands, H, W) and x (B, C, H, W)"
        )
    for item in inputs:
        if not isinstance(item.dims[1], int):
            raise ProfileError(
                f"input {item.name}: got channel axis {item.dims[1]!r}, expected a fixed channel count"
            )


def _static(inputs: Sequence[GraphInput], axis: int) -> int | None:
    values = {i.dims[axis] for i in inputs if isinstance(i.dims[axis], int)}
    if len(values) > 1:
        raise ProfileError(
            f"graph inputs: got different static sizes {sorted(values)} on axis {axis}, expected one"
        )
    return values.pop() if values else None


def _resolve(
    name: str, given: ShapeRange | None, static: int | None, fallback: ShapeRange
) -> ShapeRange:
    if static is not None:
        if given is not None and given != ShapeRange.fixed(static):
            raise ProfileError(
                f"--{name}: got {given}, but the graph fixes {name} at {static}; "
                "re-export with --dynamic or leave the option out"
            )
        return ShapeRange.fixed(static)
    return given if given is not None else fallback


def plan_profile(
    inputs: Sequence[GraphInput],
    record: ModelRecord,
    *,
    default_batch: int,
    default_tile: int,
    batch: ShapeRange | None = None,
    height: ShapeRange | None = None,
    width: ShapeRange | None = None,
) -> EngineProfile:
    """The profile for a CoMiX graph (see the module doc for the order of sources)."""
    _check_inputs(inputs)
    tile = record.training_tile if len(record.training_tile) == 2 else [default_tile, default_tile]
    return EngineProfile(
        batch=_resolve(
            "batch", batch, _static(inputs, 0), ShapeRange(1, default_batch, default_batch)
        ),
        height=_resolve("height", height, _static(inputs, 2), ShapeRange.fixed(int(tile[0]))),
        width=_resolve("width", width, _static(inputs, 3), ShapeRange.fixed(int(tile[1]))),
    )
