"""Atomic file writes: write beside the target under a temporary name, then ``os.replace`` onto it.

A crash, an exception or a failed check between the two steps leaves nothing under the final name.
Every writer of the project (readers' writers, checkpoints' reports, exports, plots) goes through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from comix.errors import BadInputError


def check_parent(path: str | os.PathLike) -> Path:
    """The output's folder must exist and be writable; raise a clear error (got/expected) if not."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"output {path}: folder {path.parent} does not exist, expected an existing folder"
        )
    return check_writable(path)


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output that could not be written: ``path`` itself when it is an existing
    folder (written into), else the nearest existing folder above it, is on a read-only mount or not
    writable by this user. The ``OSError`` names ``path`` (so the
    command line reports ``path: Read-only file system`` in one line); returns ``path``."""
    path = Path(path)
    folder = path.absolute() if path.is_dir() else path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if os.access(folder, os.W_OK):
        return path
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    code = errno.EROFS if read_only else errno.EACCES
    raise OSError(code, os.strerror(code), str(path))


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same inode when both exist (links included), else the same
    absolute path once symbolic links are resolved."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one does not exist yet
        return first.resolve() == second.resolve()


def refuse_overwriting_inputs(
    outputs: Iterable[str | os.PathLike],
    inputs: Iterable[str | os.PathLike | None],
    given: str | os.PathLike | None = None,
    option: str = "-o",
) -> None:
    """Refuse, in one sentence, a command whose outputs (every file it would write, sidecars included)
    would replace one of its inputs: the shared check of every command that reads and writes files.
    ``given`` is the output path as the user gave it with ``option``, when the outputs derive from it."""
    sources = [Path(path) for path in inputs if path is not None]
    for output in map(Path, outputs):
        for source in sources:
            if not _same_file(output, source):
                continue
            named = Path(given) if given is not None else output
            what = "got" if named == output else f"writes {output}, which is"
            raise BadInputError(
                f"{option} {named}: {what} the input {source}, expected a path that replaces no input "
                "(choose another output name)"
            )


def _umask() -> int:
    """This process's umask, read without changing it where Linux reports it (``os.umask`` would set it for
    a moment, under any thread that creates a file at that time)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: str | os.PathLike, folder: bool = False) -> None:
    """Give ``path`` the permissions an ordinary ``open``/``mkdir`` would (0666 / 0777 under the umask):
    ``mkstemp`` and ``mkdtemp`` make 0600 / 0700, and products are meant to be shared."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def temp_beside(final: str | os.PathLike, suffix: str | None = None) -> Path:
    """A new empty file ``.<final stem>.<random><suffix>`` beside ``final`` with the usual permissions
    (:func:`usual_mode`). When it cannot be made (a read-only or full disk, a folder not writable), the
    error names ``final``, the user's path, not the temporary name nobody asked for."""
    final = Path(final)
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{final.stem}.",
            suffix=final.suffix if suffix is None else suffix,
            dir=final.parent,
        )
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(final)) from None
    os.close(handle)
    usual_mode(name)
    return Path(name)


def named_for_user(error: BaseException, renames: dict[Path, Path]) -> BaseException:
    """``error`` with every temporary path of ``renames`` ({temporary: final}) replaced by its final path,
    for an ``OSError`` that names one (a write that failed half way); other errors come back unchanged."""
    if not isinstance(error, OSError):
        return error
    names = {str(temp): str(final) for temp, final in renames.items()}
    if error.filename is not None and str(error.filename) in names:
        return OSError(error.errno, error.strerror, names[str(error.filename)])
    text = str(error)
    for temp, final in names.items():
        text = text.replace(temp, final)
    return OSError(text) if text != str(error) else error


@contextlib.contextmanager
def atomic_path(
    final_path: str | os.PathLike, suffix: str | None = None, make_parents: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``final_path``; rename it onto ``final_path`` if the block succeeds.

    The temporary name keeps the final suffix (``suffix`` overrides it) because some writers choose the
    format from the extension; it has the usual permissions, which writers that fill it in place keep.
    ``make_parents`` creates missing folders; otherwise a missing folder is an error (see
    :func:`check_parent`). On an exception the temporary file is removed, and an ``OSError`` about it
    names ``final_path`` instead.
    """
    final_path = Path(final_path)
    if make_parents:
        final_path.parent.mkdir(parents=True, exist_ok=True)
    check_parent(final_path)
    temp_path = temp_beside(final_path, suffix)
    try:
        try:
            yield temp_path
        except OSError as error:
            renamed = named_for_user(error, {temp_path: final_path})
            if renamed is error:
                raise
            raise renamed from None
        os.replace(temp_path, final_path)
    finally:
        temp_path.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, make_parents: bool = False) -> Path:
    with atomic_path(path, make_parents=make_parents) as temp:
        temp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, make_parents: bool = False) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), make_parents)
