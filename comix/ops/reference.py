"""Slow float64 loop reference of modulated deformable convolution (2-D and 3-D).

Written independently of the vectorised op, straight from the ONNX ``DeformConv`` definition: explicit
loops over batch, offset group, kernel point and output position, with a scalar interpolation that
checks each grid corner. Every backend (PyTorch, ONNX Runtime op, CUDA, TensorRT) is tested against it.
Use only on small tensors.

Non-finite inputs follow the rule of :mod:`comix.ops.spec`: a corner outside the input is skipped (never
read, contributes exactly 0); a corner inside is read and multiplied by its weight in IEEE arithmetic, so
a NaN/Inf corner makes the sample NaN/Inf even when its weight (or the mask) is 0. Offsets and mask are
assumed finite.
"""

from __future__ import annotations

import itertools

import numpy as np

from comix.ops.geometry import DeformConvGeometry


def _interpolate(plane: np.ndarray, point: tuple[float, ...]) -> np.ndarray:
    """Multilinear sample of ``plane`` (C, *S) at a real-valued point; zero for corners outside."""
    size = plane.shape[1:]
    floor = [int(np.floor(p)) for p in point]
    value = np.zeros(plane.shape[0], dtype=np.float64)
    for corner in itertools.product((0, 1), repeat=len(size)):
        idx = [f + c for f, c in zip(floor, corner)]
        if any(i < 0 or i >= s for i, s in zip(idx, size)):
            continue
        w = 1.0
        for p, f, c in zip(point, floor, corner):
            frac = p - f
            w *= frac if c else 1.0 - frac
        value += w * plane[(slice(None), *idx)]
    return value


def deform_conv_reference(
    input,
    offset,
    weight,
    bias,
    mask,
    geometry: DeformConvGeometry,
) -> np.ndarray:
    """Reference output (N, O, *oS) in float64. Accepts torch tensors or numpy arrays (copied to float64)."""
    x = np.asarray(_as_numpy(input), dtype=np.float64)
    off = np.asarray(_as_numpy(offset), dtype=np.float64)
    w = np.asarray(_as_numpy(weight), dtype=np.float64)
    b = None if bias is None else np.asarray(_as_numpy(bias), dtype=np.float64)
    m = None if mask is None else np.asarray(_as_numpy(mask), dtype=np.float64)

    out_size = geometry.output_size(x.shape[2:])
    y = np.zeros((x.shape[0], w.shape[0], *out_size), dtype=np.float64)
    with np.errstate(
        invalid="ignore", over="ignore"
    ):  # Inf - Inf and 0 * Inf are NaN by the rule above
        _accumulate(y, x, off, w, b, m, geometry)
    return y


def _accumulate(y, x, off, w, b, m, geometry: DeformConvGeometry) -> None:
    """Fill y (N, O, *oS) in place; the loops of :func:`deform_conv_reference`."""
    nd = geometry.ndim
    batch, channels = x.shape[:2]
    out_channels = w.shape[0]
    out_size = y.shape[2:]
    kernel_points = list(itertools.product(*[range(k) for k in geometry.kernel]))
    in_per_group = channels // geometry.group
    out_per_group = out_channels // geometry.group
    in_per_offset_group = channels // geometry.offset_group
    for n in range(batch):
        for out_pos in itertools.product(*[range(o) for o in out_size]):
            # columns[c, k] = mask * sample for every input channel c and kernel point k
            columns = np.zeros((channels, len(kernel_points)), dtype=np.float64)
            for g in range(geometry.offset_group):
                channel_slice = slice(g * in_per_offset_group, (g + 1) * in_per_offset_group)
                for k, tap in enumerate(kernel_points):
                    base = g * len(kernel_points) + k
                    point = tuple(
                        out_pos[a] * geometry.stride[a]
                        - geometry.pad_begin[a]
                        + tap[a] * geometry.dilation[a]
                        + off[(n, base * nd + a, *out_pos)]
                        for a in range(nd)
                    )
                    modulation = 1.0 if m is None else m[(n, base, *out_pos)]
                    columns[channel_slice, k] = modulation * _interpolate(
                        x[n, channel_slice], point
                    )
            for grp in range(geometry.group):
                outputs = slice(grp * out_per_group, (grp + 1) * out_per_group)
                cols = columns[grp * in_per_group : (grp + 1) * in_per_group].reshape(-1)
                taps = w[outputs].reshape(
                    out_per_group, -1
                )  # (O/group, C/group * K), same (c, k) order
                y[(n, outputs, *out_pos)] = np.sum(taps * cols, axis=1) + (
                    0.0 if b is None else b[outputs]
                )


def _as_numpy(value):
    if hasattr(value, "detach"):
        return value.detach().cpu().double().numpy()
    return value
