"""CoMiX: HSI-X semantic segmentation with 2-D and 3-D deformable convolutions, and its deployment
toolchain."""

__version__ = "0.1.0"
