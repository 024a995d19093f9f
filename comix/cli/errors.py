"""One way for every command to report bad input: one sentence on stderr, exit code 2, no traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``error: <first line of message>`` in red on stderr and exit with code 2."""
    typer.secho(f"error: {str(message).splitlines()[0] if message else 'failed'}", fg=typer.colors.RED, err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextlib.contextmanager
def fail_on_user_errors() -> Iterator[None]:
    """Inside a command: bad input (ValueError, KeyError, FileNotFoundError, ...) -> :func:`fail`.

    Every error type of the project that means "bad input" derives from ValueError (DataError,
    ConfigError, CheckpointError, InputError, RuntimeInputError). Programming errors (TypeError,
    AttributeError, ...) still raise with a traceback: those are bugs to report, not input to fix.
    """
    try:
        yield
    except (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as error:
        fail(str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error))
