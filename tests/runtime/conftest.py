"""Fixtures for runtime tests: ONNX exports of the tiny network, made once per session
(a portable dynamic graph ~10 s, a canonical one ~5 s on 2 cores)."""

from __future__ import annotations

import pytest
from runtime_helpers import export_tiny


@pytest.fixture(scope="session")
def portable_onnx(tmp_path_factory):
    """A dynamic-shape portable ONNX export of :func:`tiny_net` (ai.onnx ops only)."""
    return export_tiny(True, tmp_path_factory.mktemp("onnx") / "tiny.portable.onnx")


@pytest.fixture(scope="session")
def canonical_onnx(tmp_path_factory):
    """A dynamic-shape canonical ONNX export of :func:`tiny_net` (has an ai.comix DeformConv3D node)."""
    return export_tiny(False, tmp_path_factory.mktemp("onnx") / "tiny.canonical.onnx")
