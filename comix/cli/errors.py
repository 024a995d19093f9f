"""The one way a command reports failure: one red line on stderr, an exit code, no traceback.

Commands only raise. Every command is registered with :func:`command`, which wraps it in
:func:`reported`:

* bad input — any ``ValueError`` (every project error type for bad input derives from it: DataError,
  ConfigError, CheckpointError, InputError, RuntimeInputError, MetadataError, ValidationError ...), and
  ``KeyError`` / ``FileNotFoundError`` / ``PermissionError`` / ... — prints ``error: <first line>``, exit 2;
* :class:`CommandFailed` — the tool could not finish for a reason that is not the input (a native build
  failed) — prints ``error: <message>`` (all of it: a build's output tail), exit 1.

Anything else (TypeError, AttributeError, ...) is a bug and keeps its traceback, so it gets reported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)

Command = TypeVar("Command", bound=Callable)


class CommandFailed(RuntimeError):
    """The command could not finish, and the cause is not the user's input (exit code 1)."""


class BadInput(ValueError):
    """Bad input found by a command itself (an option combination, a missing file)."""


def fail(message: str) -> NoReturn:
    """Refuse bad input found in a command: raises :class:`BadInput` (reported as exit 2)."""
    raise BadInput(message)


def _first_line(error: BaseException) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _report(error: BaseException, code: int, whole: bool = False) -> NoReturn:
    text = str(error).strip() if whole else _first_line(error)
    typer.secho(f"error: {text}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def reported(function: Command) -> Command:
    """Wrap a command so its errors reach the user as described in the module doc."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except USER_ERRORS as error:
            _report(error, EXIT_BAD_INPUT)
        except CommandFailed as error:
            _report(error, EXIT_FAILED, whole=True)  # e.g. the tail of a failed build's output

    return wrapper  # type: ignore[return-value]


def command(app: typer.Typer, name: str | None = None, **options) -> Callable[[Command], Command]:
    """``@command(app, "name")``: register a command on ``app`` with its errors :func:`reported`."""

    def register(function: Command) -> Command:
        app.command(name, **options)(reported(function))
        return function

    return register
