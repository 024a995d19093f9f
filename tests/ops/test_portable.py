"""The --portable lowering of the 3-D DCN (comix.ops.portable): one 2-D DeformConv on the flattened volume.

Checked like every DCN implementation: against the float64 loop reference on geometries that expose index
bugs, and, exported with dynamic H x W, in ONNX Runtime at sizes other than the traced one against the
eager op.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from comix.export.exporter import TorchOnnxExporter
from comix.ops import DeformConvGeometry
from comix.ops.cases import DcnCase, Offsets, cases_for
from comix.ops.portable import deform_conv3d_portable, flattened_taps, keeps_size
from comix.ops.reference import deform_conv_reference
from comix.ops.vectorised import deform_conv_nd


def _keeps(name, size, kernel, pads, dilation=(1, 1, 1), **kwargs) -> DcnCase:
    """A stride-1 3-D case whose output keeps the input size (pads ONNX-style: all begins, then all ends)."""
    return DcnCase(name, size, kernel, (1, 1, 1), pads, dilation, **kwargs)


SIZE_KEEPING = [
    _keeps("k3_pad1", (4, 5, 6), (3, 3, 3), (1, 1, 1, 1, 1, 1), offsets=Offsets("uniform", 2.0)),
    _keeps(
        "asym_kernel_pads_groups",
        (3, 5, 4),
        (3, 1, 2),
        (1, 0, 0, 1, 0, 1),
        channels=6,
        out_channels=4,
        group=2,
        offset_group=3,
    ),
    _keeps(
        "dilated",
        (6, 5, 7),
        (3, 2, 3),
        (2, 1, 2, 2, 0, 2),
        (2, 1, 2),
        offsets=Offsets("uniform", 3.0),
    ),
    # D + 1 > 2K: the 2-D kernel needs zero taps so its pads stay >= 0
    _keeps(
        "deep_spectrum",
        (40, 3, 4),
        (1, 3, 3),
        (0, 1, 1, 0, 1, 1),
        channels=2,
        out_channels=2,
        batch=1,
    ),
    _keeps(
        "offsets_far_outside",
        (4, 4, 4),
        (3, 3, 3),
        (1, 1, 1, 1, 1, 1),
        channels=3,
        out_channels=2,
        batch=1,
        offsets=Offsets("far", 25.0),
    ),
    _keeps(
        "offsets_around_the_border",
        (3, 4, 5),
        (3, 3, 3),
        (1, 1, 1, 1, 1, 1),
        channels=3,
        out_channels=2,
        offsets=Offsets("border"),
    ),
    _keeps("empty_batch", (4, 4, 4), (3, 3, 3), (1, 1, 1, 1, 1, 1), batch=0),
]
# The shared 3-D grid, but its NaN/Inf cases: the portable graph is made of ONNX DeformConv/GridSample, whose
# non-finite behaviour is the runtime's (comix.ops.cases.EXCLUDED), not the native op's rule.
GRID_3D = [c for c in cases_for("torch", 3) if not c.non_finite]
ALL = [pytest.param(c, id=f"keeps-{c.name}") for c in SIZE_KEEPING] + [
    pytest.param(c, id=f"grid-{c.name}") for c in GRID_3D
]


def make_tensors(case: DcnCase, with_mask: bool = True, with_bias: bool = True) -> tuple:
    """(x, offset, weight, bias, mask) float64 tensors of the case; bias/mask None when left out."""
    x, offset, weight, bias, mask = case.inputs("float64").torch()
    return x, offset, weight, bias if with_bias else None, mask if with_mask else None


@pytest.mark.parametrize("case", ALL)
@pytest.mark.parametrize("with_mask,with_bias", [(True, True), (False, False)])
def test_matches_float64_reference(case: DcnCase, with_mask: bool, with_bias: bool):
    x, offset, w, bias, mask = make_tensors(case, with_mask=with_mask, with_bias=with_bias)
    got = deform_conv3d_portable(x, offset, w, bias, mask, case.geometry())
    want = deform_conv_reference(x, offset, w, bias, mask, case.geometry())
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


def test_size_keeping_geometries_take_the_2d_path():
    assert all(keeps_size(c.geometry()) for c in SIZE_KEEPING)
    assert not any(keeps_size(c.geometry()) for c in GRID_3D if c.stride != (1, 1, 1))
    assert flattened_taps(27, 8) == 54 and flattened_taps(9, 40) == 41


def test_nan_offsets_read_zero_like_the_native_op():
    """A NaN sampling position contributes 0 (the native op's rule), not NaN."""
    case = SIZE_KEEPING[0]
    x, offset, w, _, mask = make_tensors(case, with_bias=False)
    offset[0, 5, 1, 2, 3] = float("nan")
    got = deform_conv3d_portable(x, offset, w, None, mask, case.geometry())
    assert torch.isfinite(got).all()


class _Op(torch.nn.Module):
    """The portable lowering alone, 3x3x3 "same" geometry, weights as constants."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(
            torch.randn(channels, channels, 3, 3, 3, generator=generator) * 0.2
        )
        self.bias = torch.nn.Parameter(torch.randn(channels, generator=generator))
        self.geometry = DeformConvGeometry.build(3, 3, 1, 1, 1, 1, 1)

    def forward(self, x, offset, mask):
        return deform_conv3d_portable(x, offset, self.weight, self.bias, mask, self.geometry)


def test_exported_with_dynamic_height_and_width_matches_eager_in_onnxruntime():
    """Traced at 6 x 7, run at 9 x 5 and 4 x 11: sizes enter the graph as values, not as traced constants."""
    module = _Op(3).eval()
    generator = torch.Generator().manual_seed(1)

    def inputs(height, width):
        return (
            torch.randn(1, 3, 4, height, width, generator=generator),
            torch.randn(1, 81, 4, height, width, generator=generator) * 1.5,
            torch.rand(1, 27, 4, height, width, generator=generator),
        )

    dynamic = {i: {3: "height", 4: "width"} for i in range(3)}
    model = TorchOnnxExporter(["x", "offset", "mask"], ["y"], dynamic_axes=dynamic)(
        module, inputs(6, 7)
    )
    ops = {node.op_type for node in model.graph.node}
    assert "DeformConv" in ops and "GridSample" not in ops
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for height, width in ((9, 5), (4, 11)):
        x, offset, mask = inputs(height, width)
        with torch.no_grad():
            want = deform_conv_nd(
                x, offset, module.weight, module.bias, mask, module.geometry
            ).numpy()
        got = session.run(None, {"x": x.numpy(), "offset": offset.numpy(), "mask": mask.numpy()})[0]
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4
