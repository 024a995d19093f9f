"""The one op per dimensionality: ``torch.ops.comix.deform_conv2d/3d`` — registration, autograd,
export form."""

from __future__ import annotations

import pytest
import torch

from comix.ops import DeformConv2d, DeformConv3d, DeformConvGeometry, deform_conv
from comix.ops.library import OPS, OVERLOADS
from comix.ops.portable import DECOMPOSITIONS


def _arguments(ndim: int, dtype=torch.float64):
    """Small asymmetric case (stride, dilation, kernel differ per axis; group 2, offset_group 2)."""
    geometry = DeformConvGeometry.build(
        ndim, (2, 2, 3)[-ndim:], (2, 1, 1)[-ndim:], 1, (1, 2, 1)[-ndim:], 2, 2
    )
    size = (3, 4, 5)[-ndim:]
    out = geometry.output_size(size)
    generator = torch.Generator().manual_seed(ndim)
    tensors = (
        torch.randn(1, 4, *size, dtype=dtype, generator=generator),
        torch.randn(1, 2 * geometry.kernel_points * ndim, *out, dtype=dtype, generator=generator),
        torch.randn(2, 2, *geometry.kernel, dtype=dtype, generator=generator),
        torch.randn(2, dtype=dtype, generator=generator),
        torch.rand(1, 2 * geometry.kernel_points, *out, dtype=dtype, generator=generator),
    )
    attributes = (
        list(geometry.kernel),
        list(geometry.stride),
        geometry.onnx_pads,
        list(geometry.dilation),
        2,
        2,
    )
    return geometry, tensors, attributes


@pytest.mark.parametrize("ndim", [2, 3])
def test_opcheck_schema_fake_and_autograd_registrations(ndim):
    """torch's own consistency checks: schema, fake (meta) kernel, autograd registration, AOT dispatch."""
    _, tensors, attributes = _arguments(ndim)
    tensors = tuple(t.requires_grad_(True) for t in tensors)
    torch.library.opcheck(OPS[ndim], (*tensors, *attributes))
    torch.library.opcheck(OPS[ndim], (tensors[0], tensors[1], tensors[2], None, None, *attributes))


@pytest.mark.parametrize("ndim", [2, 3])
def test_gradcheck_through_the_op_with_optional_inputs_absent(ndim):
    _, (x, offset, weight, _, _), attributes = _arguments(ndim)
    inputs = tuple(t.clone().requires_grad_(True) for t in (x, offset * 0.3, weight))
    assert torch.autograd.gradcheck(
        lambda a, b, c: OPS[ndim](a, b, c, None, None, *attributes), inputs
    )


@pytest.mark.parametrize("stride,lowered_to_2d", [(1, True), (2, False)])
def test_modules_call_the_op_and_export_keeps_one_node_per_dcn(stride, lowered_to_2d):
    """Canonical capture: one node per DCN. Portable decomposition: a size-keeping 3-D DCN becomes one more
    2-D op (comix.ops.portable), any other geometry the GridSample implementation."""
    captured = torch.export.export(
        _Pair(stride), (torch.randn(1, 2, 4, 5, 6), torch.randn(1, 3, 5, 6))
    )
    targets = [node.target for node in captured.graph.nodes if node.op == "call_function"]
    assert targets.count(OVERLOADS[3]) == 1 and targets.count(OVERLOADS[2]) == 1
    decomposed = captured.run_decompositions(DECOMPOSITIONS)
    targets = [node.target for node in decomposed.graph.nodes if node.op == "call_function"]
    grid_sampled = (
        torch.ops.aten.grid_sampler_3d.default in targets
        or torch.ops.aten.grid_sampler.default in targets
    )
    assert OVERLOADS[3] not in targets
    assert targets.count(OVERLOADS[2]) == (2 if lowered_to_2d else 1)
    assert grid_sampled != lowered_to_2d


def test_no_cuda_kernel_is_registered_without_the_extension():
    """Until comix.plugins.torch.load_extension() runs, CUDA tensors would take the default kernel."""
    for name in ("comix::deform_conv2d", "comix::deform_conv3d"):
        assert not torch._C._dispatch_has_kernel_for_dispatch_key(name, "CUDA")


def test_deform_conv_refuses_a_weight_that_disagrees_with_the_geometry():
    geometry, (x, offset, weight, bias, mask), _ = _arguments(2)
    with pytest.raises(ValueError, match=r"weight: got kernel \(3, 3\), expected \(2, 3\)"):
        deform_conv(x, offset, torch.zeros(2, 2, 3, 3, dtype=x.dtype), bias, mask, geometry)


class _Pair(torch.nn.Module):
    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.d3 = DeformConv3d(2, 2, 3, padding=1, stride=stride)
        self.d2 = DeformConv2d(3, 4, 3, padding=1)

    def forward(self, a, b):
        return self.d3(a), self.d2(b)
