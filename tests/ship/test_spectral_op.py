"""comix::spectral_product: both lowerings against a float64 circular-convolution loop, gradients, export."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from comix.export.exporter import TorchOnnxExporter
from comix.ops.spectral import (
    SpectralProduct,
    SpectralShapeError,
    dft_bases,
    spectral_product,
    spectral_product_matrix,
)


def circular_convolution_loop(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 y[h, w] = sum_{p, q} a[p, q] b[(h - p) mod H, (w - q) mod W], per leading index."""
    height, width = a.shape[-2:]
    out = np.zeros(a.shape, dtype=np.float64)
    for p in range(height):
        for q in range(width):
            out += a[..., p : p + 1, q : q + 1] * np.roll(np.roll(b, p, axis=-2), q, axis=-1)
    return out


@pytest.mark.parametrize("height, width", [(5, 7), (6, 8), (1, 4), (9, 2)])
def test_both_lowerings_are_the_circular_convolution(height, width):
    a = torch.randn(2, 3, height, width, dtype=torch.float64)
    b = torch.randn(2, 3, height, width, dtype=torch.float64)
    want = circular_convolution_loop(a.numpy(), b.numpy())
    bases = {k: torch.from_numpy(v) for k, v in dft_bases(height, width).items()}
    np.testing.assert_allclose(spectral_product(a, b).numpy(), want, atol=1e-10)
    np.testing.assert_allclose(spectral_product_matrix(a, b, bases).numpy(), want, atol=1e-10)


def test_gradients_are_circular_correlations():
    a = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(spectral_product, (a, b))


def test_shapes_are_checked_with_got_and_expected():
    with pytest.raises(
        SpectralShapeError, match=r"got shapes \(1, 2, 4, 4\) and \(1, 2, 4, 5\), expected equal"
    ):
        spectral_product(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
    module = SpectralProduct("matrix", (8, 8))
    with pytest.raises(
        SpectralShapeError, match=r"got H x W \(8, 6\), expected the fixed tile \(8, 8\)"
    ):
        module(torch.zeros(1, 1, 8, 6), torch.zeros(1, 1, 8, 6))
    with pytest.raises(ValueError, match="needs a fixed tile"):
        SpectralProduct("matrix")


def _run(proto, a, b):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {names[0]: a.numpy(), names[1]: b.numpy()})[0]


def test_onnx_dft_graph_and_dft_free_graph_match_pytorch():
    """DFT graph (dynamic H, W) and matrix graph (fixed tile, no DFT node), FP32, relative to the
    output scale."""
    dynamic = {0: {0: "n", 2: "h", 3: "w"}, 1: {0: "n", 2: "h", 3: "w"}}
    dft = TorchOnnxExporter(["a", "b"], ["y"], opset=20, dynamic_axes=dynamic)(
        SpectralProduct("dft"), (torch.randn(2, 3, 12, 10), torch.randn(2, 3, 12, 10))
    )
    matrix = TorchOnnxExporter(["a", "b"], ["y"], opset=20)(
        SpectralProduct("matrix", (16, 12)), (torch.randn(1, 3, 16, 12), torch.randn(1, 3, 16, 12))
    )
    assert "DFT" in {n.op_type for n in dft.graph.node}
    assert "DFT" not in {n.op_type for n in matrix.graph.node} and "MatMul" in {
        n.op_type for n in matrix.graph.node
    }
    for proto, shape in ((dft, (2, 3, 12, 10)), (dft, (1, 3, 17, 9)), (matrix, (1, 3, 16, 12))):
        a, b = torch.rand(*shape), torch.rand(*shape)
        want = circular_convolution_loop(a.double().numpy(), b.double().numpy())
        got = _run(proto, a, b)
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
