"""Named wall-clock times of the steps of a long run (a demo, a calibration), in one place.

    clock = Stopwatch()
    with clock("train"):
        trainer.fit()
    clock.seconds            # {"train": 402.1}

A step timed twice adds up; an exception still records the time spent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Seconds per named step (see the module doc)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
