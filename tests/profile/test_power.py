"""Jetson power from tegrastats: the line formats of several boards, and the sampler around a run."""

from __future__ import annotations

import os
import stat

import pytest

from comix.profile.power import TegrastatsSampler, input_power_mw, parse_rails

ORIN_NANO = (
    "11-27-2026 10:00:01 RAM 2380/7620MB (lfb 1138x4MB) SWAP 0/3810MB (cached 0MB) CPU [1%@1510,0%@1510] "
    "EMC_FREQ 0% GR3D_FREQ 61% cpu@49.5C gpu@48C VDD_IN 7104mW/6552mW VDD_CPU_GPU_CV 2638mW/2100mW "
    "VDD_SOC 1436mW/1436mW"
)
XAVIER = "RAM 1933/31919MB SWAP 0/15959MB CPU [2%@1190] POM_5V_IN 3890/3890 POM_5V_GPU 0/0 POM_5V_CPU 459/459"
AGX_ORIN = (
    "RAM 5000/30000MB GR3D_FREQ 0% VDD_GPU_SOC 3600mW/3600mW VDD_CPU_CV 800mW/800mW "
    "VIN_SYS_5V0 4000mW/4000mW"
)


def test_rails_of_each_board_format():
    assert parse_rails(ORIN_NANO) == {"VDD_IN": 7104, "VDD_CPU_GPU_CV": 2638, "VDD_SOC": 1436}
    assert parse_rails(XAVIER) == {"POM_5V_IN": 3890, "POM_5V_GPU": 0, "POM_5V_CPU": 459}
    assert input_power_mw(parse_rails(ORIN_NANO)) == (7104.0, "VDD_IN")
    assert input_power_mw(parse_rails(XAVIER)) == (3890.0, "POM_5V_IN")
    assert input_power_mw(parse_rails(AGX_ORIN)) == (
        8400.0,
        "sum of VDD_CPU_CV+VDD_GPU_SOC+VIN_SYS_5V0",
    )
    assert input_power_mw(parse_rails("RAM 1/2MB SWAP 0/1MB")) is None


def test_sampler_reads_tegrastats_while_work_runs(tmp_path, monkeypatch):
    fake = tmp_path / "tegrastats"
    fake.write_text("#!/bin/sh\nwhile true; do echo '" + ORIN_NANO + "'; sleep 0.02; done\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    import time

    with TegrastatsSampler(interval_ms=20) as sampler:
        deadline = time.monotonic() + 5
        while not sampler.samples.milliwatts and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sampler.samples.source == "VDD_IN" and sampler.samples.mean_watts == pytest.approx(7.104)


def test_no_tegrastats_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="got no tegrastats on PATH, expected a Jetson"):
        with TegrastatsSampler():
            pass
