"""The parts of CoMiX that reports name (model info, profiles): the model's one list, torch-free so that
``comix profile`` on the runtime install can sort layer times by part."""

from __future__ import annotations

# top-level child of ComixNet -> the part it is reported under
PART_OF_CHILD = {
    "hsi_norm": "normalization",
    "x_norm": "normalization",
    "hsi_stem": "HSI stem",
    "x_stem": "X stem",
    "hsi_down": "HSI branch",
    "hsi_stages": "HSI branch",
    "x_down": "X branch",
    "x_stages": "X branch",
    "spectral_pool": "spectral pool/lift",
    "hsi_to_shared": "spectral pool/lift",
    "spectral_lift": "spectral pool/lift",
    "cmfex": "CMFeX",
    "ffm": "FFM",
    "decoder": "decoder",
}
