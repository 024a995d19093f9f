"""Layer names -> model parts (worked examples from real ONNX Runtime, PyTorch and TensorRT-style names)."""

from __future__ import annotations

import pytest

from comix.model.parts import PART_OF_CHILD
from comix.profile.parts import (
    DCN_2D,
    DCN_3D,
    INPUT_OUTPUT,
    LAYOUT,
    OTHER,
    PARTS,
    part_of,
    time_by_part,
)
from comix.runtime.backend import LayerTime


@pytest.mark.parametrize(
    "name,kind,part",
    [
        ("hsi_stages.0.0.dcn[DeformConv3d]/node_deform_conv3d", "DeformConv3D", DCN_3D),
        ("hsi_stages.0.0.dcn[DeformConv3d]/node_slice_4/GatherSliceToSplitFusion", "Split", DCN_3D),
        ("hsi_stages.0.0.dcn.offset_conv[Conv3d]/node_conv3d_2", "Conv", "HSI branch"),
        ("hsi_stem.conv1.1[BatchNorm3d]/node_Conv_1408", "Conv", "HSI branch"),
        ("x_stem.conv1.0[Conv2d]/conv2d_3_nchwc", "Conv", "X branch"),
        ("x_stages.2.1.dcn[DeformConv2d]", "DeformConv2d", DCN_2D),  # a PyTorch module scope
        ("fused cmfex.0.channel_weights.mlp.0[Linear]/node_linear", "FusedGemm", "CMFeX"),
        ("ffm.1.attention[EfficientCrossAttention]/node_matmul_7", "MatMul", "FFM"),
        ("spectral_lift.0.project[Conv2d]/conv2d_14_nchwc", "Conv", "spectral pool/lift"),
        ("decoder.fuse.2[ReLU]/relu_8_nchwc", "Conv", "decoder"),
        ("hsi_norm[InputNormalization]/node_sub", "Sub", INPUT_OUTPUT),
        ("[ComixNet]/node_pad", "Pad", INPUT_OUTPUT),
        ("[ComixNet]/ReorderInput", "ReorderInput", LAYOUT),
        ("node_Shape_0", "Shape", OTHER),
        ("node_deform_conv2d", "DeformConv", DCN_2D),  # unscoped, known by its op type
        # a TensorRT layer fused from several nodes takes its first scoped member's part
        (
            "node_Shape_3 + x_down.1.0[Conv2d]/node_conv2d_12 + x_down.1.2[GELU]/node_gelu",
            "Conv",
            "X branch",
        ),
    ],
)
def test_part_of_worked_examples(name, kind, part):
    assert part_of(name, kind) == part


def test_every_part_of_the_model_has_a_profile_part():
    for child in PART_OF_CHILD:
        assert part_of(f"{child}.0[Conv2d]/node", "Conv") in PARTS


def test_time_by_part_sums_in_report_order():
    layers = [
        LayerTime("decoder.fuse.0[Conv2d]/a", "Conv", 2.0),
        LayerTime("hsi_stem.conv1.0[Conv3d]/b", "Conv", 1.0),
        LayerTime("hsi_down.1.0[Conv3d]/c", "Conv", 0.5),
        LayerTime("node_x", "Add", 0.25),
    ]
    assert time_by_part(layers) == {"HSI branch": 1.5, "decoder": 2.0, OTHER: 0.25}
    assert list(time_by_part(layers)) == ["HSI branch", "decoder", OTHER]
