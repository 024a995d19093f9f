"""Fixtures for archive runs: a tiny exported model and a manifest of five small GeoTIFF scenes, one
corrupt."""

from __future__ import annotations

import pytest
from archive_helpers import export_tiny, write_archive


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory):
    return export_tiny(True, tmp_path_factory.mktemp("archive_model") / "tiny.onnx")


@pytest.fixture()
def archive(tmp_path):
    return write_archive(tmp_path / "archive")
