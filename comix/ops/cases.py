"""The one grid of deformable-convolution cases that every backend test and the GPU benchmark use.

A :class:`DcnCase` names everything a DCN call depends on (sizes, kernel, stride, ONNX pads, dilation,
channels, groups, offset groups, batch, which optional inputs are given, how offsets are drawn, whether the
input holds non-finite values) and makes its seeded tensors and its geometry. :data:`CASES_2D` and
:data:`CASES_3D` are the adversarial grid: each case says in ``exposes`` which bug it is there to catch.
Every backend (the PyTorch op, the ONNX Runtime op, the CUDA kernels in host emulation and on a GPU) runs
the grid against the float64 loop reference (:func:`reference_output`, cached per case and dtype) with the
tolerances of :mod:`comix.ops.tolerance`; a backend that cannot take a case names it in :data:`EXCLUDED`
with the reason (:func:`cases_for`). The ``shift_*`` cases move every sample by +1 along exactly one axis;
:func:`shifted_convolution` gives their expected output from a plain convolution of the shifted input,
independent of the reference, which pins the axis order of the offsets. :data:`BENCH_CASES` are
larger CoMiX-like shapes (``tools/bench_gpu_dcn.py`` reads its shapes from the models themselves).

Axis order is the tensor's: ``[H, W]`` in 2-D, ``[D, H, W]`` in 3-D; ``pads`` = all begins, then all ends.
Keep grid cases small: the reference is a Python loop.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from comix.errors import BadInputError
from comix.ops.geometry import AXIS_NAMES, DeformConvGeometry
from comix.ops.reference import deform_conv_reference

OFFSET_KINDS = ("uniform", "far", "integer", "border", "shift")
DTYPES = ("float64", "float32", "float16")


@dataclass(frozen=True)
class Offsets:
    """How a case draws its offsets (seeded; every value exactly representable in float16 except ``uniform``
    and ``far``, whose float16 rounding the reference sees too).

    kind: ``uniform`` U(-scale, scale); ``far`` ±U(scale, scale + 4), every sample far outside;
    ``integer`` whole numbers in [-scale, scale] (interpolation weights exactly 0 and 1); ``border``
    sampling positions exactly on -1, -0.5, 0, 0.5, size-1.5, size-1, size-0.5 or size along each axis;
    ``shift`` exactly ``scale`` (a whole number) along ``axis`` and 0 along the others.
    """

    kind: str = "uniform"
    scale: float = 1.5
    axis: int = 0

    def __post_init__(self) -> None:
        if self.kind not in OFFSET_KINDS:
            raise BadInputError(f"offsets kind: got {self.kind!r}, expected one of {OFFSET_KINDS}")
        if self.kind in ("integer", "shift") and self.scale != int(self.scale):
            raise BadInputError(
                f"offsets scale for {self.kind!r}: got {self.scale}, expected a whole number"
            )


@dataclass(frozen=True)
class DcnInputs:
    """Tensors of one case as numpy arrays of one dtype; ``bias``/``mask`` are None when absent.

    input (N, C, *S); offset (N, OG*K*nd, *oS); weight (O, C/group, *kernel); bias (O,); mask (N, OG*K, *oS).
    """

    input: np.ndarray
    offset: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    mask: np.ndarray | None

    def arrays(self) -> tuple:
        """(input, offset, weight, bias, mask): the op's argument order."""
        return self.input, self.offset, self.weight, self.bias, self.mask

    def torch(self, device="cpu", dtype=None) -> tuple:
        """The same five as torch tensors on ``device`` (optionally cast), None kept."""
        import torch

        return tuple(
            None
            if a is None
            else torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=dtype)
            for a in self.arrays()
        )


