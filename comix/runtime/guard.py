"""Onboard guards around any backend: weights re-checked in memory, redundant tiles voted on, deadlines
counted, a watchdog kicked — for flight hardware, where a bit flipped by a single-event upset must be caught,
not turned into confident wrong classes.

    guarded = GuardedBackend(backend, GuardOptions(recheck_every=512, redundant=64, deadline_ms=200,
                                                   watchdog=kick))
    SlidingWindow(guarded, ...)            # or comix infer / comix stream --recheck-every ... --redundant ...
    guarded.report()                       # every event, counted (the run summary's "integrity")

* ``recheck_every`` N: every N tiles the weights as held in memory are hashed again
  (:meth:`~comix.runtime.backend.Backend.weights_digest`) and compared with the value at open, and a canary
  tile run at open is run again and must give the same bits (ONNX Runtime computes from its own copies of the
  weights, re-laid for its kernels: the canary is what sees those). A difference reloads the model from its
  verified file (:meth:`~comix.runtime.backend.Backend.reload`) and is reported; the batch that found it is
  run again on the reloaded model, and the tiles run between the last good check and it are reported as at
  risk (their outputs were already blended: the range is in the event and the summary).
* ``redundant`` K: the batch holding every K-th tile runs a second time, as it is, and every tile of it must
  give the same bits (the CPU path is deterministic from run to run: tested; the same shapes are rerun
  because ONNX Runtime may choose another kernel for another batch size). On a mismatch the batch runs a
  third time and each differing tile keeps the output two runs agree on; three different results stop the
  run (no majority, no guess). Cost: one batch per K tiles.
* ``deadline_ms`` T: tiles that took longer than T (a batch's time shared by its tiles) are counted.
* ``watchdog``: a callable called with the number of tiles done after every tile, so flight software can
  kick its watchdog (the C API has the same as a function pointer).

Tiles here are the tiles the sliding window sends; a batch of B tiles counts B.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from comix.errors import FailedError
from comix.runtime.backend import Backend, LayerTime
from comix.runtime.errors import RuntimeInputError

DEFAULT_RECHECK_EVERY = (
    512  # tiles; chosen by measurement: < 1 % of throughput (docs/flight.md, "Integrity")
)
CANARY_SEED = 20261206


@dataclass(frozen=True)
class GuardOptions:
    """See the module doc; 0 / None turns a guard off."""

    recheck_every: int = 0
    redundant: int = 0
    deadline_ms: float | None = None
    watchdog: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        for name in ("recheck_every", "redundant"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise RuntimeInputError(
                    f"--{name.replace('_', '-')}: got {value!r}, expected a whole number of tiles >= 0 "
                    "(0 = off)"
                )
        if self.deadline_ms is not None and not self.deadline_ms > 0:
            raise RuntimeInputError(
                f"--deadline-ms: got {self.deadline_ms}, expected milliseconds > 0"
            )

    @property
    def active(self) -> bool:
        return bool(
            self.recheck_every or self.redundant or self.deadline_ms or self.watchdog is not None
        )


@dataclass
class GuardStats:
    """Every event of a guarded run (the summary's ``integrity``)."""

    tiles: int = 0
    rechecks: int = 0
    recheck_seconds: float = 0.0
    weights_changed: int = 0
    canary_changed: int = 0
    reloads: int = 0
    tiles_at_risk: int = 0
    redundant_runs: int = 0
    redundant_mismatches: int = 0
    majority_kept: int = 0
    deadline_ms: float | None = None
    over_deadline: int = 0
    slowest_tile_ms: float = 0.0
    watchdog_calls: int = 0
    events: list[str] = field(default_factory=list)


class GuardedBackend(Backend):
    """``backend`` with the guards of :class:`GuardOptions` (module doc); runs, describes and times itself as
    ``backend`` does. ``on_event(message)`` hears every event as it happens (standard error, a log)."""

    def __init__(
        self,
        backend: Backend,
        options: GuardOptions,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.backend, self.options, self.on_event = backend, options, on_event
        self.name = backend.name
        self.info = backend.info
        self.verification = backend.verification
        self.stats = GuardStats(deadline_ms=options.deadline_ms)
        self._last_good = 0  # tiles done at the last re-check that found nothing
        self._reference_weights = backend.weights_digest() if options.recheck_every else None
        self._canary = self._make_canary() if options.recheck_every else None

    # ------------------------------------------------------------------ the Backend interface
    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        logits = self.backend.run(hsi, x)
        elapsed = time.perf_counter() - start
        first = self.stats.tiles
        count = hsi.shape[0]
        if self.options.redundant:
            logits = self._redundant(hsi, x, logits, first)
        self._deadline(elapsed, count)
        self.stats.tiles += count
        every = self.options.recheck_every
        if every and self.stats.tiles // every > first // every:
            logits = self._recheck(hsi, x, logits, first)
        if self.options.watchdog is not None:
            for done in range(first + 1, self.stats.tiles + 1):
                self.options.watchdog(done)
                self.stats.watchdog_calls += 1
        return logits

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime] | None:
        return self.backend.layer_times(hsi, x, runs)

    def weights_digest(self) -> str | None:
        return self.backend.weights_digest()

    def reload(self) -> None:
        self.backend.reload()

    def report(self) -> dict:
        """The integrity section of a run summary: the open's verification and every guard event."""
        verification = self.verification.as_dict() if self.verification is not None else None
        return {
            "verification": verification,
            "options": {
                "recheck_every": self.options.recheck_every,
                "redundant": self.options.redundant,
                "deadline_ms": self.options.deadline_ms,
                "watchdog": self.options.watchdog is not None,
            },
            **asdict(self.stats),
        }

    # ------------------------------------------------------------------ guards
    def _event(self, message: str) -> None:
        self.stats.events.append(message)
        if self.on_event is not None:
            self.on_event(message)

    def _deadline(self, elapsed: float, count: int) -> None:
        per_tile_ms = 1e3 * elapsed / max(count, 1)
        self.stats.slowest_tile_ms = max(self.stats.slowest_tile_ms, per_tile_ms)
        if self.options.deadline_ms is not None and per_tile_ms > self.options.deadline_ms:
            self.stats.over_deadline += count

    def _redundant(self, hsi, x, logits: np.ndarray, first: int) -> np.ndarray:
        """A batch holding a K-th tile runs a second time, as it is (the same shapes: ONNX Runtime may pick
        another kernel for another batch size, which would differ in the last bits); every tile of it must
        give the same bits. On a mismatch the batch runs a third time and each differing tile keeps the
        output two runs agree on."""
        count = hsi.shape[0]
        every = self.options.redundant
        if (first + count - 1) // every == (first - 1) // every:
            return logits  # no multiple of K among tiles first .. first + count - 1
        second = self.backend.run(hsi, x)
        self.stats.redundant_runs += count
        if np.array_equal(second, logits):
            return logits
        third = self.backend.run(hsi, x)
        kept = logits.copy()
        for index in range(count):
            if np.array_equal(second[index], logits[index]):
                continue
            tile = first + index
            self.stats.redundant_mismatches += 1
            if np.array_equal(third[index], logits[index]):
                which = "the first"  # the second run was the odd one
            elif np.array_equal(third[index], second[index]):
                kept[index] = second[index]
                which = "the second"
            else:
                raise FailedError(
                    f"tile {tile}: three runs gave three different outputs, so no majority can be kept; "
                    "the hardware or the model in memory is not reliable (run stopped)"
                )
            self.stats.majority_kept += 1
            self._event(
                f"tile {tile}: its redundant run differed; a third run agreed with {which} run, which "
                "was kept"
            )
        return kept

    def _make_canary(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A fixed tile and the model's output bits for it at open."""
        info = self.backend.info
        if info.bands is None or info.x_channels is None:
            raise RuntimeInputError(
                "--recheck-every: got a model whose input channels are not fixed, expected fixed band "
                "and channel counts (the re-check runs a canary tile)"
            )
        size = info.tile or (64, 64)
        rng = np.random.default_rng(CANARY_SEED)
        hsi = rng.random((1, info.bands, *size), dtype=np.float32)
        x = rng.random((1, info.x_channels, *size), dtype=np.float32)
        if info.max_batch and info.max_batch > 1:  # a static batch: the canary fills it
            hsi, x = np.repeat(hsi, info.max_batch, 0), np.repeat(x, info.max_batch, 0)
        return hsi, x, self.backend.run(hsi, x)

    def _recheck(self, hsi, x, logits: np.ndarray, first: int) -> np.ndarray:
        """Hash the weights in memory and run the canary; on a change reload, run this batch again and report
        the tiles run since the last good check as at risk."""
        start = time.perf_counter()
        self.stats.rechecks += 1
        weights_changed = self.backend.weights_digest() != self._reference_weights
        canary_hsi, canary_x, expected = self._canary
        canary_changed = not np.array_equal(self.backend.run(canary_hsi, canary_x), expected)
        if weights_changed or canary_changed:
            what = " and ".join(
                w
                for w, changed in (
                    ("the weights in memory", weights_changed),
                    ("the canary tile's output", canary_changed),
                )
                if changed
            )
            self.stats.weights_changed += int(weights_changed)
            self.stats.canary_changed += int(canary_changed)
            self.backend.reload()
            self.stats.reloads += 1
            if self.backend.weights_digest() != self._reference_weights or not np.array_equal(
                self.backend.run(canary_hsi, canary_x), expected
            ):
                raise FailedError(
                    "the model reloaded from its verified file still differs from the one opened; the "
                    "hardware is not reliable (run stopped)"
                )
            at_risk = first - self._last_good
            self.stats.tiles_at_risk += at_risk
            self._event(
                f"re-check after tile {self.stats.tiles}: {what} changed since the open; the model was "
                f"reloaded from its verified file, tiles {first}-{self.stats.tiles - 1} were run again and "
                + (
                    f"tiles {self._last_good}-{first - 1} (run before this check) are at risk"
                    if at_risk
                    else "no earlier tile is at risk"
                )
            )
            logits = self.backend.run(hsi, x)
        self._last_good = self.stats.tiles
        self.stats.recheck_seconds += time.perf_counter() - start
        return logits


def integrity_summary(backend: Backend) -> dict:
    """The summary's ``integrity`` of any backend: a guarded one's report, else what its open verified."""
    if isinstance(backend, GuardedBackend):
        return backend.report()
    verification = backend.verification
    return {"verification": verification.as_dict() if verification is not None else None}


def guarded(
    backend: Backend, options: GuardOptions, on_event: Callable[[str], None] | None = None
) -> Backend:
    """``backend`` wrapped in the guards asked for, or itself when none is."""
    return GuardedBackend(backend, options, on_event) if options.active else backend
