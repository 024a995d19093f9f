"""The MAC counter against analytic counts, and the info of a whole model."""

import torch
from torch import nn

from comix.model import build_model, count_macs, model_info
from comix.ops import DeformConv2d, DeformConv3d


def test_counter_matches_conv2d_analytically():
    conv = nn.Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 1), padding=(1, 2), groups=1)
    # output (2, 8, 8, 16); each output value: 3 * 3 * 5 MACs
    assert count_macs(conv, torch.zeros(2, 3, 16, 16)).total == 2 * 8 * 8 * 16 * 3 * 3 * 5


def test_counter_matches_grouped_conv3d_analytically():
    conv = nn.Conv3d(4, 6, kernel_size=3, stride=(1, 2, 2), padding=1, groups=2)
    # output (1, 6, 5, 4, 4); each output value: (4/2) * 27 MACs
    assert count_macs(conv, torch.zeros(1, 4, 5, 8, 8)).total == 6 * 5 * 4 * 4 * 2 * 27


def test_counter_matches_linear_and_matmul():
    linear = nn.Linear(10, 7)
    assert count_macs(linear, torch.zeros(3, 5, 10)).total == 3 * 5 * 10 * 7


def _dcn_macs(c_in, c_out, kernel_points, ndim, positions, batch):
    matmul = batch * c_out * c_in * kernel_points * positions
    offset_conv = batch * kernel_points * (ndim + 1) * c_in * kernel_points * positions
    sampling = batch * c_in * kernel_points * positions * (2**ndim + 1)
    return matmul, offset_conv, sampling


def test_counter_includes_dcn_matmul_offset_conv_and_sampling_2d():
    dcn = DeformConv2d(4, 6, 3, padding=1)
    counted = count_macs(dcn, torch.zeros(2, 4, 5, 7))
    matmul, offset_conv, sampling = _dcn_macs(4, 6, 9, 2, 35, 2)
    assert counted.dense == matmul + offset_conv
    assert counted.dcn_sampling == sampling


def test_counter_includes_dcn_matmul_offset_conv_and_sampling_3d():
    dcn = DeformConv3d(2, 3, 3, padding=1)
    counted = count_macs(dcn, torch.zeros(1, 2, 3, 4, 5))
    matmul, offset_conv, sampling = _dcn_macs(2, 3, 27, 3, 60, 1)
    assert counted.dense == matmul + offset_conv
    assert counted.dcn_sampling == sampling


def test_model_info_parts_add_up_and_shapes_are_reported():
    model = build_model("comix_t", bands=63, x_channels=2, classes=6)
    info = model_info(model, (64, 64), name="comix_t")
    assert info.parameters == sum(p.numel() for p in model.parameters())
    assert sum(info.macs.by_part.values()) == info.macs.total
    assert {"HSI branch", "X branch", "CMFeX", "FFM", "decoder"} <= set(info.macs.by_part)
    assert info.macs.dcn_sampling > 0 and info.macs.by_part["HSI branch"] > info.macs.dcn_sampling
    assert info.logits_shape == (1, 6, 64, 64)
    assert info.stages[0].hsi == (
        1,
        model.config.hsi_widths[0],
        model.config.spectral_depth,
        16,
        16,
    )
    assert info.stages[3].fused == (1, model.config.widths[3], 2, 2)
    assert model.training  # restored
