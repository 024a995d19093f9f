"""Settings shared by every test: the project importable from a checkout, one intra-op thread, a seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread_and_seeded():
    """Seed every test and run it on one intra-op thread: on a shared 2-core machine two OpenMP threads wait
    on each other at every op (measured on the model tests: 170-210 s with 2 threads under load, 18 s with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
