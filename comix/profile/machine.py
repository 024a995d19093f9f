"""What a measurement ran on: CPU, cores, threads, load, memory, GPU, and the versions of every tool.

Recorded in every profile and benchmark result, so a number is never quoted without its machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path

from comix.metadata import tool_versions

# instruction-set flags worth knowing for CPU kernels (x86 and Arm names from /proc/cpuinfo)
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "amx_tile",
    "asimd",
    "asimdhp",
    "sve",
    "sve2",
    "i8mm",
    "bf16",
)
EXTRA_TOOLS = ("numpy", "tensorrt", "onnxruntime-gpu")
CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo(path: Path = CPUINFO) -> dict[str, str]:
    """The first processor block of /proc/cpuinfo (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_record(cpuinfo: Path = CPUINFO) -> dict:
    """CPU model, logical cores (all and usable by this process), clock, ISA flags, memory, load; the model,
    clock and flags are read from ``cpuinfo`` (another file in tests)."""
    info = _cpuinfo(cpuinfo)
    flags = set((info.get("flags") or info.get("Features") or "").split())
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = []
    model = (
        info.get("model name") or info.get("Model") or platform.processor() or platform.machine()
    )
    return {
        "model": model,
        "architecture": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "mhz": float(info["cpu MHz"]) if "cpu MHz" in info else None,
        "isa": sorted(flags & set(ISA_FLAGS)),
        "hypervisor": "hypervisor" in flags,
        "memory_gib": round(memory_kib / 2**20, 1),
        "load_average": load,
    }


def gpu_record() -> list[dict]:
    """One entry per NVIDIA GPU from ``nvidia-smi`` (name, memory, driver); empty without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        result = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in result.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory_mib": int(float(parts[1])), "driver": parts[2]})
    return gpus


def jetson_release() -> str:
    """The L4T release line of a Jetson (``/etc/nv_tegra_release``), else empty."""
    try:
        return Path("/etc/nv_tegra_release").read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def versions() -> dict[str, str]:
    """Python, the OS, and every tool of the toolchain that is installed."""
    found = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        **tool_versions(),
    }
    for tool in EXTRA_TOOLS:
        try:
            found[tool] = importlib_metadata.version(tool)
        except importlib_metadata.PackageNotFoundError:
            pass
    return found


def machine_record() -> dict:
    """Everything above in one JSON-ready dict."""
    record = {
        "host": platform.node(),
        "cpu": cpu_record(),
        "gpus": gpu_record(),
        "versions": versions(),
    }
    jetson = jetson_release()
    if jetson:
        record["jetson"] = jetson
    return record


def describe(record: dict) -> str:
    """One line for tables and plots: ``AMD EPYC (KVM guest), 2 logical cores, ... torch 2.13.0``."""
    cpu = record["cpu"]
    parts = [
        f"{cpu['model']}" + (" (virtual machine)" if cpu.get("hypervisor") else ""),
        f"{cpu['usable_cores']} usable of {cpu['logical_cores']} logical cores",
    ]
    if cpu.get("load_average"):
        parts.append(f"load {cpu['load_average'][0]:g}")
    parts += [f"GPU {g['name']}" for g in record.get("gpus", [])]
    v = record["versions"]
    parts.append(f"onnxruntime {v.get('onnxruntime', 'absent')}, torch {v.get('torch', 'absent')}")
    return ", ".join(parts)
