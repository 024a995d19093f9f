"""Named spatial parameters of an N-D (modulated) deformable convolution.

Every DCN entry point builds one :class:`DeformConvGeometry` and reads its fields by name, so an
axis can never be swapped by a positional mix-up. Axis order is always the tensor's spatial order:
``[H, W]`` in 2-D and ``[D, H, W]`` in 3-D (D = spectral for CoMiX), exactly as ONNX ``DeformConv``
orders ``strides``, ``dilations``, ``kernel_shape`` and ``pads`` (``pads`` = all begins, then all ends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from comix.errors import BadInputError

AXIS_NAMES = {2: ("H", "W"), 3: ("D", "H", "W")}


def _expand(name: str, value: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """Broadcast an int to ``ndim`` axes, or check a sequence has exactly ``ndim`` ints."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: got a bool, expected an int or {ndim} ints")
    if isinstance(value, int):
        return (value,) * ndim
    values = tuple(value)
    if len(values) != ndim or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise BadInputError(
            f"{name}: got {value!r}, expected an int or {ndim} ints in {AXIS_NAMES[ndim]} order"
        )
    return values


def _expand_pads(value: int | Sequence[int], ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Padding as (begins, ends): an int, ``ndim`` symmetric ints, or ONNX ``2*ndim`` begins-then-ends."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * ndim, (value,) * ndim
    values = tuple(value)
    if len(values) == ndim:
        return _expand("padding", values, ndim), _expand("padding", values, ndim)
    if len(values) == 2 * ndim:
        return _expand("padding", values[:ndim], ndim), _expand("padding", values[ndim:], ndim)
    raise BadInputError(
        f"padding: got {value!r}, expected an int, {ndim} ints (symmetric) or {2 * ndim} ints "
        f"(ONNX pads: begins then ends, {AXIS_NAMES[ndim]} order)"
    )


@dataclass(frozen=True)
class DeformConvGeometry:
    """Kernel size, stride, padding and dilation per spatial axis, plus channel grouping.

    Attributes are tuples in spatial axis order (``[H, W]`` or ``[D, H, W]``).
    ``group`` splits input and output channels as in a grouped convolution; ``offset_group`` splits
    input channels into sets that share one offset (and mask) field.
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pad_begin: tuple[int, ...]
    pad_end: tuple[int, ...]
    dilation: tuple[int, ...]
    group: int = 1
    offset_group: int = 1

    @classmethod
    def build(
        cls,
        ndim: int,
        kernel: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        group: int = 1,
        offset_group: int = 1,
    ) -> DeformConvGeometry:
        """Build and validate; ints broadcast over axes, ``padding`` may be ONNX-style begins+ends."""
        if ndim not in AXIS_NAMES:
            raise BadInputError(f"ndim: got {ndim}, expected 2 or 3")
        pad_begin, pad_end = _expand_pads(padding, ndim)
        geometry = cls(
            kernel=_expand("kernel", kernel, ndim),
            stride=_expand("stride", stride, ndim),
            pad_begin=pad_begin,
            pad_end=pad_end,
            dilation=_expand("dilation", dilation, ndim),
            group=group,
            offset_group=offset_group,
        )
        geometry.validate()
        return geometry

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def kernel_points(self) -> int:
        """K = number of kernel points (product of the kernel sizes)."""
        points = 1
        for k in self.kernel:
            points *= k
        return points

    @property
    def onnx_pads(self) -> list[int]:
        """Pads in ONNX order: all begins, then all ends."""
        return [*self.pad_begin, *self.pad_end]

    def validate(self) -> None:
        names = AXIS_NAMES[self.ndim]
        for field, minimum in (
            ("kernel", 1),
            ("stride", 1),
            ("dilation", 1),
            ("pad_begin", 0),
            ("pad_end", 0),
        ):
            values = getattr(self, field)
            if len(values) != self.ndim:
                raise BadInputError(
                    f"{field}: got {len(values)} values, expected {self.ndim} ({names})"
                )
            for axis, value in zip(names, values):
                if value < minimum:
                    raise BadInputError(f"{field}[{axis}]: got {value}, expected >= {minimum}")
        if self.group < 1 or self.offset_group < 1:
            raise BadInputError(
                f"group/offset_group: got {self.group}/{self.offset_group}, expected >= 1"
            )

    def output_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        """Spatial output size, as for a convolution: floor((in + pads - dil*(k-1) - 1) / stride) + 1."""
        if len(input_size) != self.ndim:
            raise BadInputError(
                f"input spatial size: got {tuple(input_size)}, expected {self.ndim} sizes"
            )
        out = []
        for axis, size, k, s, pb, pe, d in zip(
            AXIS_NAMES[self.ndim],
            input_size,
            self.kernel,
            self.stride,
            self.pad_begin,
            self.pad_end,
            self.dilation,
        ):
            span = d * (k - 1) + 1
            padded = size + pb + pe
            if padded < span:
                raise BadInputError(
                    f"input {axis}={size} with pads ({pb}, {pe}) is smaller than the dilated kernel "
                    f"extent {span}"
                )
            out.append((padded - span) // s + 1)
        return tuple(out)
