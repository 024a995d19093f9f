"""What a result records about its machine, the FP32 peak arithmetic, throughput and the memory monitor."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from comix.data.georef import GeoRef
from comix.profile.machine import cpu_record, describe, machine_record
from comix.profile.memory import PeakMemoryMonitor
from comix.profile.peak import core_peak, flops_per_cycle, fraction_of_peak, nominal_peak
from comix.profile.runner import scene_gsd, throughput


def test_the_machine_record_names_cpu_cores_and_versions():
    record = machine_record()
    cpu = record["cpu"]
    assert (
        cpu["model"]
        and cpu["logical_cores"] >= 1
        and 1 <= cpu["usable_cores"] <= cpu["logical_cores"]
    )
    assert {"python", "torch", "onnxruntime", "comix-deploy", "numpy"} <= set(record["versions"])
    assert isinstance(record["gpus"], list)
    assert f"{cpu['usable_cores']} usable of {cpu['logical_cores']} logical cores" in describe(
        record
    )


@pytest.mark.parametrize(
    "isa,per_cycle",
    [
        (["avx", "avx2", "fma"], 32),
        (["avx512f", "avx2", "fma"], 64),
        (["avx"], 16),
        (["asimd"], 16),
        (["sse4_2"], 8),
        ([], 0),
    ],
)
def test_fp32_flops_per_cycle_from_the_isa(isa, per_cycle):
    assert flops_per_cycle(isa)[0] == per_cycle


# /proc/cpuinfo first processor blocks, shortened to the lines that matter (flags as the kernel prints them)
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
cpu MHz\t\t: 2600.000
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl \
avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8 hypervisor

processor\t: 1
flags\t\t: fpu sse
"""
ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654 96-Core Processor
cpu MHz\t\t: 2400.000
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512_bf16 avx512_vnni
"""
HASWELL = """processor\t: 0
model name\t: Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz
cpu MHz\t\t: 2500.000
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2
"""
SANDY_BRIDGE = """processor\t: 0
model name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz
cpu MHz\t\t: 2600.000
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx
"""
ORIN = """processor\t: 0
model name\t: ARMv8 Processor rev 1 (v8l)
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize(
    "text, lanes, pipes, gflops, words",
    [
        (SAPPHIRE_RAPIDS, 16, 2, 166.4, ["AVX-512F", "2 FMA pipes x 16 FP32 lanes", "assumed"]),
        (ZEN4, 16, 2, 153.6, ["AVX-512F", "Zen 4"]),
        (HASWELL, 8, 2, 80.0, ["AVX2+FMA", "assumed"]),
        (SANDY_BRIDGE, 8, None, 41.6, ["AVX without FMA: 8 lanes x (1 add + 1 mul)"]),
        (ORIN, 4, 2, None, ["NEON", "clock unknown"]),
        ("", None, None, None, ["unknown ISA"]),
    ],
    ids=["sapphire-rapids", "zen4", "haswell", "sandy-bridge", "jetson-orin", "no-cpuinfo"],
)
def test_the_vector_width_comes_from_the_cpu_flags(tmp_path, text, lanes, pipes, gflops, words):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    peak = core_peak(cpu_record(cpuinfo), measure=False)
    assert (peak.lanes, peak.fma_pipes) == (lanes, pipes)
    if gflops is None:
        assert peak.nominal_gflops is None
    else:
        assert peak.nominal_gflops == pytest.approx(gflops)
    for word in words:
        assert word in peak.basis, peak.basis


