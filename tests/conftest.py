"""Settings shared by every test: the project importable from a checkout, one intra-op thread, a seed, and
``COMIX_REQUIRE_GPU=1`` turning skips of GPU/TensorRT tests into failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread_and_seeded():
    """Seed every test and run it on one intra-op thread: on a shared 2-core machine two OpenMP threads
    wait on each other at every op (measured on the model tests: 170-210 s with 2 threads under load,
    18 s with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


REQUIRE_GPU = "COMIX_REQUIRE_GPU"
HARDWARE_MARKERS = ("gpu", "tensorrt")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ``COMIX_REQUIRE_GPU=1`` (set by tools/gpu_check.sh on a GPU host) a skipped ``gpu`` or
    ``tensorrt`` test is a failure: there, a skip means the GPU path did not run (an import that broke, a
    library that was not built), and it must not pass silently. Deselect what the host cannot run
    (``-m "gpu and not tensorrt"`` where TensorRT is absent) instead of letting it skip."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(REQUIRE_GPU) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    markers = [m for m in HARDWARE_MARKERS if item.get_closest_marker(m) is not None]
    if not markers:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{REQUIRE_GPU}=1: this {'/'.join(markers)} test skipped ({reason}); "
        "on this host it must run"
    )
