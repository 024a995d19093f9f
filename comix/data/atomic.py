"""Write files under a temporary name and rename, so no half-written file ever has the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final_path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final_path``; rename it onto ``final_path`` if the block succeeds.

    The temporary name keeps the final suffix (``suffix`` overrides it) because some writers choose
    the format from the extension. On an exception the temporary file is removed.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{final_path.stem}.", suffix=suffix or final_path.suffix,
                                         dir=final_path.parent)
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        yield temp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(temp_path, final_path)
    finally:
        if temp_path.exists():
            temp_path.unlink()
