"""Write a whole folder under a temporary sibling name and rename it into place when it is complete.

``staged_folder("out/scene")`` yields ``out/.scene.partial``; when the block ends without an exception
the old ``out/scene`` (allowed only with ``overwrite``) is removed and the staging folder renamed onto it.
On an exception the staging folder is removed, so a failed or interrupted write never leaves a
half-written folder under the final name (the files inside are atomic too, see :mod:`comix.atomic`).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from comix.atomic import check_writable
from comix.data.errors import DataError


def check_output_folder(output: str | Path, overwrite: bool = False) -> Path:
    """``output`` as a Path if it may be written: absent, an empty folder, or any folder with ``overwrite``.

    Raises:
        DataError: ``output`` is a file, or a non-empty folder without ``overwrite``.
    """
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise DataError(f"output {output}: got a file, expected a folder (absent or empty)")
    if output.is_dir() and not overwrite and any(output.iterdir()):
        raise DataError(
            f"output {output}: got a folder that is not empty, expected an absent or empty folder "
            "(--overwrite replaces it)"
        )
    return output


def staging_path(output: str | Path) -> Path:
    """``.<name>.partial`` beside ``output`` (absolute, so ``"."`` works too)."""
    final = Path(output).absolute()
    return final.with_name(f".{final.name}.partial")


@contextlib.contextmanager
def staged_folder(output: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``output``; rename it onto ``output`` if the block succeeds.

    ``output`` is checked first (:func:`check_output_folder`), so nothing is touched when it is refused.
    A staging folder left by an earlier interrupted run is replaced; missing parent folders are created.
    """
    output = check_writable(check_output_folder(output, overwrite))
    staging = staging_path(output)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:  # KeyboardInterrupt too: never leave a partial folder behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if output.exists():
        shutil.rmtree(output)
    staging.rename(output)