@dataclass(frozen=True)
class DcnCase:
    """One point of the grid. Tuples in spatial axis order; ``pads`` ONNX-style (all begins, then all
    ends)."""

    name: str
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[int, ...]
    dilation: tuple[int, ...]
    channels: int = 4
    out_channels: int = 4
    group: int = 1
    offset_group: int = 1
    batch: int = 2
    bias: bool = True
    mask: bool = True
    offsets: Offsets = field(default_factory=Offsets)
    non_finite: bool = False
    exposes: str = ""

    def __post_init__(self) -> None:
        nd = len(self.size)
        if nd not in AXIS_NAMES:
            raise BadInputError(f"{self.name}: size {self.size}: got {nd} axes, expected 2 or 3")
        for label, values, length in (
            ("kernel", self.kernel, nd),
            ("stride", self.stride, nd),
            ("pads", self.pads, 2 * nd),
            ("dilation", self.dilation, nd),
        ):
            if len(values) != length:
                raise BadInputError(
                    f"{self.name}: {label}: got {len(values)} values, expected {length}"
                )
        if (
            self.channels % self.group
            or self.out_channels % self.group
            or self.channels % self.offset_group
        ):
            raise BadInputError(
                f"{self.name}: channels C={self.channels}, O={self.out_channels}: expected C and O "
                f"multiples of group {self.group} and C a multiple of offset_group {self.offset_group}"
            )
        if self.offsets.kind == "shift" and not 0 <= self.offsets.axis < nd:
            raise BadInputError(
                f"{self.name}: shift axis: got {self.offsets.axis}, expected 0..{nd - 1}"
            )
        self.geometry().output_size(self.size)  # the kernel must fit the padded input

    @property
    def ndim(self) -> int:
        return len(self.size)

    @property
    def id(self) -> str:
        """Unique test id, ``<nd>d-<name>``."""
        return f"{self.ndim}d-{self.name}"

    def geometry(self) -> DeformConvGeometry:
        return DeformConvGeometry.build(
            self.ndim,
            self.kernel,
            self.stride,
            list(self.pads),
            self.dilation,
            self.group,
            self.offset_group,
        )

    def output_size(self) -> tuple[int, ...]:
        return self.geometry().output_size(self.size)

    def inputs(self, dtype: str = "float32", seed: int = 0) -> DcnInputs:
        """Seeded tensors (drawn in float64, then cast to ``dtype``): x ~ N(0, 1), weight ~ N(0, 1/fan_in),
        bias ~ N(0, 1), mask ~ U(0, 1), offsets as ``offsets`` says. ``non_finite`` cases get NaN/±Inf pixels
        (:func:`_plant_non_finite`) and a mask that is exactly 0 at one point in four (0 * NaN is NaN)."""
        if dtype not in DTYPES:
            raise BadInputError(f"dtype: got {dtype!r}, expected one of {DTYPES}")
        rng = np.random.default_rng([seed, zlib.crc32(self.id.encode())])
        geometry = self.geometry()
        out = geometry.output_size(self.size)
        points = geometry.kernel_points
        fan_in = self.channels // self.group * points
        x = rng.standard_normal((self.batch, self.channels, *self.size))
        weight = rng.standard_normal(
            (self.out_channels, self.channels // self.group, *self.kernel)
        ) / math.sqrt(fan_in)
        offset = self._offsets(rng, geometry, out)
        bias = rng.standard_normal(self.out_channels) if self.bias else None
        mask = rng.random((self.batch, self.offset_group * points, *out)) if self.mask else None
        if self.non_finite:
            _plant_non_finite(x)
            if mask is not None:
                mask[rng.random(mask.shape) < 0.25] = 0.0
        cast = np.dtype(dtype)
        return DcnInputs(
            *(None if a is None else a.astype(cast) for a in (x, offset, weight, bias, mask))
        )

    def _offsets(
        self, rng: np.random.Generator, geometry: DeformConvGeometry, out: tuple[int, ...]
    ) -> np.ndarray:
        """(N, OG*K*nd, *oS) offsets; channel = (g*K + k)*nd + axis."""
        nd, points, spec = self.ndim, geometry.kernel_points, self.offsets
        shape = (self.batch, self.offset_group, points, nd, *out)
        if spec.kind == "uniform":
            values = rng.uniform(-spec.scale, spec.scale, shape)
        elif spec.kind == "far":
            values = rng.choice([-1.0, 1.0], shape) * rng.uniform(spec.scale, spec.scale + 4, shape)
        elif spec.kind == "integer":
            values = rng.integers(-int(spec.scale), int(spec.scale), shape, endpoint=True).astype(
                np.float64
            )
        elif spec.kind == "shift":
            values = np.zeros(shape)
            values[:, :, :, spec.axis] = spec.scale
        else:  # border: offset = chosen position - undeformed position
            values = np.empty(shape)
            base = _base_positions(geometry, out)
            for axis, size in enumerate(self.size):
                targets = np.array(
                    [-1.0, -0.5, 0.0, 0.5, size - 1.5, size - 1.0, size - 0.5, float(size)]
                )
                chosen = rng.choice(targets, (self.batch, self.offset_group, points, *out))
                values[:, :, :, axis] = chosen - base[axis]
        return values.reshape(self.batch, self.offset_group * points * nd, *out)


def _base_positions(geometry: DeformConvGeometry, out: tuple[int, ...]) -> list[np.ndarray]:
    """Per axis, the undeformed position ``o*stride - pad_begin + k*dilation`` as an array (K, *oS)."""
    taps = np.array(np.meshgrid(*[np.arange(k) for k in geometry.kernel], indexing="ij")).reshape(
        geometry.ndim, -1
    )
    grids = np.meshgrid(*[np.arange(o) for o in out], indexing="ij")
    return [
        grids[a][None] * geometry.stride[a]
        - geometry.pad_begin[a]
        + (taps[a] * geometry.dilation[a]).reshape(-1, *([1] * geometry.ndim))
        for a in range(geometry.ndim)
    ]


def _plant_non_finite(x: np.ndarray) -> None:
    """NaN at pixel 0 of channel 0, +Inf at pixel 0 of the last channel, -Inf at the centre of channel 1,
    in even batch items; odd items stay finite (a host may decide per item whether to guard)."""
    corner = (0,) * (x.ndim - 2)
    centre = tuple(s // 2 for s in x.shape[2:])
    for n in range(0, x.shape[0], 2):
        x[(n, 0, *corner)] = np.nan
        x[(n, x.shape[1] - 1, *corner)] = np.inf
        if x.shape[1] > 2:
            x[(n, 1, *centre)] = -np.inf


def _case(name: str, size, kernel, stride, pads, dilation, **kwargs) -> DcnCase:
    return DcnCase(
        name, tuple(size), tuple(kernel), tuple(stride), tuple(pads), tuple(dilation), **kwargs
    )


CASES_2D: tuple[DcnCase, ...] = (
    _case(
        "asym_stride_pad_dil",
        (7, 9),
        (3, 2),
        (2, 1),
        (1, 0, 0, 2),
        (2, 1),
        channels=6,
        group=2,
        offset_group=3,
        batch=3,
        offsets=Offsets("uniform", 2.0),
        exposes="H/W swaps of kernel, stride, pads (begin != end), dilation; group and offset-group channel "
        "ranges that interleave; batch > 1",
    ),
    _case(
        "odd_plain_1x3",
        (5, 6),
        (1, 3),
        (1, 2),
        (0, 1, 2, 0),
        (1, 1),
        channels=3,
        out_channels=5,
        batch=1,
        bias=False,
        mask=False,
        offsets=Offsets("uniform", 0.7),
        exposes="odd sizes, a 1-wide kernel axis, no bias and no mask",
    ),
    _case(
        "groups_cross_offset_groups",
        (5, 5),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=6,
        out_channels=9,
        group=3,
        offset_group=2,
        bias=False,
        exposes="3 groups against 2 offset groups (channel ranges cross), mask without bias",
    ),
    _case(
        "many_channels",
        (17, 19),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=33,
        out_channels=65,
        offset_group=3,
        batch=1,
        mask=False,
        offsets=Offsets("uniform", 1.0),
        exposes="C and O not multiples of 4/8/64 (vector tails, ragged GEMM tiles), several CPU column "
        "blocks with a ragged tail, bias without mask",
    ),
    _case(
        "partly_outside",
        (4, 6),
        (3, 1),
        (2, 1),
        (1, 0, 1, 0),
        (1, 1),
        channels=5,
        out_channels=3,
        batch=2,
        offsets=Offsets("uniform", 6.0),
        exposes="samples with some corners outside the input",
    ),
    _case(
        "far_outside",
        (5, 5),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=3,
        out_channels=2,
        batch=1,
        offsets=Offsets("far", 25.0),
        exposes="every sample far outside: output = bias only",
    ),
    _case(
        "integer_offsets",
        (6, 7),
        (3, 3),
        (1, 1),
        (1, 2, 2, 1),
        (1, 2),
        channels=4,
        out_channels=3,
        offset_group=2,
        offsets=Offsets("integer", 3.0),
        exposes="offsets that are whole numbers: fractions exactly 0, floor at integers",
    ),
    _case(
        "on_border",
        (4, 6),
        (2, 3),
        (2, 1),
        (1, 0, 0, 1),
        (1, 1),
        channels=3,
        out_channels=4,
        offset_group=3,
        offsets=Offsets("border"),
        exposes="sampling positions exactly on -1, -0.5, 0, size-1, size-0.5, size (the in/out decision)",
    ),
    _case(
        "non_finite",
        (6, 7),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=4,
        out_channels=4,
        group=2,
        offset_group=2,
        batch=3,
        non_finite=True,
        exposes="NaN/Inf at pixel (0,0) and -Inf inside: corners outside the input must not read pixel 0 "
        "(0 * NaN), in-bounds non-finite corners propagate",
    ),
    _case(
        "non_finite_integer",
        (6, 7),
        (3, 3),
        (1, 2),
        (1, 1, 0, 1),
        (2, 1),
        channels=4,
        out_channels=4,
        group=2,
        offset_group=2,
        batch=3,
        non_finite=True,
        offsets=Offsets("integer", 2.0),
        exposes="whole-number positions next to NaN/Inf pixels: an inside corner with weight exactly 0 is "
        "still read (0 * NaN = NaN), an outside one never",
    ),
    _case(
        "empty_batch",
        (5, 5),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        offset_group=2,
        batch=0,
        exposes="batch 0: empty output, no launch",
    ),
    _case(
        "batch33",
        (4, 5),
        (2, 2),
        (1, 1),
        (0, 0, 0, 0),
        (1, 1),
        channels=2,
        out_channels=2,
        batch=33,
        mask=False,
        exposes="a large batch (GPU chunking of samples, per-sample offsets)",
    ),
    _case(
        "shift_h",
        (5, 7),
        (3, 2),
        (2, 1),
        (1, 0, 0, 1),
        (1, 2),
        channels=3,
        out_channels=2,
        mask=False,
        offsets=Offsets("shift", 1.0, axis=0),
        exposes="dh = +1 everywhere: pins the (dh, dw) order",
    ),
    _case(
        "shift_w",
        (5, 7),
        (3, 2),
        (2, 1),
        (1, 0, 0, 1),
        (1, 2),
        channels=3,
        out_channels=2,
        mask=False,
        offsets=Offsets("shift", 1.0, axis=1),
        exposes="dw = +1 everywhere: pins the (dh, dw) order",
    ),
)

_SHIFT_3D = {
    "size": (4, 5, 6),
    "kernel": (2, 1, 3),
    "stride": (1, 2, 1),
    "pads": (1, 0, 1, 0, 1, 1),
    "dilation": (1, 1, 2),
}
CASES_3D: tuple[DcnCase, ...] = (
    _case(
        "asym_stride_pad_dil",
        (5, 6, 7),
        (3, 1, 2),
        (2, 1, 1),
        (1, 0, 2, 1, 2, 1),
        (2, 1, 1),
        channels=6,
        group=2,
        offset_group=3,
        batch=2,
        offsets=Offsets("uniform", 2.0),
        exposes="D/H/W swaps of kernel, stride, pads (begin != end), dilation; interleaved channel ranges",
    ),
    _case(
        "odd_plain",
        (3, 5, 7),
        (1, 3, 2),
        (1, 2, 1),
        (0, 1, 0, 0, 0, 1),
        (1, 1, 2),
        channels=3,
        out_channels=2,
        batch=1,
        bias=False,
        mask=False,
        offsets=Offsets("uniform", 0.6),
        exposes="odd sizes, a 1-deep kernel, no bias and no mask",
    ),
    _case(
        "groups_cross_offset_groups",
        (3, 5, 4),
        (1, 3, 3),
        (1, 1, 1),
        (0, 1, 1, 0, 1, 1),
        (1, 1, 1),
        channels=6,
        out_channels=6,
        group=3,
        offset_group=2,
        batch=1,
        bias=False,
        exposes="3 groups against 2 offset groups, mask without bias",
    ),
    _case(
        "og4_o70",
        (4, 3, 5),
        (2, 2, 2),
        (1, 1, 2),
        (1, 0, 1, 0, 1, 1),
        (2, 1, 1),
        channels=4,
        out_channels=70,
        offset_group=4,
        batch=3,
        bias=False,
        offsets=Offsets("uniform", 1.2),
        exposes="one channel per offset group, O = 70 (two GEMM row tiles, ragged)",
    ),
    _case(
        "many_blocks",
        (5, 7, 9),
        (3, 1, 3),
        (1, 1, 1),
        (1, 0, 1, 1, 0, 1),
        (1, 1, 1),
        channels=40,
        out_channels=12,
        group=4,
        offset_group=2,
        batch=1,
        offsets=Offsets("uniform", 1.0),
        exposes="several CPU column blocks with a ragged tail; groups of 10 channels (not a multiple of 8)",
    ),
    _case(
        "partly_outside",
        (3, 4, 5),
        (2, 2, 2),
        (1, 1, 1),
        (1, 1, 1, 1, 1, 1),
        (1, 1, 1),
        channels=5,
        out_channels=2,
        offsets=Offsets("uniform", 4.0),
        exposes="samples with some corners outside the input",
    ),
    _case(
        "far_outside",
        (4, 4, 4),
        (3, 3, 3),
        (1, 1, 1),
        (1, 1, 1, 1, 1, 1),
        (1, 1, 1),
        channels=3,
        out_channels=2,
        batch=1,
        offsets=Offsets("far", 25.0),
        exposes="every sample far outside: bias only",
    ),
    _case(
        "integer_offsets",
        (4, 5, 6),
        (2, 3, 2),
        (1, 2, 1),
        (1, 0, 2, 0, 1, 0),
        (1, 1, 2),
        channels=4,
        out_channels=3,
        offset_group=2,
        offsets=Offsets("integer", 2.0),
        exposes="offsets that are whole numbers: fractions exactly 0, floor at integers",
    ),
    _case(
        "on_border",
        (3, 4, 5),
        (2, 2, 2),
        (1, 1, 1),
        (1, 0, 1, 0, 1, 1),
        (1, 1, 1),
        channels=3,
        out_channels=4,
        offset_group=3,
        offsets=Offsets("border"),
        exposes="sampling positions exactly on -1, -0.5, 0, size-1, size-0.5, size along D, H and W",
    ),
    _case(
        "non_finite",
        (4, 5, 6),
        (2, 2, 3),
        (1, 1, 1),
        (1, 1, 1, 0, 1, 1),
        (1, 1, 1),
        channels=4,
        out_channels=4,
        group=2,
        offset_group=2,
        batch=3,
        non_finite=True,
        exposes="NaN/Inf at voxel (0,0,0) and -Inf inside: corners outside must not read voxel 0",
    ),
    _case(
        "non_finite_integer",
        (4, 5, 6),
        (2, 2, 3),
        (1, 1, 1),
        (1, 1, 1, 0, 1, 1),
        (1, 1, 1),
        channels=4,
        out_channels=4,
        group=2,
        offset_group=2,
        batch=3,
        non_finite=True,
        offsets=Offsets("integer", 2.0),
        exposes="whole-number positions next to NaN/Inf voxels: inside corners with weight 0 are still read",
    ),
    _case(
        "empty_batch",
        (4, 4, 4),
        (3, 3, 3),
        (1, 1, 1),
        (1, 1, 1, 1, 1, 1),
        (1, 1, 1),
        batch=0,
        exposes="batch 0: empty output, no launch",
    ),
    _case(
        "shift_d",
        **_SHIFT_3D,
        channels=3,
        out_channels=2,
        mask=False,
        offsets=Offsets("shift", 1.0, axis=0),
        exposes="dd = +1 everywhere: pins the (dd, dh, dw) order",
    ),
    _case(
        "shift_h",
        **_SHIFT_3D,
        channels=3,
        out_channels=2,
        mask=False,
        offsets=Offsets("shift", 1.0, axis=1),
        exposes="dh = +1 everywhere: pins the (dd, dh, dw) order",
    ),
    _case(
        "shift_w",
        **_SHIFT_3D,
        channels=3,
        out_channels=2,
        mask=False,
        offsets=Offsets("shift", 1.0, axis=2),
        exposes="dw = +1 everywhere: pins the (dd, dh, dw) order",
    ),
)

CASES: tuple[DcnCase, ...] = CASES_2D + CASES_3D
SHIFT_CASES: tuple[DcnCase, ...] = tuple(c for c in CASES if c.offsets.kind == "shift")

# Tiny cases for torch.autograd.gradcheck (cost grows with every input element).
GRADCHECK_CASES: tuple[DcnCase, ...] = (
    _case(
        "gradcheck",
        (5, 4),
        (3, 2),
        (2, 1),
        (1, 0, 1, 0),
        (2, 1),
        channels=4,
        out_channels=2,
        group=2,
        offset_group=2,
        batch=2,
        offsets=Offsets("uniform", 1.0),
        exposes="gradients of all five inputs",
    ),
    _case(
        "gradcheck",
        (4, 3, 4),
        (2, 1, 2),
        (2, 1, 1),
        (1, 0, 0, 1, 0, 0),
        (1, 1, 2),
        channels=2,
        out_channels=2,
        offset_group=2,
        batch=1,
        offsets=Offsets("uniform", 1.0),
        exposes="gradients of all five inputs",
    ),
)

# Larger CoMiX-like X-branch (2-D) and HSI-branch (3-D) sizes, stride 1, "same" pads.
BENCH_CASES: tuple[DcnCase, ...] = (
    _case(
        "64x64_c64",
        (64, 64),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=64,
        out_channels=64,
        batch=1,
        offsets=Offsets("uniform", 1.0),
    ),
    _case(
        "128x128_c64_b4_og4",
        (128, 128),
        (3, 3),
        (1, 1),
        (1, 1, 1, 1),
        (1, 1),
        channels=64,
        out_channels=64,
        offset_group=4,
        batch=4,
        offsets=Offsets("uniform", 1.0),
    ),
    _case(
        "32^3_c32",
        (32, 32, 32),
        (3, 3, 3),
        (1, 1, 1),
        (1,) * 6,
        (1, 1, 1),
        channels=32,
        out_channels=32,
        batch=1,
        offsets=Offsets("uniform", 1.0),
    ),
    _case(
        "hsi_60x64x64_c16",
        (60, 64, 64),
        (3, 3, 3),
        (1, 1, 1),
        (1,) * 6,
        (1, 1, 1),
        channels=16,
        out_channels=16,
        batch=1,
        offsets=Offsets("uniform", 1.0),
    ),
)

# Backends that run the grid, and the cases each cannot take, with the reason.
BACKENDS = ("torch", "ort", "ort-builtin", "cuda-emulation", "gpu", "onnx-lowering", "openvino")
_GRID_SAMPLE_ULP = (
    "the vectorised op samples through grid_sample's normalised grid, which moves a whole-number "
    "position by an ulp, so next to a NaN/Inf pixel it reads the other neighbour with weight ~0 "
    "(a number where the rule gives NaN, or the reverse); finite inputs are unaffected"
)
_ORT_BUILT_IN_NON_FINITE = (
    "ONNX Runtime's built-in DeformConv (1.31, CPU) does not follow the non-finite rule: "
    "with NaN/Inf in the input it also turns samples whose corners are outside the input into "
    "NaN (2d-non_finite: 325 NaN outputs where the rule gives 82); it is only a second "
    "opinion on finite semantics"
)
_OPENVINO_NON_FINITE = (
    "OpenVINO's DeformableConvolution (2026.4, CPU) does not follow the non-finite rule: an inside NaN/Inf "
    "corner whose interpolation weight is 0 does not reach the sample (2d-non_finite: 52 NaN outputs where "
    "the rule gives 82); finite inputs are unaffected"
)
_LOWERED_3D_ONLY_SAME = (
    "the graph-level lowering of the 3-D op (comix.runtime.dcn3d_lowering) covers stride 1 with 'same' "
    "padding, the geometry of every CoMiX block; other geometries are refused (tested)"
)


def _keeps_size(case: DcnCase) -> bool:
    g = case.geometry()
    return all(
        s == 1 and b + e == d * (k - 1)
        for s, b, e, d, k in zip(g.stride, g.pad_begin, g.pad_end, g.dilation, g.kernel)
    )


_LOWERING_EXCLUDED = {
    c.id: _LOWERED_3D_ONLY_SAME for c in CASES if c.ndim == 3 and not _keeps_size(c)
}
EXCLUDED: Mapping[str, Mapping[str, str]] = {
    "torch": {"2d-non_finite_integer": _GRID_SAMPLE_ULP, "3d-non_finite_integer": _GRID_SAMPLE_ULP},
    "ort-builtin": {
        "2d-non_finite": _ORT_BUILT_IN_NON_FINITE,
        "2d-non_finite_integer": _ORT_BUILT_IN_NON_FINITE,
    },
    # the lowering is checked in ONNX Runtime (3-D cases only; its 2-D part is ONNX's own DeformConv)
    "onnx-lowering": {
        **_LOWERING_EXCLUDED,
        **{c.id: "2-D: nothing to lower" for c in CASES if c.ndim == 2},
    },
    "openvino": {
        "2d-non_finite": _OPENVINO_NON_FINITE,
        "2d-non_finite_integer": _OPENVINO_NON_FINITE,
        **_LOWERING_EXCLUDED,
    },
}


def cases_for(backend: str, ndim: int | None = None) -> tuple[DcnCase, ...]:
    """The grid cases ``backend`` runs (all but its :data:`EXCLUDED` ones), optionally of one
    dimensionality."""
    if backend not in BACKENDS:
        raise BadInputError(f"backend: got {backend!r}, expected one of {BACKENDS}")
    excluded = EXCLUDED.get(backend, {})
    return tuple(c for c in CASES if c.id not in excluded and (ndim is None or c.ndim == ndim))


def case_named(case_id: str) -> DcnCase:
    """A grid case by its id (``2d-asym_stride_pad_dil``)."""
    for case in CASES + GRADCHECK_CASES + BENCH_CASES:
        if case.id == case_id:
            return case
    raise KeyError(f"case id: got {case_id!r}, expected one of {[c.id for c in CASES]}")


@functools.cache
def reference_output(case: DcnCase, dtype: str = "float32", seed: int = 0) -> np.ndarray:
    """Float64 reference output of ``case.inputs(dtype, seed)`` (computed from the values as stored in
    ``dtype``, so only a backend's own error counts). Cached per (case, dtype, seed); read-only."""
    out = deform_conv_reference(*case.inputs(dtype, seed).arrays(), case.geometry())
    out.setflags(write=False)
    return out


def shifted_convolution(case: DcnCase, inputs: DcnInputs) -> np.ndarray:
    """Expected output of a ``shift`` case without the DCN reference: a plain convolution (float64) of the
    zero-padded input shifted by the whole-number offset along the case's axis, times the (constant)
    mask, plus bias. Pins which offset channel moves which axis, and the sign."""
    import torch
    import torch.nn.functional as F

    if case.offsets.kind != "shift":
        raise BadInputError(f"{case.id}: got offsets {case.offsets.kind!r}, expected 'shift'")
    if inputs.mask is not None:
        raise BadInputError(f"{case.id}: got a mask, expected a shift case without one")
    geometry, axis, shift = case.geometry(), case.offsets.axis, int(case.offsets.scale)
    x = torch.from_numpy(inputs.input.astype(np.float64))
    begins = [b + (abs(shift) if a == axis else 0) for a, b in enumerate(geometry.pad_begin)]
    ends = [e + (abs(shift) if a == axis else 0) for a, e in enumerate(geometry.pad_end)]
    pad = [
        p for b, e in zip(reversed(begins), reversed(ends)) for p in (b, e)
    ]  # F.pad: last axis first
    padded = F.pad(x, pad)
    start = abs(shift) + shift  # padded index of (pad_begin - pad_begin + shift) along the axis
    length = case.size[axis] + geometry.pad_begin[axis] + geometry.pad_end[axis]
    shifted = padded.narrow(2 + axis, start, length)
    conv = F.conv2d if case.ndim == 2 else F.conv3d
    weight = torch.from_numpy(inputs.weight.astype(np.float64))
    bias = None if inputs.bias is None else torch.from_numpy(inputs.bias.astype(np.float64))
    return conv(
        shifted, weight, bias, stride=geometry.stride, dilation=geometry.dilation, groups=case.group
    ).numpy()
