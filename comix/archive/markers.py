"""When a scene of an archive run counts as done, verifiably, so an interrupted run can be resumed.

Products of scene NAME go to ``OUT/NAME.tif`` (+ ``.npy``, ``.png``, ``.json``, maybe
``.probabilities.tif``), written all-or-nothing; then ``OUT/NAME.done.json`` is written last (atomically).
It records the run key (the model file's SHA-256 and every setting that changes the products), the
inputs' sizes and modification times, and each product's size and SHA-256. A scene is complete when its
marker parses, the run key and the inputs are unchanged and every product exists with its recorded size;
otherwise it is (re)done. Temporary files an interrupted scene left (``OUT/.NAME.*``) are removed before
the run starts (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from comix.archive.scenes import SceneSpec
from comix.atomic import write_text_atomic
from comix.errors import BadInputError
from comix.hashing import file_sha256

MARKER_SUFFIX = ".done.json"
MARKER_FORMAT = "comix-scene-done"
LOCK_NAME = ".comix-infer.lock"


class RunLocked(BadInputError):
    """Another run holds the output folder's lock."""


def scene_output(out_dir: Path, name: str) -> Path:
    """The ``-o`` path of one scene's products: ``OUT/NAME.tif``."""
    return Path(out_dir) / f"{name}.tif"


def marker_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / f"{name}{MARKER_SUFFIX}"


def input_fingerprint(spec: SceneSpec) -> list[dict]:
    """Size and modification time of each input file (an input changed since: the scene is redone)."""
    rows = []
    for path in spec.input_files():
        stat = path.stat()
        rows.append({"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return rows


def write_marker(
    out_dir: Path, spec: SceneSpec, run_key: str, paths: dict[str, Path], record: dict
) -> Path:
    """Write ``NAME.done.json`` after the products (sizes and SHA-256 of each)."""
    products = {
        key: {
            "file": Path(path).name,
            "bytes": Path(path).stat().st_size,
            "sha256": file_sha256(path),
        }
        for key, path in paths.items()
    }
    document = {
        "format": MARKER_FORMAT,
        "scene": spec.name,
        "run_key": run_key,
        "inputs": input_fingerprint(spec),
        "products": products,
        "record": record,
    }
    return write_text_atomic(marker_path(out_dir, spec.name), json.dumps(document, indent=2))


def completed(out_dir: Path, spec: SceneSpec, run_key: str) -> tuple[dict | None, str]:
    """``(record, "")`` when the scene is complete (see the module doc), else ``(None, why not)``."""
    path = marker_path(out_dir, spec.name)
    if not path.is_file():
        return None, "no marker"
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, "unreadable marker"
    if not isinstance(document, dict) or document.get("format") != MARKER_FORMAT:
        return None, "not a marker"
    if document.get("run_key") != run_key:
        return None, "model or settings changed"
    try:
        if document.get("inputs") != input_fingerprint(spec):
            return None, "inputs changed"
    except OSError:
        return None, "inputs missing"
    for product in document.get("products", {}).values():
        file = Path(out_dir) / product["file"]
        if not file.is_file() or file.stat().st_size != product["bytes"]:
            return None, f"product {product['file']} missing or changed"
    return document.get("record", {}), ""


def remove_stale_temporaries(out_dir: Path, names: Iterable[str]) -> list[Path]:
    """Remove temporary files (``.NAME.*``, written by a staged product writer or an atomic write) that an
    interrupted run left for these scenes; returns what was removed. Call with the run lock held."""
    removed = []
    prefixes = tuple(
        f".{name}." for name in names
    )  # products, their intermediates and the marker's temp
    for entry in Path(out_dir).iterdir():
        if entry.is_file() and entry.name.startswith(prefixes):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextmanager
def run_lock(out_dir: Path) -> Iterator[Path]:
    """Hold ``OUT/.comix-infer.lock`` for the run (released when the process ends, however it ends)."""
    path = Path(out_dir) / LOCK_NAME
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise RunLocked(
                f"output folder {out_dir}: another comix infer run ({owner}) is writing into it, "
                "expected one run per output folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
