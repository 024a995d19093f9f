"""ai.comix DeformConv (2-D, our CPU custom op) against the float64 reference and ONNX Runtime's own DeformConv.

The library registers a 2-D op in our domain because it measured faster than ORT's built-in kernel
(tools/bench.py, section dcn). Comparing with the built-in also checks that our reading of the ONNX
DeformConv semantics (offset layout, pads order, border rule) is ONNX Runtime's.
"""

from __future__ import annotations

import numpy as np
import pytest

from _dcn_models import DcnCase, run
from comix.ops.reference import deform_conv_reference
from comix.ops.spec import CUSTOM_DOMAIN

RTOL = ATOL = 1e-4
OURS = {"op_type": "DeformConv", "domain": CUSTOM_DOMAIN}
BUILT_IN = {"op_type": "DeformConv", "domain": ""}

CASES = [
    DcnCase("basic", 1, 4, 4, (7, 6), (3, 3), pads=1),
    DcnCase("asymmetric_everything", 3, 6, 4, (9, 8), (3, 2), stride=(2, 1), pads=(1, 0, 0, 2), dilation=(2, 1),
            group=2, offset_group=3),
    DcnCase("no_mask_no_bias_c5", 2, 5, 3, (6, 7), (2, 2), stride=(1, 2), bias=False, mask=False),
    DcnCase("groups_cross_offset_groups", 1, 6, 6, (5, 5), (3, 3), pads=(1, 1, 1, 1), group=3, offset_group=2),
    DcnCase("offsets_far_outside", 2, 3, 2, (5, 6), (3, 3), pads=1, offset_scale=10.0),
    DcnCase("many_blocks_ragged_tail", 1, 24, 10, (21, 23), (3, 3), pads=1, group=2, offset_group=4),
    DcnCase("batch_0", 0, 4, 4, (5, 5), (3, 3), pads=1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_float64_reference_and_ort_built_in(ort_dcn_library, case: DcnCase) -> None:
    feed = case.inputs()
    ours = run(ort_dcn_library, feed, case.node_attributes(), **OURS)
    expected = deform_conv_reference(feed["X"], feed["offset"], feed["W"], feed.get("B"), feed.get("mask"),
                                     case.geometry())
    assert ours.shape == expected.shape
    if expected.size:
        assert np.abs(expected).max() > 0.1, "degenerate case: the reference output is ~0"
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL)
    if case.batch > 0:  # ORT's built-in kernel is the second opinion; it is not needed for empty batches
        built_in = run(ort_dcn_library, feed, case.node_attributes(), **BUILT_IN)
        np.testing.assert_allclose(ours, built_in, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"pads": [1, 1, 1]}, "pads: got 3 values, expected 4"),
        ({"strides": [0, 1]}, "strides[H]: got 0, expected >= 1"),
        ({"dilations": [1, 1, 1]}, "dilations: got 3 values, expected 2"),
        ({"group": 3}, "input channels C: got 4, expected a multiple of group 3"),
    ],
    ids=["pads_length", "zero_stride", "dilations_length", "channels_not_divisible_by_group"],
)
def test_bad_attributes_raise_clear_errors(ort_dcn_library, attributes, message) -> None:
    case = DcnCase("bad", 1, 4, 4, (5, 5), (3, 3), pads=1)
    with pytest.raises(Exception) as error:
        run(ort_dcn_library, case.inputs(), {**case.node_attributes(), **attributes}, **OURS)
    assert message in str(error.value)
