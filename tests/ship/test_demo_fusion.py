"""``comix demo --task pansharpen``, end to end at a small size (slow: it trains and exports)."""

from __future__ import annotations

import json

import pytest

from comix.ship.demo import FusionDemoOptions, run_fusion_demo


@pytest.mark.slow
def test_fusion_demo_writes_a_report_with_the_metrics_table_and_pictures(tmp_path):
    options = FusionDemoOptions(
        task="pansharpen",
        output=tmp_path / "demo",
        size=64,
        train_scenes=1,
        steps=3,
        width=8,
        patch=16,
        batch_size=2,
    )
    summary = run_fusion_demo(options)
    out = tmp_path / "demo"
    report = (out / "report.md").read_text()
    assert (
        "| SHIP |" in report
        and "| brovey |" in report
        and "![before and after](comparison.png)" in report
    )
    assert set(summary["held_out"]["SHIP"]) == {"psnr", "ssim", "sam", "ergas", "q2n"}
    assert set(summary["held_out_full_resolution"]["gram_schmidt"]) >= {
        "d_lambda",
        "d_s",
        "qnr",
        "truth_psnr",
    }
    assert (
        summary["export"]["parity"] == "passed"
        and summary["inference"]["max_abs_difference_vs_torch"] < 1e-4
    )
    assert (out / "comparison.png").stat().st_size > 0 and (out / "infer" / "fused.tif").is_file()
    assert json.loads((out / "summary.json").read_text())["options"]["task"] == "pansharpen"
    assert (out / "data" / "train.h5").is_file() and (out / "data" / "test_full.h5").is_file()
