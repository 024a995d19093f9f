"""``COMIX_REQUIRE_GPU=1`` (tests/conftest.py): a skipped ``gpu``/``tensorrt`` test fails (a skip in
setup is reported as an error, one in the test body as a failure); other tests are untouched."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")
TESTS = """
import pytest

@pytest.mark.gpu
def test_gpu_skipped():
    pytest.skip("no CUDA GPU")

@pytest.mark.tensorrt
@pytest.mark.skipif(True, reason="no TensorRT builder")
def test_tensorrt_skipped():
    pass

def test_plain_skipped():
    pytest.skip("not a hardware test")

@pytest.mark.gpu
def test_gpu_passes():
    pass

@pytest.mark.gpu
@pytest.mark.xfail(reason="known")
def test_gpu_xfail():
    raise AssertionError
"""


def _run(pytester, monkeypatch, value: str | None):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    gpu: g\n    tensorrt: t\n")
    pytester.makepyfile(test_sample=TESTS)
    if value is None:
        monkeypatch.delenv("COMIX_REQUIRE_GPU", raising=False)
    else:
        monkeypatch.setenv("COMIX_REQUIRE_GPU", value)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")


def test_skips_of_hardware_tests_fail_when_required(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "1")
    result.assert_outcomes(failed=1, errors=1, skipped=1, passed=1, xfailed=1)
    output = result.stdout.str()
    assert "COMIX_REQUIRE_GPU=1: this gpu test skipped (Skipped: no CUDA GPU)" in output
    assert (
        "COMIX_REQUIRE_GPU=1: this tensorrt test skipped (Skipped: no TensorRT builder)" in output
    )


def test_skips_stay_skips_otherwise(pytester, monkeypatch):
    for value in (None, "0"):
        _run(pytester, monkeypatch, value).assert_outcomes(skipped=3, passed=1, xfailed=1)
