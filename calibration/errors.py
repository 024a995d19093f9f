"""Errors of the calibration package (bad input: the CLI prints one sentence and exits with code 2)."""

from __future__ import annotations

from comix.errors import BadInputError


class CalibrationError(BadInputError):
    """A model, dataset, option or cache cannot be used for calibration (message says got/expected)."""


class CacheCorrupt(CalibrationError):
    """A calibration cache file exists under the key of this run but cannot be trusted."""
