"""The one way a command reports failure: one red line on stderr, an exit code, no traceback.

Commands only raise. Every command is registered with :func:`command`, which wraps it in :func:`reported`,
the only ``except`` of the command line:

* bad input — :class:`comix.errors.BadInputError` (every project error for bad input derives from it), and
  the operating system's refusals of the user's own paths (``FileNotFoundError``, ``PermissionError``, a
  read-only or full disk, ...) — prints ``error: <first line>``, exit 2;
* a package of an optional part of the install that is not installed (``torch`` on a runtime-only install)
  — prints which extra to install, exit 2;
* :class:`comix.errors.FailedError` — the tool could not finish for a reason that is not the input (a native
  build failed, a graph the tool made fails its own checks) — prints ``error: <message>`` (all of it: a
  build's output tail), exit 1.

Anything else (TypeError, AttributeError, ...) is a bug and keeps its traceback, so it gets reported.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from comix.errors import BadInputError, ComixError, FailedError
from comix.extras import extra_for, missing_sentence

EXIT_BAD_INPUT = BadInputError.exit_code
EXIT_FAILED = FailedError.exit_code

Command = TypeVar("Command", bound=Callable)


class CommandFailed(FailedError):
    """The command could not finish, and the cause is not the user's input (exit code 1)."""


class BadInput(BadInputError):
    """Bad input found by a command itself (an option combination, a missing file)."""


def fail(message: str) -> NoReturn:
    """Refuse bad input found in a command: raises :class:`BadInput` (reported as exit 2)."""
    raise BadInput(message)


def _first_line(error: BaseException) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _os_sentence(error: OSError) -> str:
    """``[Errno 30] Read-only file system: 'out/x.tif'`` -> ``out/x.tif: Read-only file system``; an OSError
    raised with our own sentence keeps it."""
    if error.strerror is None or error.filename is None:
        return _first_line(error)
    return f"{error.filename}: {error.strerror}"


def _command_path() -> str:
    """``comix data make-scene``: the command running now (for messages)."""
    context = typer.main.get_current_context(silent=True)
    return context.command_path if context is not None else "this command"


def _report(text: str, code: int) -> NoReturn:
    typer.secho(f"error: {text}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def reported(function: Command) -> Command:
    """Wrap a command so its errors reach the user as described in the module doc; warnings of the
    libraries underneath (NumPy's RuntimeWarning on an all-NaN input) are not printed before the line."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return function(*args, **kwargs)
        except ComixError as error:
            whole = isinstance(error, FailedError)  # e.g. the tail of a failed build's output
            _report(str(error).strip() if whole else _first_line(error), error.exit_code)
        except ModuleNotFoundError as error:  # an optional part of the install that is not here
            if error.name is None or extra_for(error.name) is None:
                raise
            _report(missing_sentence(error.name, f"`{_command_path()}`"), EXIT_BAD_INPUT)
        except OSError as error:  # the user's paths: missing, not writable, read-only or full disk
            _report(_os_sentence(error), EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


def command(app: typer.Typer, name: str | None = None, **options) -> Callable[[Command], Command]:
    """``@command(app, "name")``: register a command on ``app`` with its errors :func:`reported`."""

    def register(function: Command) -> Command:
        app.command(name, **options)(reported(function))
        return function

    return register
