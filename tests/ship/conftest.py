"""Fixtures of the fusion tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_scene():
    """A 128 x 128 Houston-like scene (about a second to make)."""
    from comix.data.synthetic import houston_like

    return houston_like(seed=3, height=128, width=128)
