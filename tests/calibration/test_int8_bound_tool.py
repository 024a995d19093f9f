"""tools/int8_bound.py compares like with like: its QLinearConv graph computes the same convolution
as its FP32 graph (within the quantisation step), and it counts a DCN's multiply-adds from the
shapes ONNX Runtime reports."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.fixture(scope="module")
def bound():
    sys.path.insert(0, str(TOOLS))
    try:
        import int8_bound

        yield int8_bound
    finally:
        sys.path.remove(str(TOOLS))


@pytest.mark.parametrize("cin, cout, kernel, spatial", [(8, 4, 3, (9, 7)), (16, 8, 1, (5, 6))])
def test_the_int8_convolution_is_the_fp32_one_quantised(bound, cin, cout, kernel, spatial):
    fp32, fp32_feeds, int8, int8_feeds = bound._conv_pair(
        cin, cout, kernel, spatial, np.random.default_rng(1)
    )

    def run(model, feeds):
        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        return session.run(None, feeds)[0]

    reference = run(fp32, fp32_feeds).astype(np.float64)
    dequantised = (
        run(int8, int8_feeds).astype(np.float64) - 128
    ) * 0.05  # the graph's output scale / zero point
    assert dequantised.shape == reference.shape == (1, cout, *spatial)
    inside = np.abs(reference) < 127 * 0.05  # not clipped by the output range
    assert inside.mean() > 0.9
    # output rounding (half a step of 0.05) plus 7-bit weights and 8-bit inputs: a few percent of the peak
    assert np.max(np.abs(dequantised - reference)[inside]) < 0.025 + 0.05 * np.max(
        np.abs(reference)
    )


def test_dcn_multiply_adds_from_the_reported_shapes(bound):
    node = bound.NodeRun(
        "dcn",
        "DeformConv3D",
        1.0,
        [[1, 8, 8, 32, 32], [16, 8, 3, 3, 3], [1, 81, 8, 32, 32], [16], [1, 27, 8, 32, 32]],
    )
    assert bound.dcn_macs(node) == 16 * 8 * 27 * 8 * 32 * 32
    flat = bound.NodeRun(
        "dcn2", "DeformConv", 1.0, [[2, 32, 16, 16], [32, 16, 3, 3], [2, 36, 8, 8]]
    )
    assert (
        bound.dcn_macs(flat) == 32 * 16 * 9 * 8 * 8 * 2
    )  # two groups: Cin/groups in the weight; batch 2
