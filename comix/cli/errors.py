"""Turn user-facing errors into one clear sentence on stderr and exit code 2 (no traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer


@contextlib.contextmanager
def fail_on_user_errors() -> Iterator[None]:
    """Inside a command: bad input (ValueError, KeyError, FileNotFoundError, ...) -> message + exit 2.

    Programming errors (TypeError, AttributeError, ...) still raise with a traceback, since those are
    bugs to report rather than input to fix.
    """
    try:
        yield
    except (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as error:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
