"""Fusion data: pan-sharpening sets (Wald's protocol, PanCollection ``.h5``) and infrared-visible pairs
(a physically based thermal band for the synthetic scenes; image folders). See ``docs/ship.md``."""

from comix.ship.data.image_folders import read_image_pairs, write_image_pairs
from comix.ship.data.pairs import IrVisSet, PansharpenSet
from comix.ship.data.pancollection import read_pancollection, write_pancollection
from comix.ship.data.resample import bicubic_upsample, mtf_decimate
from comix.ship.data.sensors import SENSORS, sensor
from comix.ship.data.synthesis import (
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
