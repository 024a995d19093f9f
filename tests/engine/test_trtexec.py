"""The trtexec fallback: the command line per TensorRT release, and ``comix build`` where TensorRT is
absent.

Where the TensorRT sources are fetched (third_party/tensorrt-<ver>/samples/common/sampleOptions.cpp),
every flag is also checked against that release's own trtexec option parser."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from comix.cli.app import app
from comix.tensorrt.build_options import BuildOptionError, BuildOptions
from comix.tensorrt.profiles import EngineProfile, GraphInput, ShapeRange
from comix.tensorrt.trtexec import trtexec_command
from comix.tensorrt.version import Capabilities

REPO = Path(__file__).resolve().parents[2]
INPUTS = [
    GraphInput("hsi", ("batch", 144, "height", "width")),
    GraphInput("x", ("batch", 1, "height", "width")),
]
PROFILE = EngineProfile(ShapeRange(1, 4, 8), ShapeRange.fixed(128), ShapeRange.fixed(128))
TRT_MISSING = importlib.util.find_spec("tensorrt") is None


def _command(version: str, parser_flag: bool, **options) -> list[str]:
    return trtexec_command(
        "m.onnx",
        "m.engine",
        INPUTS,
        PROFILE,
        BuildOptions(**options),
        "/p/lib.so",
        Capabilities.for_version(version),
        parser_flag,
    )


def test_jetpack6_line_is_strongly_typed_without_the_override_flag():
    command = _command("10.3", parser_flag=False)
    assert command[:4] == [
        "trtexec",
        "--onnx=m.onnx",
        "--saveEngine=m.engine",
        "--staticPlugins=/p/lib.so",
    ]
    assert "--minShapes=hsi:1x144x128x128,x:1x1x128x128" in command
    assert "--optShapes=hsi:4x144x128x128,x:4x1x128x128" in command
    assert "--maxShapes=hsi:8x144x128x128,x:8x1x128x128" in command
    assert "--stronglyTyped" in command and "--enablePluginOverride" not in command
    assert "--memPoolSize=workspace:1024M" in command and command[-1] == "--skipInference"
    assert not [c for c in command if c in ("--fp16", "--int8", "--best")], (
        "precision comes from the graph"
    )


def test_tensorrt_11_line_uses_the_override_and_drops_the_deprecated_flag():
    command = _command("11.1", parser_flag=True)
    assert "--enablePluginOverride" in command and "--stronglyTyped" not in command


def test_options_map_to_trtexec_flags():
    command = _command(
        "10.13",
        parser_flag=False,
        serialize_plugins=True,
        dla_core=1,
        version_compatible=True,
        exclude_lean_runtime=True,
        timing_cache=Path("t.cache"),
        optimization_level=5,
        workspace_mib=512,
    )
    for flag in (
        "--dynamicPlugins=/p/lib.so",
        "--setPluginsToSerialize=/p/lib.so",
        "--useDLACore=1",
        "--allowGPUFallback",
        "--versionCompatible",
        "--excludeLeanRuntime",
        "--timingCacheFile=t.cache",
        "--builderOptimizationLevel=5",
        "--memPoolSize=workspace:512M",
    ):
        assert flag in command
    assert "--staticPlugins=/p/lib.so" not in command
    assert "--hardwareCompatibilityLevel=sameComputeCapability" in _command(
        "10.13", False, hardware_compatibility="same-compute-capability"
    )


def test_flags_a_release_lacks_are_refused():
    with pytest.raises(BuildOptionError, match="expected 10.9 or newer"):
        _command("10.3", False, hardware_compatibility="same-compute-capability")
    with pytest.raises(ValueError, match="expected 10.15 or newer"):
        _command("10.13", parser_flag=True)
    with pytest.raises(
        BuildOptionError, match="--exclude-lean-runtime: got it without --version-compatible"
    ):
        BuildOptions(exclude_lean_runtime=True)
    with pytest.raises(
        BuildOptionError, match="--serialize-plugins: got it without --version-compatible"
    ):
        BuildOptions(serialize_plugins=True)


def test_tf32_is_tensorrts_default_and_no_tf32_maps_to_its_flag():
    assert BuildOptions().tf32 and BuildOptions().to_dict()["tf32"] is True
    assert "--noTF32" not in _command("10.3", False)
    assert "--noTF32" in _command("10.3", False, tf32=False)


def _trtexec_sources() -> dict[str, Path]:
    found = {}
    for folder in sorted((REPO / "third_party").glob("tensorrt-*")):
        source = folder / "samples" / "common" / "sampleOptions.cpp"
        if source.is_file():
            found[folder.name.split("-", 1)[1]] = source
    return found


SOURCES = _trtexec_sources()


@pytest.mark.tensorrt
@pytest.mark.skipif(
    not SOURCES,
    reason="no TensorRT sources: fetch samples/common of NVIDIA/TensorRT release/<ver> "
    "into third_party/tensorrt-<ver>/ (never commit them)",
)
@pytest.mark.parametrize("version", sorted(SOURCES) or ["none"])
def test_every_flag_exists_in_that_releases_trtexec(version):
    text = SOURCES[version].read_text()
    parsed = set(re.findall(r'getAndDel\w*Option\w*\(\s*arguments\s*,\s*"(--[A-Za-z0-9]+)"', text))
    parsed |= set(re.findall(r"\"(--[A-Za-z0-9]+)\"", text))
    caps = Capabilities.for_version(version)
    lines = [
        _command(
            version,
            caps.plugin_override,
            serialize_plugins=True,
            dla_core=0,
            version_compatible=True,
            exclude_lean_runtime=True,
            timing_cache=Path("t"),
            optimization_level=3,
            tf32=False,
        ),
        _command(version, False, hardware_compatibility="ampere+"),
    ]
    flags = {part.split("=")[0] for line in lines for part in line[1:]}
    assert flags - parsed == set(), f"trtexec {version} has no {sorted(flags - parsed)}"


@pytest.mark.skipif(
    not TRT_MISSING,
    reason="TensorRT's Python package is installed here (the fallback is for its absence)",
)
def test_build_without_tensorrt_prints_the_line_and_writes_what_it_needs(tiny_canonical, tmp_path):
    engine = tmp_path / "tiny.engine"
    result = CliRunner().invoke(
        app,
        ["build", str(tiny_canonical), "-o", str(engine), "--batch", "1:2:4"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert "no engine was built here" in result.output and "trtexec" in result.output
    assert not engine.exists()
    renamed = onnx.load(str(tmp_path / "tiny.trt.onnx"))
    assert [n.op_type for n in renamed.graph.node if n.domain == "ai.comix"].count(
        "DeformConv2D"
    ) == 1
    assert f"--onnx={tmp_path / 'tiny.trt.onnx'}" in result.output
    assert "--minShapes=hsi:1x6x48x64,x:1x1x48x64" in result.output, (
        "tile from the record's training tile"
    )
    assert "--maxShapes=hsi:4x6x48x64,x:4x1x48x64" in result.output
    assert (tmp_path / "tiny.engine.json").is_file()


def test_print_trtexec_for_tensorrt_11(tiny_canonical, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(tiny_canonical),
            "-o",
            str(tmp_path / "m.engine"),
            "--print-trtexec",
            "--trt-version",
            "11.1",
            "--tile",
            "64:96:128",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert f"--onnx={tiny_canonical}" in result.output and "--enablePluginOverride" in result.output
    assert (
        "--minShapes=hsi:1x6x64x64" in result.output
        and "--maxShapes=hsi:4x6x128x128" in result.output
    )
    assert not (tmp_path / "m.trt.onnx").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "{tmp}/m.onnx"], "expected one of ['.engine', '.plan']"),
        (["-o", "{tmp}/m.engine", "--tile", "64:32:16"], "--tile: got '64:32:16'"),
        (["-o", "{tmp}/m.engine", "--workspace", "0"], "--workspace: got 0 MiB"),
        (["-o", "{tmp}/missing/m.engine"], "does not exist"),
        (
            ["-o", "{tmp}/m.engine", "--serialize-plugins"],
            "--serialize-plugins: got it without --version-compatible, expected both",
        ),
    ],
)
def test_bad_build_options_exit_2_with_one_sentence(tiny_canonical, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(
        app, ["build", str(tiny_canonical), *args, "--print-trtexec"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
