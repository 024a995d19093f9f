"""Load the plugin library into TensorRT's own plugin registry through the lean runtime (no GPU needed).

The pip wheels ``tensorrt-lean-cu13-libs`` / ``tensorrt-lean-cu13-bindings`` (same major version as the
headers, e.g. 11.1.0.106 for the 11.1 headers) ship libnvinfer_lean; its plugin registry works on a
machine without a GPU or CUDA driver (creating a Runtime does not: it fails with CUDA error 35). Two
drivers:

* a small C++ program (plugins/tensorrt/tests/leanRegistryCheck.cpp) takes the registry from
  libnvinfer_lean, loads the library with ``IPluginRegistry::loadLibrary`` and calls the creators and the
  plugins' build/runtime interfaces that need no GPU; it prints observations as JSON, asserted here;
* the Python bindings (``tensorrt_lean_bindings``): ``load_library``, creator listing, ``create_plugin``.

Skips with the reason unless TensorRT headers (``TensorRT_ROOT`` or ``third_party/tensorrt-<ver>/``), nvcc,
g++ and the lean wheels of the same major version are all present.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from comix.ops.geometry import DeformConvGeometry
from comix.ops.spec import (
    TRT_DEFORM_CONV_2D,
    TRT_DEFORM_CONV_2D_ALIAS,
    TRT_DEFORM_CONV_3D,
    TRT_PLUGIN_NAMESPACE,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "check_tensorrt_headers.sh"
DRIVER = REPO / "plugins" / "tensorrt" / "tests" / "leanRegistryCheck.cpp"

pytestmark = [pytest.mark.tensorrt, pytest.mark.slow]


def _header_version(folder: Path) -> tuple[int, int]:
    text = (folder / "include" / "NvInferVersion.h").read_text()
    parts = []
    for part in ("MAJOR", "MINOR"):
        match = re.search(rf"#define (?:TRT_{part}_ENTERPRISE|NV_TENSORRT_{part}) (\d+)", text)
        parts.append(int(match.group(1)) if match else -1)
    return parts[0], parts[1]


def _lean_install() -> tuple[str, Path] | None:
    """(bindings version, libnvinfer_lean path) of the installed lean wheels, or None."""
    if (
        importlib.util.find_spec("tensorrt_lean_bindings") is None
        or importlib.util.find_spec("tensorrt_lean_libs") is None
    ):
        return None
    libs = Path(importlib.util.find_spec("tensorrt_lean_libs").origin).parent
    candidates = sorted(libs.glob("libnvinfer_lean.so.*"))
    if not candidates:
        return None
    version_file = Path(importlib.util.find_spec("tensorrt_lean_bindings").origin)
    match = re.search(r'__version__ = "([\d.]+)"', version_file.read_text())
    return (match.group(1) if match else "unknown"), candidates[0]


def _headers_for_major(major: int) -> tuple[str, Path] | None:
    roots = []
    if os.environ.get("TensorRT_ROOT"):  # noqa: SIM112 - CMake's variable name
        roots.append(Path(os.environ["TensorRT_ROOT"]))  # noqa: SIM112
    roots += sorted((REPO / "third_party").glob("tensorrt-*"), reverse=True)
    for root in roots:
        if (root / "include" / "NvInferVersion.h").is_file():
            found_major, found_minor = _header_version(root)
            if found_major == major:
                return f"{found_major}.{found_minor}", root
    return None


def _setup() -> tuple[dict | None, str]:
    lean = _lean_install()
    if lean is None:
        return (
            None,
            "TensorRT lean wheels absent: pip install tensorrt-lean-cu13-libs tensorrt-lean-cu13-bindings",
        )
    lean_version, lean_lib = lean
    major = int(lean_version.split(".")[0])
    headers = _headers_for_major(major)
    if headers is None:
        return None, (
            f"no TensorRT {major}.x headers for the installed lean runtime {lean_version}: set TensorRT_ROOT "
            f"or fetch NVIDIA/TensorRT release/{major}.x include/ into third_party/tensorrt-<ver>/"
        )
    for tool in ("nvcc", "g++"):
        if shutil.which(tool) is None:
            return None, f"{tool} not on PATH: cannot build the plugin library"
    return {
        "lean_version": lean_version,
        "lean_lib": lean_lib,
        "header_version": headers[0],
        "headers": headers[1],
    }, ""


SETUP, SKIP_REASON = _setup()
requires_lean = pytest.mark.skipif(SETUP is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Builds the plugin library (one arch) and the registry driver against the matching headers."""
    work = tmp_path_factory.mktemp("trt_lean")
    staged = work / "headers"
    staged.mkdir()
    version = SETUP["header_version"]
    (staged / f"tensorrt-{version}").symlink_to(SETUP["headers"])
    build = subprocess.run(
        [
            "bash",
            str(SCRIPT),
            str(staged),
            "--archs",
            "90",
            "--ptx",
            "",
            "--only",
            version,
            "--out",
            str(work / "build"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, (
        f"building the plugin library: got exit {build.returncode}:\n{build.stdout}{build.stderr}"
    )
    library = work / "build" / version / "libcomix_trt_plugins.so"
    driver = work / "leanRegistryCheck"
    compiled = subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-isystem",
            str(SETUP["headers"] / "include"),
            "-isystem",
            str(_cuda_include()),
            str(DRIVER),
            "-o",
            str(driver),
            "-ldl",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert compiled.returncode == 0, (
        f"building the registry driver: got exit {compiled.returncode}:\n{compiled.stderr}"
    )
    run = subprocess.run(
        [str(driver), str(SETUP["lean_lib"]), str(library)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, (
        f"registry driver: got exit {run.returncode}, expected 0:\n{run.stdout}\n{run.stderr}"
    )
    return {"library": library, "observed": json.loads(run.stdout), "log": run.stderr}


def _cuda_include() -> Path:
    dry = subprocess.run(
        ["nvcc", "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True
    )
    top = re.search(r"^#\$ TOP=(.*)$", dry.stdout + dry.stderr, re.M)
    assert top, "nvcc --dryrun: got no TOP= line, expected the toolkit root"
    root = Path(top.group(1)).resolve()
    return (
        root / "include"
        if (root / "include" / "cuda_runtime_api.h").exists()
        else root.parent / "include"
    )


@requires_lean
def test_creators_listed_in_tensorrt_registry(built):
    observed = built["observed"]
    assert observed["loaded"] is True
    creators = {c["name"]: c for c in observed["creators"]}
    for (name, version), nd in (
        (TRT_DEFORM_CONV_2D, 2),
        (TRT_DEFORM_CONV_3D, 3),
        (TRT_DEFORM_CONV_2D_ALIAS, 2),
    ):
        assert name in creators, f"registry creators: got {sorted(creators)}, expected {name}"
        assert creators[name]["version"] == version
        assert creators[name]["namespace"] == TRT_PLUGIN_NAMESPACE
        assert creators[name]["fields"] == [
            ["kernel_shape", nd],
            ["strides", nd],
            ["pads", 2 * nd],
            ["dilations", nd],
            ["group", 1],
            ["offset_group", 1],
        ]


EXPECTED_ATTRIBUTES = {
    "2d_asymmetric": {
        "kernel_shape": [3, 2],
        "strides": [2, 1],
        "pads": [1, 0, 0, 1],
        "dilations": [2, 1],
        "group": [2],
        "offset_group": [2],
    },
    "2d_defaults_no_kernel": {
        "strides": [1, 1],
        "pads": [0, 0, 0, 0],
        "dilations": [1, 1],
        "group": [1],
        "offset_group": [1],
    },
    "3d_asymmetric": {
        "kernel_shape": [3, 2, 1],
        "strides": [2, 1, 1],
        "pads": [1, 0, 0, 1, 0, 0],
        "dilations": [1, 2, 1],
        "group": [1],
        "offset_group": [1],
    },
}
INT32 = 5  # nvinfer1::PluginFieldType::kINT32


@requires_lean
@pytest.mark.parametrize("case", sorted(EXPECTED_ATTRIBUTES))
def test_serialized_fields_recreate_an_equal_plugin(built, case):
    result = built["observed"]["roundtrip"][case]
    assert result["created"] is True, f"{case}: got no plugin from valid fields\n{built['log']}"
    original = result["original"]
    assert {k: v["values"] for k, v in original.items()} == EXPECTED_ATTRIBUTES[case]
    assert all(v["type"] == INT32 for v in original.values())
    assert result["recreated"] == original, (
        f"{case}: recreated {result['recreated']}, expected {original}"
    )
    assert result["clone_fields"] == original


BAD_CASES = {
    "stride_zero": "attribute 'strides'[0]: got 0, expected",
    "pads_short": "attribute 'pads': got 3 values, expected 6",
    "kernel_2_values_for_3d": "attribute 'kernel_shape': got 2 values, expected 3",
    "unknown_name": "attribute 'stride': unknown",
    "repeated": "attribute 'group': given twice",
    "negative_pad": "attribute 'pads'[1]: got -1, expected",
    "group_zero": "attribute 'group'[0]: got 0, expected",
    "dilation_huge": "attribute 'dilations'[1]: got 1073741824, expected",
    "float_strides": "attribute 'strides': got type FLOAT32, expected INT32 or INT64",
}


@requires_lean
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_fields_refused_with_a_message(built, case):
    assert built["observed"]["bad"][case] is False, (
        f"{case}: got a plugin, expected the creator to refuse"
    )
    message = [line for line in built["log"].splitlines() if f"createPlugin('{case}'" in line]
    assert message, f"{case}: got no log line for the refusal; log:\n{built['log']}"
    assert BAD_CASES[case] in message[0], (
        f"{case}: got {message[0]!r}, expected it to contain {BAD_CASES[case]!r}"
    )


def _expected_workspace(
    channels: int, kernel_points: int, out_size: tuple[int, ...], batch: int
) -> int:
    positions = 1
    for s in out_size:
        positions *= s
    per_sample = channels * kernel_points * positions * 4  # FP32 columns
    return min(batch * per_sample, max(per_sample, 256 << 20))


@requires_lean
def test_build_interface_3d(built):
    observed = built["observed"]["shapes3d"]
    geometry = DeformConvGeometry.build(
        3, (3, 2, 1), stride=(2, 1, 1), padding=(1, 0, 0, 1, 0, 0), dilation=(1, 2, 1)
    )
    out_size = geometry.output_size((7, 6, 5))
    assert observed["output_shape_rc"] == 0
    assert observed["output_shape"] == [2, 6, *out_size]
    assert observed["nb_outputs"] == 1
    assert (observed["output_type_rc"], observed["output_type"]) == (0, 1)  # kHALF in, kHALF out
    assert observed["int8_output_type_rc"] == -1
    assert observed["supports_linear"] is True
    assert observed["supports_mixed_types"] is False
    assert observed["supports_hwc8"] is False
    assert observed["configure_rc"] == 0
    assert observed["workspace_bytes"] == _expected_workspace(
        4, geometry.kernel_points, out_size, batch=2
    )
    assert observed["shape_change_rc"] == 0
    assert observed["bad_offset_shape_change_rc"] == -1
    assert "input offset: got shape [2, 19, 4, 4, 5], expected [2, 18, 4, 4, 5]" in built["log"]


@requires_lean
def test_build_interface_2d_kernel_from_weight(built):
    observed = built["observed"]["shapes2d"]
    geometry = DeformConvGeometry.build(2, (3, 2))
    out_size = geometry.output_size((5, 7))
    assert observed["output_shape"] == [1, 8, *out_size]
    assert (observed["output_type_rc"], observed["output_type"]) == (0, 0)  # kFLOAT
    assert observed["configure_rc"] == 0 and observed["shape_change_rc"] == 0
    assert observed["workspace_bytes"] == _expected_workspace(4, 6, out_size, batch=1)
    fields = built["observed"]["shapes2d_fields_after_configure"]
    assert fields["kernel_shape"]["values"] == [3, 2], (
        "kernel_shape resolved from W must be serialized"
    )


@requires_lean
def test_python_bindings_registry(built):
    """Same library through tensorrt_lean_bindings (in a subprocess: a crash must not take pytest down)."""
    code = textwrap.dedent(f"""
        import json, numpy as np
        import tensorrt_lean_bindings as trt
        registry = trt.get_plugin_registry()
        handle = registry.load_library({str(built["library"])!r})
        names = sorted((c.name, c.plugin_version) for c in registry.all_creators if "DeformConv" in c.name)
        creator = registry.get_creator("DeformConv3D", "1", "")
        good = trt.PluginFieldCollection([
            trt.PluginField("kernel_shape", np.array([3, 2, 1], dtype=np.int32), trt.PluginFieldType.INT32),
            trt.PluginField("pads", np.array([1, 0, 0, 1, 0, 0], dtype=np.int64), trt.PluginFieldType.INT64)])
        bad = trt.PluginFieldCollection([
            trt.PluginField("strides", np.array([1, 1], dtype=np.int32), trt.PluginFieldType.INT32)])
        plugin = creator.create_plugin("py_good", good, trt.TensorRTPhase.BUILD)
        core = plugin.get_capability_interface(trt.PluginCapabilityType.CORE) if plugin is not None else None
        refused = creator.create_plugin("py_bad", bad, trt.TensorRTPhase.BUILD)
        alias = registry.get_creator("DeformConv2D", "1", "")
        fields2d = trt.PluginFieldCollection([
            trt.PluginField("kernel_shape", np.array([3, 2], dtype=np.int32), trt.PluginFieldType.INT32)])
        aliased = (alias.create_plugin("py_alias", fields2d, trt.TensorRTPhase.BUILD)
                   if alias is not None else None)
        alias_core = (aliased.get_capability_interface(trt.PluginCapabilityType.CORE)
                      if aliased is not None else None)
        print(json.dumps({{"loaded": handle is not None, "names": names,
                           "good": None if core is None else [core.plugin_name, core.plugin_version],
                           "bad_is_none": refused is None,
                           "alias_plugin": None if alias_core is None else [alias_core.plugin_name,
                                                                            alias_core.plugin_version]}}))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (
        f"python bindings: got exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    )
    observed = json.loads(run.stdout.strip().splitlines()[-1])
    assert observed["loaded"] is True
    assert observed["names"] == [["DeformConv", "1"], ["DeformConv2D", "1"], ["DeformConv3D", "1"]]
    assert observed["good"] == ["DeformConv3D", "1"]
    assert observed["bad_is_none"] is True
    # the alias (the node name comix build gives DeformConv for parsers < 10.15) makes the ordinary 2-D
    # plugin, so engines record "DeformConv" v1 and deserialize through the primary creator
    assert observed["alias_plugin"] == [TRT_DEFORM_CONV_2D[0], TRT_DEFORM_CONV_2D[1]]
    assert (
        "createPlugin('py_bad', build): attribute 'strides': got 2 values, expected 3" in run.stderr
    )
