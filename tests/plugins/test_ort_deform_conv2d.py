"""ai.comix DeformConv (2-D, our CPU custom op) against the float64 reference and ONNX Runtime's own
DeformConv.

The library registers a 2-D op in our domain because it measured faster than ORT's built-in kernel
(tools/bench.py, section dcn). Comparing with the built-in also checks that our reading of the ONNX
DeformConv semantics (offset layout, pads order, border rule) is ONNX Runtime's. Cases: the shared 2-D grid
(comix.ops.cases).
"""

from __future__ import annotations

import pytest
from _dcn_models import feed, node_attributes, run

from comix.ops.cases import DcnCase, cases_for, reference_output, shifted_convolution
from comix.ops.spec import CUSTOM_DOMAIN
from comix.ops.tolerance import assert_matches_reference

OURS = {"op_type": "DeformConv", "domain": CUSTOM_DOMAIN}
BUILT_IN = {"op_type": "DeformConv", "domain": ""}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases_for("ort", ndim=2)])
def test_matches_float64_reference(ort_dcn_library, case: DcnCase) -> None:
    inputs = case.inputs("float32")
    ours = run(ort_dcn_library, feed(inputs), node_attributes(case), **OURS)
    assert_matches_reference(ours, reference_output(case, "float32"), "float32", case.id)
    if case.offsets.kind == "shift":
        assert_matches_reference(
            ours, shifted_convolution(case, inputs), "float32", f"{case.id} vs shifted conv"
        )


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id) for c in cases_for("ort-builtin", ndim=2)]
)
def test_ort_built_in_deform_conv_agrees(ort_dcn_library, case: DcnCase) -> None:
    """ONNX Runtime's own kernel as a second opinion on the semantics, against the same reference."""
    built_in = run(ort_dcn_library, feed(case.inputs("float32")), node_attributes(case), **BUILT_IN)
    assert_matches_reference(
        built_in, reference_output(case, "float32"), "float32", f"{case.id} (ORT built-in)"
    )


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
    case = DcnCase("bad_inputs", (5, 5), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), channels=4, batch=1)
    with pytest.raises(Exception) as error:
        run(
            ort_dcn_library,
            feed(case.inputs("float32")),
            {**node_attributes(case), **attributes},
            **OURS,
        )
    assert message in str(error.value)
