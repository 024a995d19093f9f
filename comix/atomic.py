"""Atomic file writes: write beside the target under a temporary name, then ``os.replace`` onto it.

A crash, an exception or a failed check between the two steps leaves nothing under the final name.
Every writer of the project (readers' writers, checkpoints' reports, exports, plots) goes through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def check_parent(path: str | os.PathLike) -> Path:
    """The output's folder must exist; raise a clear error (got/expected) if it does not."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"output {path}: folder {path.parent} does not exist, expected an existing folder"
        )
    return path


@contextlib.contextmanager
def atomic_path(
    final_path: str | os.PathLike, suffix: str | None = None, make_parents: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``final_path``; rename it onto ``final_path`` if the block succeeds.

    The temporary name keeps the final suffix (``suffix`` overrides it) because some writers choose the
    format from the extension. ``make_parents`` creates missing folders; otherwise a missing folder is an
    error (see :func:`check_parent`). On an exception the temporary file is removed.
    """
    final_path = Path(final_path)
    if make_parents:
        final_path.parent.mkdir(parents=True, exist_ok=True)
    check_parent(final_path)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{final_path.stem}.", suffix=suffix or final_path.suffix, dir=final_path.parent
    )
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        yield temp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(temp_path, final_path)
    finally:
        temp_path.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, make_parents: bool = False) -> Path:
    with atomic_path(path, make_parents=make_parents) as temp:
        temp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, make_parents: bool = False) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), make_parents)
