"""Fixtures for the plugin tests: the ONNX Runtime custom-op library, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comix.plugins.build import (
    DEFAULT_BUILD_DIR,
    ENV_PLUGIN_DIR,
    ORT_TARGET,
    build_plugins,
    find_ort_library,
    missing_build_tools,
)


@pytest.fixture(scope="session")
def ort_dcn_library() -> Path:
    """Path of libcomix_ort_dcn.so: prebuilt in $COMIX_PLUGIN_DIR, else built into plugins/build/ now."""
    if os.environ.get(ENV_PLUGIN_DIR):
        return find_ort_library()
    missing = missing_build_tools(onnxruntime=True)
    if missing:
        pytest.skip(
            f"cannot build the ONNX Runtime custom-op library: missing {', '.join(missing)} "
            "(apt-get install -y cmake g++ libeigen3-dev npm)"
        )
    built = build_plugins(DEFAULT_BUILD_DIR, cuda=False, targets=[ORT_TARGET])
    return built[ORT_TARGET]
