"""Version dispatch: which TensorRT features each supported release gets, and the import of TensorRT."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from comix.tensorrt.version import (
    FEATURES,
    Capabilities,
    TensorRTUnavailable,
    TrtVersion,
    import_tensorrt,
)


def test_versions_parse_and_order():
    assert TrtVersion.parse("10.3.0.30") == TrtVersion(10, 3, 0)
    assert TrtVersion.parse("11.1") == TrtVersion(11, 1, 0)
    assert TrtVersion(10, 13) < TrtVersion(10, 15) < TrtVersion(11, 0)
    with pytest.raises(ValueError, match="expected 'MAJOR.MINOR"):
        TrtVersion.parse("eleven")


@pytest.mark.parametrize(
    "version, plugin_override, strongly_typed_flag, same_cc",
    [
        ("10.3.0", False, True, False),  # JetPack 6
        ("10.13.3", False, True, True),  # JetPack 7 / Thor
        ("10.15.1", True, True, True),  # first release with the parser flag
        ("11.1.0", True, False, True),  # strongly typed always; the flag is deprecated
    ],
)
def test_capabilities_per_release(version, plugin_override, strongly_typed_flag, same_cc):
    caps = Capabilities.for_version(version)
    assert (caps.plugin_override, caps.strongly_typed_flag, caps.same_compute_capability) == (
        plugin_override,
        strongly_typed_flag,
        same_cc,
    )


def test_every_feature_is_a_capability_field():
    assert set(FEATURES) <= set(Capabilities.__dataclass_fields__)


@pytest.mark.parametrize("version", ["8.6.1", "10.2.0"])
def test_releases_older_than_10_3_are_refused(version):
    with pytest.raises(TensorRTUnavailable, match=r"expected 10.3 \(JetPack 6\) or newer"):
        Capabilities.for_version(version)


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT's full package is installed"
)
def test_missing_tensorrt_says_what_to_install():
    with pytest.raises(TensorRTUnavailable) as error:
        import_tensorrt(builder=True)
    assert "JetPack" in str(error.value) and "pip install tensorrt-cu1" in str(error.value)


@pytest.mark.tensorrt
@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt_lean_bindings") is None,
    reason="TensorRT lean wheels absent: pip install -e '.[tensorrt-lean]'",
)
def test_lean_runtime_is_accepted_for_running_only():
    module, caps = import_tensorrt(builder=False)
    assert caps.lean is (module.__name__ != "tensorrt")
    assert caps.version >= TrtVersion(10, 3)
    assert hasattr(module, "Runtime") and hasattr(module, "IProfiler")


def test_a_broken_tensorrt_install_is_an_error_not_a_missing_one(tmp_path, monkeypatch):
    """Only ImportError/OSError mean "not installed": anything else surfaces (and fails the GPU tests
    instead of turning them into skips)."""
    package = tmp_path / "tensorrt"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('broken TensorRT install')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    with pytest.raises(RuntimeError, match="broken TensorRT install"):
        import_tensorrt(builder=True)
