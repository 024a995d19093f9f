"""The resume state of a training run on disk: one ``train_state.safetensors``, no pickle.

``comix train --resume`` may be pointed at a run folder copied from elsewhere, so loading it must not be
able to run code. ``torch.load`` unpickles, and even its ``weights_only`` mode could be made to run code
before torch 2.6 (CVE-2025-32434; pyproject allows torch 2.4), so the state is stored like the
checkpoint: the tensors (optimizer moments, the torch RNG state) as safetensors, everything else
(step, schedule, sampler generator state, history) as JSON in the file's metadata under
:data:`METADATA_KEY`. One file, so it is written atomically; reading it parses a JSON header and raw
tensor bytes, nothing else.

The JSON keeps the exact Python values: floats round-trip bit for bit (``repr``), NaN included; tuples,
dicts with non-string keys (the optimizer's parameter ids) and tensors are tagged (:data:`TAGS`), so a
resumed run equals an uninterrupted one bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from comix.atomic import atomic_path
from comix.errors import BadInputError

STATE_FILE = "train_state.safetensors"
LEGACY_FILE = "train_state.pt"  # what older versions pickled with torch.save; refused, never read
METADATA_KEY = "comix.train_state"
FORMAT_VERSION = 1  # bump when the layout of the stored state changes
TENSOR, TUPLE, ITEMS = "__tensor__", "__tuple__", "__items__"
TAGS = (TENSOR, TUPLE, ITEMS)


class TrainStateError(BadInputError):
    """A train state file is missing, unreadable, of another version, or not one this module wrote."""


def _encode(value: Any, tensors: dict[str, torch.Tensor], where: str) -> Any:
    """``value`` as JSON-ready data; tensors move into ``tensors`` under their path ``where``."""
    if isinstance(value, torch.Tensor):
        if where in tensors:  # dict keys with dots could spell another entry's path
            raise BadInputError(
                f"train state: two tensors at path {where!r}, expected unique paths"
            )
        tensors[where] = (
            value.detach().cpu().contiguous().clone()
        )  # clone: safetensors refuses shared storage
        return {TENSOR: where}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(v, tensors, f"{where}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, tensors, f"{where}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and k not in TAGS for k in value):
            return {k: _encode(v, tensors, f"{where}.{k}") for k, v in value.items()}
        return {
            ITEMS: [
                [_encode(k, tensors, f"{where}.key{i}"), _encode(v, tensors, f"{where}.{i}")]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"train state at {where}: got a {type(value).__name__}, expected tensors, numbers, strings, "
        "None, lists, tuples or dicts"
    )


def _decode(value: Any, tensors: dict[str, torch.Tensor], path: Path) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors, path) for v in value]
    if not isinstance(value, dict):
        return value
    if TENSOR in value:
        name = value[TENSOR]
        if name not in tensors:
            raise TrainStateError(
                f"{path}: the state names tensor {name!r}, expected it among the file's tensors"
            )
        return tensors[name]
    if TUPLE in value:
        return tuple(_decode(v, tensors, path) for v in value[TUPLE])
    if ITEMS in value:
        return {_decode(k, tensors, path): _decode(v, tensors, path) for k, v in value[ITEMS]}
    return {k: _decode(v, tensors, path) for k, v in value.items()}


def save_train_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (nested dicts/lists/tuples of tensors and plain values) to ``path``, atomically."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    document = {
        "format": "comix-train-state",
        "version": FORMAT_VERSION,
        "state": _encode(state, tensors, "state"),
    }
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={METADATA_KEY: json.dumps(document)})
    return path


def load_train_state(path: str | Path) -> dict[str, Any]:
    """Read what :func:`save_train_state` wrote (tensors on the CPU).

    Raises:
        FileNotFoundError: no file at ``path``.
        TrainStateError: only an older pickled ``train_state.pt`` beside it; not a safetensors file (a pickle,
            say: refused, never unpickled); no or unreadable train-state metadata; another format version.
    """
    path = Path(path)
    legacy = path.with_name(LEGACY_FILE)
    if not path.is_file() and legacy.is_file():
        raise TrainStateError(
            f"cannot resume: got {legacy} (a pickle written by an older comix), expected "
            f"{path.name}; pickles are never loaded because unpickling can run code, so restart "
            "the run"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"cannot resume: {path} does not exist (expected a folder written by a previous "
            "`comix train` run)"
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            # safe_open has keys() but is neither iterable nor a mapping
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as error:
        raise TrainStateError(
            f"cannot resume: {path} is not a readable safetensors file ({error}); expected the "
            "train state a `comix train` run writes (other formats are never unpickled)"
        ) from None
    if METADATA_KEY not in metadata:
        raise TrainStateError(
            f"cannot resume: {path} has no {METADATA_KEY!r} metadata, expected a train state "
            "written by `comix train`"
        )
    try:
        document = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise TrainStateError(
            f"cannot resume: {path}: train-state metadata is not JSON ({error})"
        ) from None
    version = document.get("version") if isinstance(document, dict) else None
    if version != FORMAT_VERSION or document.get("format") != "comix-train-state":
        raise TrainStateError(
            f"cannot resume: {path} holds train-state version {version!r}, expected "
            f"{FORMAT_VERSION} (written by another comix version; restart the run)"
        )
    return _decode(document["state"], tensors, path)
