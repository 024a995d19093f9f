"""Fusion data: pan-sharpening sets (Wald's protocol, PanCollection ``.h5``) and infrared-visible pairs
(a physically based thermal band for the synthetic scenes; image folders). See ``docs/ship.md``."""

from comix.data.fusion.image_folders import read_image_pairs, write_image_pairs
from comix.data.fusion.pairs import IrVisSet, PansharpenSet
from comix.data.fusion.pancollection import read_pancollection, write_pancollection
from comix.data.fusion.resample import bicubic_upsample, mtf_decimate
from comix.data.fusion.sensors import SENSORS, sensor
from comix.data.fusion.synthesis import (
    PansharpenScene,
    concatenate,
    irvis_pair,
    irvis_set,
    pansharpen_scene,
    patches,
    wald_reduced,
)

__all__ = [
    "IrVisSet",
    "PansharpenScene",
    "PansharpenSet",
    "SENSORS",
    "bicubic_upsample",
    "concatenate",
    "irvis_pair",
    "irvis_set",
    "mtf_decimate",
    "pansharpen_scene",
    "patches",
    "read_image_pairs",
    "read_pancollection",
    "sensor",
    "wald_reduced",
    "write_image_pairs",
    "write_pancollection",
]
