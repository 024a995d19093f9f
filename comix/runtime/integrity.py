"""Is the model the runtime opened the one that was exported? The check every open makes.

Every ONNX graph the toolchain writes carries SHA-256 digests of its weights and of its graph
(:mod:`comix.model_digest`: ``comix export``, ``comix calibrate``, ``comix build``'s prepared graph). Every
backend checks them when it opens a model, unless asked not to (``--no-verify``), and refuses a mismatch in
one sentence naming what differs (exit 2). A checkpoint's weights are checked against its ``config.json``
by the loader, an engine against the record beside it (``comix.tensorrt.engine_record``); those always are.

A model with no recorded digests (exported before they existed, or built by hand) is not a mismatch: it
opens, and the run says it was not verified. Cost: one SHA-256 pass over the file (about 17 ms for the
20 MB comix_t graph here; ``tools/bench_flight.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from comix.model_digest import recorded, verify
from comix.runtime.errors import RuntimeInputError

VERIFIED, UNSEALED, SKIPPED = "verified", "unsealed", "skipped"


@dataclass(frozen=True)
class Verification:
    """What the open found: ``status`` is ``verified`` (digests recorded and equal), ``unsealed`` (none
    recorded: not checked) or ``skipped`` (``--no-verify``); the recorded digests; the seconds it took."""

    status: str
    weights: str = ""
    graph: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def check_model_bytes(data: bytes, source: str, enabled: bool = True) -> Verification:
    """Check an ONNX file's bytes against the digests recorded in it; raises :class:`RuntimeInputError`
    (one sentence, what differs) on a mismatch or an unreadable record."""
    if not enabled:
        return Verification(SKIPPED)
    start = time.perf_counter()
    expected = recorded(data, source=source)
    if expected is None:
        return Verification(UNSEALED, seconds=time.perf_counter() - start)
    problem = verify(data, source=source)
    if problem is not None:
        raise RuntimeInputError(problem)
    return Verification(VERIFIED, expected.weights, expected.graph, time.perf_counter() - start)