def test_the_measured_sgemm_is_reported_as_a_fraction_of_the_nominal_peak(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(SAPPHIRE_RAPIDS)
    record = cpu_record(cpuinfo)
    assert {"avx512f", "avx512_vnni", "amx_tile", "avx2", "fma"} <= set(record["isa"])
    # the machine: 173.6 GFLOP/s measured; 2 x 16 x 2 x 2.6 GHz = 166.4 nominal
    peak = core_peak(record, measure=False).with_measured_gemm(173.6)
    assert peak.gemm_fraction_of_nominal == pytest.approx(173.6 / 166.4)
    sentence = peak.sentence()
    assert sentence.startswith("nominal 166.4 GFLOP/s (AVX-512F: 2 FMA pipes x 16 FP32 lanes x 2;")
    assert sentence.endswith("measured single-thread SGEMM 173.6 GFLOP/s (104 % of nominal)")
    unmeasured = core_peak(record, measure=False)
    assert unmeasured.sentence().endswith("SGEMM not measured")
    no_clock = nominal_peak(["avx2", "fma"], None).with_measured_gemm(50.0)
    assert no_clock.gemm_fraction_of_nominal is None and "nominal unknown" in no_clock.sentence()


def test_nominal_peak_and_the_fraction_reached_worked_example():
    peak = nominal_peak(["avx2", "fma"], 2445.406)
    assert peak.nominal_gflops == pytest.approx(78.253, abs=1e-3) and "2445 MHz" in peak.basis
    # comix_t: 0.641 GMACs per 128x128 tile in 60 ms on one core -> 2 * 0.641e9 / 0.06 / 78.253e9
    assert fraction_of_peak(641_000_000, 0.060, 1, peak.nominal_gflops) == pytest.approx(
        0.27304, abs=1e-5
    )
    assert fraction_of_peak(641_000_000, 0.060, 2, peak.nominal_gflops) == pytest.approx(
        0.13652, abs=1e-5
    )
    assert nominal_peak(["avx2", "fma"], None).nominal_gflops is None
    assert fraction_of_peak(0, 0.06, 1, 78.0) is None and fraction_of_peak(1, 0.06, 1, None) is None


def test_throughput_and_seconds_per_km2_worked_example():
    # median 50 ms per call of 2 tiles of 128 x 128; 2.5 m GSD; tiles overlap 48 px -> 80 x 80 new pixels each
    result = throughput(0.050, 2, (128, 128), 2.5, 48)
    assert result.tiles_per_second == pytest.approx(40.0)
    assert result.megapixels_per_second == pytest.approx(128 * 128 / 0.025 / 1e6)
    assert result.seconds_per_km2 == pytest.approx(0.025 / 6400 * 1e6 / 6.25)
    assert throughput(0.050, 1, (128, 128), None, 48).seconds_per_km2 is None


def test_gsd_comes_only_from_a_metric_projected_georeference():
    assert scene_gsd(GeoRef.from_origin(268000, 3290500, 2.5, 2.5, "EPSG:32615")) == pytest.approx(
        2.5
    )
    assert scene_gsd(GeoRef.from_origin(-95.4, 29.7, 2e-5, 2e-5, "EPSG:4326")) is None
    assert scene_gsd(GeoRef.from_origin(0, 0, 2.5, 3.0, "EPSG:32615")) is None
    assert scene_gsd(None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM reset is Linux-only")
def test_peak_memory_sees_an_allocation_inside_the_measurement():
    with PeakMemoryMonitor() as monitor:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        del block
    result = monitor.result
    assert result.host_method.startswith("VmHWM")
    assert result.host_growth_mib >= 48, result


def test_gpu_memory_from_nvidia_smi_samples(tmp_path, monkeypatch):
    """Any non-PyTorch GPU backend: used memory sampled by nvidia-smi (a fake one here), peak minus start."""
    import os
    import stat
    import time

    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = "--id=1" ] || exit 3\n'
        'for v in 1000 1200 1750 1300; do echo "$v"; sleep 0.05; done\nsleep 5\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")  # the process's first GPU is device 1
    with PeakMemoryMonitor("gpu") as monitor:
        time.sleep(0.6)
    assert monitor.result.device_peak_mib == pytest.approx(750.0)
    assert monitor.result.device_method.startswith("nvidia-smi")
    with pytest.raises(ValueError, match="expected 'cpu', 'torch-cuda' or 'gpu'"):
        PeakMemoryMonitor("tpu")


def test_memory_device_follows_where_the_backend_runs():
    """PyTorch on CUDA -> its allocator; ONNX Runtime on a GPU provider or TensorRT -> nvidia-smi; else
    host."""
    from types import SimpleNamespace

    from comix.profile.runner import memory_device

    def ort(*providers):
        return SimpleNamespace(
            name="onnxruntime", session=SimpleNamespace(get_providers=lambda: list(providers))
        )

    assert memory_device(SimpleNamespace(name="torch", device="cuda:0")) == "torch-cuda"
    assert memory_device(SimpleNamespace(name="torch", device="cpu")) == "cpu"
    assert memory_device(ort("CUDAExecutionProvider", "CPUExecutionProvider")) == "gpu"
    assert memory_device(ort("TensorrtExecutionProvider")) == "gpu"
    assert memory_device(ort("CPUExecutionProvider")) == "cpu"
    assert memory_device(SimpleNamespace(name="tensorrt")) == "gpu"
