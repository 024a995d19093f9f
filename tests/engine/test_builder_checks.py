"""The engine builder's checks and configuration that need no TensorRT: which DCN layers the parsed network
holds (:func:`plugin_layers`, :func:`check_dcn_layers`) and what :meth:`EngineBuilder._configure` sets on
a builder config for each option (recorded by a small stand-in of the TensorRT objects it touches)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from comix.tensorrt.build_options import BuildOptions
from comix.tensorrt.builder import (
    BuildJob,
    EngineBuilder,
    EngineBuildFailed,
    check_dcn_layers,
    plugin_layers,
)
from comix.tensorrt.onnx_prep import DcnRoute
from comix.tensorrt.profiles import EngineProfile, GraphInput, ShapeRange
from comix.tensorrt.version import Capabilities


def _enum(*names: str) -> SimpleNamespace:
    return SimpleNamespace(**{name: name for name in names})


class _Core:
    def __init__(self, name: str, version: str) -> None:
        self.plugin_name, self.plugin_version = name, version


class _Layer:
    def __init__(self, kind: str, name: str = "", version: str = "1") -> None:
        self.type = kind
        self.plugin = SimpleNamespace(
            get_capability_interface=lambda capability: _Core(name, version),
            plugin_type=name,
            plugin_version=version,
        )


TRT = SimpleNamespace(
    LayerType=_enum("PLUGIN_V3", "PLUGIN_V2", "CONVOLUTION"),
    PluginCapabilityType=_enum("CORE"),
    IPluginV3Layer=_Layer,
    IPluginV2Layer=_Layer,
    MemoryPoolType=_enum("WORKSPACE"),
    BuilderFlag=_enum("TF32", "GPU_FALLBACK", "VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME"),
    DeviceType=_enum("DLA"),
    HardwareCompatibilityLevel=_enum("AMPERE_PLUS", "SAME_COMPUTE_CAPABILITY"),
    ProfilingVerbosity=_enum("DETAILED", "LAYER_NAMES_ONLY", "NONE"),
)


def test_plugin_layers_are_counted_by_name_and_version():
    layers = [
        _Layer("PLUGIN_V3", "DeformConv", "1"),
        _Layer("CONVOLUTION"),
        _Layer("PLUGIN_V3", "DeformConv3D", "1"),
        _Layer("PLUGIN_V3", "DeformConv", "1"),
        _Layer("PLUGIN_V2", "DeformableConv2d", "1"),
    ]
    network = SimpleNamespace(num_layers=len(layers), get_layer=lambda i: layers[i])
    assert plugin_layers(TRT, network) == {
        "DeformConv v1": 2,
        "DeformConv3D v1": 1,
        "DeformableConv2d v1": 1,
    }


ROUTE = DcnRoute("renamed", deform_conv_2d=2, deform_conv_3d=1, parser_flag=False)


def test_check_dcn_layers_accepts_exactly_ours():
    check_dcn_layers(ROUTE, {"DeformConv v1": 2, "DeformConv3D v1": 1, "Other v2": 5})


@pytest.mark.parametrize(
    "layers, message",
    [
        ({"DeformConv v1": 2}, "got ours 2 x 2-D and 0 x 3-D"),
        (
            {"DeformConv v1": 1, "DeformConv3D v1": 1, "DeformableConv2d v1": 1},
            "TensorRT's own {'DeformableConv2d v1': 1}",
        ),
        (
            {"DeformConv v1": 2, "DeformConv3D v1": 1, "ModulatedDeformConv2d v1": 1},
            "ModulatedDeformConv2d",
        ),
    ],
)
def test_check_dcn_layers_refuses_missing_or_foreign_dcn_layers(layers, message):
    with pytest.raises(EngineBuildFailed, match="expected 2 x 2-D and 1 x 3-D of ours") as error:
        check_dcn_layers(ROUTE, layers)
    assert message in str(error.value)


class _Config:
    """Records what the builder sets on an IBuilderConfig."""

    def __init__(self) -> None:
        self.flags: set[str] = {"TF32"}  # TensorRT's default
        self.calls: list[tuple] = []

    def set_memory_pool_limit(self, pool, size):
        self.calls.append(("pool", pool, size))

    def add_optimization_profile(self, profile):
        self.calls.append(("profile", profile.shapes))

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.flags.discard(flag)


class _Profile:
    def __init__(self) -> None:
        self.shapes = {}

    def set_shape(self, name, low, best, high):
        self.shapes[name] = (tuple(low), tuple(best), tuple(high))


def _configure(**options) -> _Config:
    job = BuildJob(
        onnx_path=Path("m.onnx"),
        engine_path=Path("m.engine"),
        model=None,
        record=None,
        inputs=[GraphInput("hsi", ("batch", 8, "h", "w")), GraphInput("x", ("batch", 1, "h", "w"))],
        profile=EngineProfile(ShapeRange(1, 2, 4), ShapeRange.fixed(64), ShapeRange.fixed(96)),
        options=BuildOptions(**options),
        plugin=SimpleNamespace(path=Path("/lib/libcomix_trt_plugins.so")),
    )
    config = _Config()
    builder = SimpleNamespace(create_optimization_profile=_Profile, num_DLA_cores=2)
    EngineBuilder._configure(TRT, Capabilities.for_version("10.13"), builder, config, job)
    return config


def test_configure_sets_the_profile_workspace_and_keeps_tensorrts_tf32_default():
    config = _configure(workspace_mib=256)
    assert ("pool", "WORKSPACE", 256 << 20) in config.calls
    assert (
        "profile",
        {
            "hsi": ((1, 8, 64, 96), (2, 8, 64, 96), (4, 8, 64, 96)),
            "x": ((1, 1, 64, 96), (2, 1, 64, 96), (4, 1, 64, 96)),
        },
    ) in config.calls
    assert config.flags == {"TF32"} and config.profiling_verbosity == "DETAILED"
    assert not hasattr(config, "plugins_to_serialize")


def test_configure_maps_each_option():
    config = _configure(
        tf32=False,
        version_compatible=True,
        exclude_lean_runtime=True,
        serialize_plugins=True,
        dla_core=1,
        optimization_level=5,
        profiling_verbosity="none",
    )
    assert config.flags == {"VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME", "GPU_FALLBACK"}
    assert config.plugins_to_serialize == ["/lib/libcomix_trt_plugins.so"]
    assert (config.default_device_type, config.DLA_core) == ("DLA", 1)
    assert config.builder_optimization_level == 5 and config.profiling_verbosity == "NONE"
    hardware = _configure(hardware_compatibility="same-compute-capability")
    assert hardware.hardware_compatibility_level == "SAME_COMPUTE_CAPABILITY"


def test_configure_refuses_a_dla_core_the_device_lacks():
    with pytest.raises(ValueError, match=r"--dla-core: got 2, expected < 2"):
        _configure(dla_core=2)
