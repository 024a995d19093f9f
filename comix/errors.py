"""The root of every error the project raises on purpose, and its two branches.

* :class:`BadInputError` (a ``ValueError``): the caller's input was wrong — a file, an option, a model of the
  wrong kind, a corrupted artifact. ``comix`` prints its first line and exits with code 2.
* :class:`FailedError` (a ``RuntimeError``): the tool could not finish for a reason that is not the input — a
  native build failed, an engine could not run, a graph the tool made fails its own checks. ``comix`` prints
  the whole message (a build's output tail) and exits with code 1.

Every project error class derives from exactly one branch (``tests/test_errors.py`` walks the package), so
callers catch :class:`ComixError` (or one branch) and the command line has one place that reports errors
(:mod:`comix.cli.errors`).
"""

from __future__ import annotations


class ComixError(Exception):
    """Root of the project's errors; use one of its two branches, never this class directly."""

    exit_code = 1


class BadInputError(ComixError, ValueError):
    """The caller's input was wrong; the message is one sentence: what was wrong and what was expected."""

    exit_code = 2


class FailedError(ComixError, RuntimeError):
    """The work could not be finished, and the cause is not the caller's input."""

    exit_code = 1
