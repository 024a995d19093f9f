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

Usage errors that Click finds before a command runs (an unknown option, a value out of an option's range, a
missing argument) go through :class:`OneLineUsageErrors`, the root group's class: ``error: comix train:
Invalid value for '--tile': ... (got 4); see `comix train --help```, exit 2, instead of Click's five-line box.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn, TypeVar

import typer
from typer.core import TyperGroup

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


# Click's UsageError as this Typer ships it (Typer >= 0.26 carries its own copy of Click): found through the
# public BadParameter, so the class is right whichever Click is underneath.
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _given(argv: Sequence[str], options: Sequence[str]) -> str | None:
    """The value given to an option in ``argv`` (``--tile 4`` or ``--tile=4``), when given exactly once."""
    found = []
    for index, word in enumerate(argv):
        for option in options:
            if word == option and index + 1 < len(argv):
                found.append(argv[index + 1])
            elif word.startswith(option + "="):
                found.append(word[len(option) + 1 :])
    return found[0] if len(found) == 1 else None


def usage_line(error: Exception, argv: Sequence[str]) -> str:
    """One line for a Click usage error: the command, Click's message, the value given, where help is."""
    context = getattr(error, "ctx", None)
    where = context.command_path if context is not None else "comix"
    text = " ".join(error.format_message().split()).rstrip(".")
    param = getattr(error, "param", None)
    value = _given(argv, getattr(param, "opts", ()) or ()) if param is not None else None
    if value is not None and "Missing" not in text:
        text = f"{text} (got {value})"
    return f"{where}: {text}; see `{where} --help`"


@contextlib.contextmanager
def _usage_reported(argv: Sequence[str]) -> Iterator[None]:
    try:
        yield
    except _USAGE_ERROR as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # a bare group: Typer prints its help
            raise
        _report(usage_line(error, argv), EXIT_BAD_INPUT)


class OneLineUsageErrors(TyperGroup):
    """The root group of ``comix``: Click's usage errors, found while parsing the root's options or any
    command's, are reported as one line (module doc) with exit code 2."""

    _argv: tuple[str, ...] = ()

    def make_context(self, info_name, args, parent=None, **extra):
        self._argv = tuple(args)
        with _usage_reported(self._argv):
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with _usage_reported(self._argv):
            return super().invoke(ctx)


def command(app: typer.Typer, name: str | None = None, **options) -> Callable[[Command], Command]:
    """``@command(app, "name")``: register a command on ``app`` with its errors :func:`reported`."""

    def register(function: Command) -> Command:
        app.command(name, **options)(reported(function))
        return function

    return register
