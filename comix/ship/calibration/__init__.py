"""SHIP's part of ``comix calibrate``: its calibration data and report (:mod:`.data`, :mod:`.tiles`,
:mod:`.accuracy`) and what its FP16 / INT8 graphs keep in float (:mod:`.rules`). Importing it registers the
fusion data kinds with :mod:`comix.calibration.data`."""

from comix.ship.calibration import data  # noqa: F401  (registers the fusion data kinds)
