"""tools/bench_gpu_dcn.py on a CPU: argument checks, the shapes it reads from the models, the rows it
plans (methods, TF32 statements, FLOP and byte counts) and the target verdicts — everything but the
timing, which needs a GPU (tools/gpu_check.sh runs it there)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_gpu_dcn", REPO / "tools" / "bench_gpu_dcn.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def plan(bench, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "plan.json"
    assert bench.main(["--dry-run", "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_shapes_are_the_models_own_dcn_calls(plan):
    shapes = {(s["ndim"], s["channels"], tuple(s["size"])): s["variants"] for s in plan["shapes"]}
    # comix_t at a 128 x 128 tile: X-branch 2-D DCNs at 1/4 .. 1/32, HSI 3-D DCNs with a halved band axis
    assert shapes[(2, 32, (32, 32))] == ["comix_t"] and shapes[(2, 512, (4, 4))] == ["comix_s"]
    assert shapes[(3, 8, (8, 32, 32))] == ["comix_t"] and shapes[(3, 16, (16, 32, 32))] == [
        "comix_s"
    ]
    assert shapes[(2, 64, (16, 16))] == ["comix_t"] and shapes[(2, 64, (32, 32))] == ["comix_s"]
    assert len(shapes) == 16, sorted(shapes)


def test_every_row_says_its_method_batch_and_tf32(plan):
    rows = plan["rows"]
    assert {(r["ndim"], r["batch"]) for r in rows} == {(2, 16), (3, 4)}
    methods = {(r["ndim"], r["dtype"], r["method"], r["tf32"]) for r in rows}
    assert methods == {
        (2, "fp32", "ours", "never"),
        (2, "fp32", "torchvision", "off"),
        (2, "fp32", "cudnn conv2d", "off"),
        (2, "fp32", "cudnn conv2d", "on"),
        (2, "fp16", "ours", "never"),
        (2, "fp16", "torchvision", "off"),
        (2, "fp16", "cudnn conv2d", "n/a"),
        (3, "fp32", "ours", "never"),
        (3, "fp32", "cudnn conv3d", "off"),
        (3, "fp32", "cudnn conv3d", "on"),
        (3, "fp16", "ours", "never"),
        (3, "fp16", "cudnn conv3d", "n/a"),
    }
    assert all(r["median_ms"] is None for r in rows) and plan["environment"]["dry_run"] is True


def test_flop_and_byte_counts(plan):
    row = next(
        r
        for r in plan["rows"]
        if r["shape"] == "2d 16x32->32 32x32" and r["dtype"] == "fp16" and r["method"] == "ours"
    )
    n, c, o, k, p = 16, 32, 32, 9, 32 * 32
    assert row["flops"] == 2 * n * o * c * k * p
    dense = n * c * p + o * c * k + o + n * o * p
    assert row["bytes"] == 2 * (dense + n * k * p * 3)  # offsets (2) and mask (1) per point, FP16
    conv = next(
        r
        for r in plan["rows"]
        if r["shape"] == row["shape"] and r["dtype"] == "fp32" and r["tf32"] == "on"
    )
    assert conv["bytes"] == 4 * dense and conv["flops"] == row["flops"]


def test_target_verdicts(bench):
    table = [
        {
            "shape": "2d a",
            "dtype": "fp16",
            "ours/torchvision tf32 off": 0.25,
            "ours/cudnn conv2d tf32 n/a": 1.5,
        },
        {
            "shape": "2d b",
            "dtype": "fp16",
            "ours/torchvision tf32 off": 0.5,
            "ours/cudnn conv2d tf32 n/a": 2.5,
        },
        {"shape": "3d c", "dtype": "fp32", "ours/cudnn conv3d tf32 off": 2.0},
    ]
    verdicts = bench.target_verdicts(table)
    assert verdicts["2d_vs_torchvision_fp16"] == {"worst_speedup": 2.0, "target": 3.0, "met": False}
    assert verdicts["2d_vs_cudnn"]["worst_ratio"] == 2.5 and not verdicts["2d_vs_cudnn"]["met"]
    assert verdicts["3d_vs_cudnn"]["met"] and math.isclose(
        verdicts["3d_vs_cudnn"]["worst_ratio"], 2.0
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tile", "100"], "--tile: got 100, expected a multiple of 32"),
        (["--batch-2d", "0"], "--batch-2d: got 0, expected >= 1"),
        (["--json", "/no/such/folder/x.json"], "got a folder that does not exist"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(bench, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--dry-run", *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_without_a_gpu_it_says_so_and_exits_2(bench, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible here")
    assert bench.main([]) == 2
    assert "with no CUDA GPU" in capsys.readouterr().err
