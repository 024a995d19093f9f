"""The 32/64-bit index choice of the shared DCN headers (comix_dcn/layout.h: needs_64bit_index), at its
boundary, through a small C++ driver (plugins/cuda/tests/index_width_check.cpp; g++ only, no CUDA).

32-bit kernels may form an index up to one GEMM tile past a count they are bounded by, so a count must
leave kInt32IndexHeadroom below 2^31 to use int32_t; the im2col grid-stride loops count in 64 bits (their
i + stride may pass 2^31 even when every i < total fits). The old choice switched to int64_t only at
2^31 elements, which let a count just below 2^31 run in int32_t and wrap.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "plugins" / "cuda" / "tests" / "index_width_check.cpp"
INT32_MAX = 2**31 - 1
HEADROOM = 2**16
LIMIT = INT32_MAX - HEADROOM  # largest count served by int32_t


@pytest.fixture(scope="module")
def choose(tmp_path_factory):
    """choose(lines) -> (constants, [{"largest", "wide"} per line]) from the compiled driver."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH: cannot build the index-width driver")
    binary = tmp_path_factory.mktemp("index_width") / "index_width_check"
    build = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{REPO / 'plugins' / 'include'}",
            str(DRIVER),
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, (
        f"building index_width_check: got exit {build.returncode}:\n{build.stderr}"
    )

    def run(lines: list[list[int]]):
        text = "".join(" ".join(map(str, line)) + "\n" for line in lines)
        result = subprocess.run(
            [str(binary)], input=text, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, (
            f"index_width_check: got exit {result.returncode}:\n{result.stderr}"
        )
        rows = [json.loads(row) for row in result.stdout.splitlines()]
        return rows[0], rows[1:]

    return run


def _2d(n=1, c=1, o=1, h=1, w=1, oh=1, ow=1, kh=1, kw=1, group=1, og=1, samples=1):
    return [2, n, c, o, h, w, oh, ow, kh, kw, group, og, samples]


def _3d(n=1, c=1, o=1, d=1, h=1, w=1, od=1, oh=1, ow=1, kd=1, kh=1, kw=1, group=1, og=1, samples=1):
    return [3, n, c, o, d, h, w, od, oh, ow, kd, kh, kw, group, og, samples]


def test_constants_leave_room_for_a_gemm_tile(choose):
    constants, _ = choose([])
    assert constants == {"headroom": HEADROOM, "max_count": LIMIT}
    assert constants["headroom"] >= 64, (
        "a 64-wide GEMM tile must fit the headroom (tiled_gemm.cuh static_asserts)"
    )


BOUNDARY = [
    # (what, call, largest count, expected 64-bit)
    ("X at the limit", _2d(w=LIMIT), LIMIT, False),
    ("X one past the limit", _2d(w=LIMIT + 1), LIMIT + 1, True),
    (
        "X 100 below 2^31 (the old threshold kept int32 and wrapped)",
        _2d(w=INT32_MAX - 100),
        INT32_MAX - 100,
        True,
    ),
    ("X at 2^31 - 1", _2d(w=INT32_MAX), INT32_MAX, True),
    ("3-D offset at the limit", _3d(ow=LIMIT // 3), LIMIT, False),
    ("3-D offset past the limit", _3d(ow=LIMIT // 3 + 1), LIMIT + 3, True),
    ("W and Y at the limit", _2d(o=LIMIT), LIMIT, False),
    ("W and Y past the limit", _2d(o=LIMIT + 1), LIMIT + 1, True),
    # C=4, 1x1 kernel, N=2, P=(LIMIT+1)/8: columns of one sample = offset = (LIMIT+1)/2, of two = LIMIT+1.
    (
        "columns of a 1-sample chunk",
        _2d(n=2, c=4, oh=8192, ow=32767, samples=1),
        (LIMIT + 1) // 2,
        False,
    ),
    ("columns of a 2-sample chunk", _2d(n=2, c=4, oh=8192, ow=32767, samples=2), LIMIT + 1, True),
]


def test_index_width_switches_exactly_past_the_limit(choose):
    assert LIMIT % 3 == 0 and (LIMIT + 1) == 8 * 8192 * 32767, (
        "the shapes below are built for these factors"
    )
    _, rows = choose([call for _, call, _, _ in BOUNDARY])
    for (what, _, largest, wide), row in zip(BOUNDARY, rows, strict=True):
        assert row == {"largest": largest, "wide": wide}, (
            f"{what}: got {row}, expected largest {largest}, wide {wide}"
        )


def test_bad_line_is_refused(choose):
    with pytest.raises(AssertionError, match="ND: got 4, expected 2 or 3"):
        choose([[4, 1, 1]])
