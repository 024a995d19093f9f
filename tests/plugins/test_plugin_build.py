"""plugins/build.py: locating the ONNX Runtime custom-op library (no compiler needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comix.plugins import build


def test_find_ort_library_prefers_the_env_folder(tmp_path: Path, monkeypatch) -> None:
    library = tmp_path / "onnxruntime" / build.ORT_LIBRARY
    library.parent.mkdir()
    library.write_bytes(b"")
    monkeypatch.setenv(build.ENV_PLUGIN_DIR, str(tmp_path))
    assert build.find_ort_library() == library.resolve()


def test_find_ort_library_names_every_place_searched(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(build.ENV_PLUGIN_DIR, str(tmp_path))
    monkeypatch.setattr(build, "DEFAULT_BUILD_DIR", tmp_path / "nothing_here")
    with pytest.raises(FileNotFoundError) as error:
        build.find_ort_library()
    message = str(error.value)
    assert str(tmp_path / build.ORT_LIBRARY) in message
    assert str(tmp_path / "nothing_here" / "onnxruntime" / build.ORT_LIBRARY) in message


def test_built_libraries_skips_fetched_and_intermediate_files(tmp_path: Path) -> None:
    for relative in (
        "onnxruntime/libcomix_ort_dcn.so",
        "cpu/libcomix_dcn_cpu.a",
        "third_party/onnxruntime/libonnxruntime.so",
        "cpu/CMakeFiles/libjunk.a",
    ):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert build.built_libraries(tmp_path) == {
        "comix_ort_dcn": tmp_path / "onnxruntime/libcomix_ort_dcn.so",
        "comix_dcn_cpu": tmp_path / "cpu/libcomix_dcn_cpu.a",
    }


def test_build_plugins_reports_a_failed_configure(tmp_path: Path, monkeypatch) -> None:
    if build.shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    monkeypatch.setattr(build, "PLUGINS_DIR", tmp_path / "no_such_source")
    with pytest.raises(build.PluginBuildError, match="expected 0"):
        build.build_plugins(tmp_path / "build")
