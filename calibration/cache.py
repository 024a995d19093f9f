"""Calibration statistics cached by content: the same inputs are served at once, changed inputs never are.

The key is the SHA-256 of a canonical JSON of everything the statistics depend on: the model file's
bytes (hash), the calibration tiles' bytes (hash), the method and its options, whether ranges are
symmetric, and the ONNX Runtime version that ran the pass. The entry ``<key>.json`` holds its own key and
inputs, the statistics, and a SHA-256 of the statistics; a file that does not parse, names another key or
fails its checksum is refused (:class:`CacheCorrupt`); ``rebuild=True`` writes a fresh entry over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from comix.atomic import write_text_atomic
from comix.calibration.errors import CacheCorrupt
from comix.calibration.statistics import ActivationStatistics
from comix.hashing import bytes_sha256

FORMAT = "comix-calibration-statistics"
VERSION = 1


def default_cache_dir() -> Path:
    """``$COMIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/comix/calibration``, else
    ``~/.cache/comix/calibration``."""
    if os.environ.get("COMIX_CACHE_DIR"):
        return Path(os.environ["COMIX_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "comix" / "calibration"


def cache_key(inputs: dict) -> str:
    return bytes_sha256(json.dumps(inputs, sort_keys=True).encode())


class StatisticsCache:
    """``load(inputs)`` -> statistics or None; ``store(inputs, statistics)``; one JSON file per key."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def path(self, inputs: dict) -> Path:
        return self.folder / f"{cache_key(inputs)}.json"

    def load(self, inputs: dict) -> ActivationStatistics | None:
        path = self.path(inputs)
        if not path.exists():
            return None
        key = cache_key(inputs)
        hint = "; delete it or rerun with --rebuild-cache"
        try:
            document = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CacheCorrupt(
                f"calibration cache {path}: got unreadable JSON ({type(error).__name__}), expected "
                f"an entry written by comix calibrate{hint}"
            ) from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise CacheCorrupt(
                f"calibration cache {path}: got no '{FORMAT}' header, expected an entry written by "
                f"comix calibrate{hint}"
            )
        if document.get("version") != VERSION or document.get("key") != key:
            raise CacheCorrupt(
                f"calibration cache {path}: got version {document.get('version')} and key "
                f"{str(document.get('key'))[:12]}..., expected version {VERSION} and key "
                f"{key[:12]}...{hint}"
            )
        statistics = document.get("statistics")
        if not isinstance(statistics, dict) or bytes_sha256(
            json.dumps(statistics, sort_keys=True).encode()
        ) != document.get("statistics_sha256"):
            raise CacheCorrupt(
                f"calibration cache {path}: the statistics do not match their checksum, expected "
                f"an intact entry{hint}"
            )
        try:
            return ActivationStatistics.from_dict(statistics)
        except (KeyError, TypeError, ValueError) as error:
            raise CacheCorrupt(
                f"calibration cache {path}: got malformed statistics ({error}), expected an entry "
                f"written by comix calibrate{hint}"
            ) from None

    def store(self, inputs: dict, statistics: ActivationStatistics) -> Path:
        body = statistics.to_dict()
        document = {
            "format": FORMAT,
            "version": VERSION,
            "key": cache_key(inputs),
            "inputs": inputs,
            "statistics_sha256": bytes_sha256(json.dumps(body, sort_keys=True).encode()),
            "statistics": body,
        }
        return write_text_atomic(
            self.path(inputs), json.dumps(document, sort_keys=True), make_parents=True
        )
