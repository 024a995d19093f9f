"""Shared fixtures of the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real benchmark pieces (``../shared/data`` from the project root); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present (it lives outside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def small_houston():
    """A small Houston-like scene, generated once per test session."""
    from comix.data.synthetic import houston_like

    return houston_like(seed=7, height=96, width=160)
