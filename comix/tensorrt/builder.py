"""``comix build``: ONNX -> TensorRT engine with our DCN plugins, plus the record beside it.

``EngineBuilder(job)()`` (configuration in :class:`BuildJob`, work in ``__call__``):

1. import TensorRT (:func:`comix.tensorrt.version.import_tensorrt`), load our plugin library into its
   registry and check the creators are there;
2. a strongly typed network (the flag on 10.x; 11.x always is), the ONNX parser, and our 2-D plugin
   made the one the parser uses (:mod:`comix.tensorrt.onnx_prep`); parse errors are reported per node;
3. the parsed network is checked: every DCN node became one of *our* plugin layers, none of TensorRT's
   own DeformConv plugin (recorded in the engine's record);
4. builder config: workspace limit, the optimisation profile, timing cache (read if present, written
   back after the build), DLA core with GPU fallback, version / hardware compatibility, TF32, plugin
   serialization, profiling verbosity, a progress monitor;
5. ``build_serialized_network`` -> the engine and ``<engine>.json`` written atomically (nothing under the
   final names if any step fails).

Needs TensorRT's full Python package and a GPU; without them ``comix build`` prints the ``trtexec`` line.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from comix.atomic import atomic_path, write_bytes_atomic
from comix.errors import BadInputError, FailedError
from comix.hashing import bytes_sha256, file_sha256
from comix.metadata import ModelRecord
from comix.ops.spec import DEFORM_CONV_3D, TRT_DEFORM_CONV_2D
from comix.tensorrt.build_options import BuildOptions, check_supported_by
from comix.tensorrt.cuda_memory import DEFAULT_API, open_cuda
from comix.tensorrt.engine_record import EngineFacts, record_path, write_engine_record
from comix.tensorrt.onnx_prep import TENSORRT_OWN_DCN_PLUGINS, DcnRoute, prepare_for_parser
from comix.tensorrt.plugin_library import PluginLibrary, load_into_registry
from comix.tensorrt.profiles import EngineProfile, GraphInput
from comix.tensorrt.version import import_tensorrt

PhaseCallback = Callable[[str, int, int], None]  # (phase name, step, steps)


class EngineBuildFailed(FailedError):
    """TensorRT could not parse or build the network (message carries TensorRT's errors)."""


@dataclass
class BuildJob:
    """Everything one build needs; ``inputs`` and ``record`` come from the ONNX file."""

    onnx_path: Path
    engine_path: Path
    model: onnx.ModelProto
    record: ModelRecord
    inputs: list[GraphInput]
    profile: EngineProfile
    options: BuildOptions
    plugin: PluginLibrary
    cuda: str = DEFAULT_API
    progress: PhaseCallback | None = None
    log: list[str] = field(default_factory=list)


def _monitor(trt, callback: PhaseCallback):
    """An ``IProgressMonitor`` forwarding TensorRT's build phases to ``callback``."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.steps: dict[str, int] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.steps[phase_name] = num_steps
            callback(phase_name, 0, num_steps)

        def step_complete(self, phase_name, step):
            callback(phase_name, step + 1, self.steps.get(phase_name, 0))
            return True  # keep building

        def phase_finish(self, phase_name):
            callback(phase_name, self.steps.get(phase_name, 0), self.steps.get(phase_name, 0))

    return Monitor()


def plugin_layers(trt, network) -> dict[str, int]:
    """Count of plugin layers per plugin name (``name vVERSION``) in a parsed network."""
    counts: dict[str, int] = {}
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if layer.type == trt.LayerType.PLUGIN_V3:
            layer.__class__ = trt.IPluginV3Layer
            core = layer.plugin.get_capability_interface(trt.PluginCapabilityType.CORE)
            key = f"{core.plugin_name} v{core.plugin_version}"
        elif layer.type == trt.LayerType.PLUGIN_V2:
            layer.__class__ = trt.IPluginV2Layer
            key = f"{layer.plugin.plugin_type} v{layer.plugin.plugin_version}"
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    return counts


def check_dcn_layers(route: DcnRoute, layers: dict[str, int]) -> None:
    """Every DCN node must have become one of our plugin layers, and none TensorRT's own DeformConv."""
    theirs = {k: v for k, v in layers.items() if k.split(" v")[0] in TENSORRT_OWN_DCN_PLUGINS}
    ours_2d = sum(v for k, v in layers.items() if k.split(" v")[0] == TRT_DEFORM_CONV_2D[0])
    ours_3d = sum(v for k, v in layers.items() if k.split(" v")[0] == DEFORM_CONV_3D)
    if theirs or ours_2d != route.deform_conv_2d or ours_3d != route.deform_conv_3d:
        raise EngineBuildFailed(
            f"DCN layers after parsing: got ours {ours_2d} x 2-D and {ours_3d} x 3-D and TensorRT's "
            f"own {theirs or 'none'}, expected {route.deform_conv_2d} x 2-D and "
            f"{route.deform_conv_3d} x 3-D of ours (route: {route.method})"
        )


class EngineBuilder:
    """Build the engine of a :class:`BuildJob` (see the module doc)."""

    def __init__(self, job: BuildJob) -> None:
        self.job = job

    def __call__(self) -> EngineFacts:
        job = self.job
        trt, caps = import_tensorrt(builder=True)
        check_supported_by(job.options, caps)
        device = open_cuda(job.cuda).device_info()
        logger = trt.Logger(trt.Logger.WARNING)
        load_into_registry(trt, job.plugin)
        builder = trt.Builder(logger)
        flags = 0
        if caps.strongly_typed_flag:
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        graph, route = prepare_for_parser(job.model, caps)
        if route.parser_flag and caps.plugin_override:
            parser.set_flag(trt.OnnxParserFlag.ENABLE_PLUGIN_OVERRIDE)
        if not parser.parse(graph.SerializeToString(), str(job.onnx_path)):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise EngineBuildFailed(
                f"TensorRT's ONNX parser refused {job.onnx_path}: " + " | ".join(errors)
            )
        layers = plugin_layers(trt, network)
        check_dcn_layers(route, layers)

        config = builder.create_builder_config()
        self._configure(trt, caps, builder, config, job)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineBuildFailed(
                f"TensorRT could not build {job.engine_path} (its log above says why)"
            )
        engine_bytes = bytes(serialized)
        if job.options.timing_cache:
            write_bytes_atomic(
                job.options.timing_cache, bytes(config.get_timing_cache().serialize())
            )
        tensors = [(network.get_input(i), "input") for i in range(network.num_inputs)]
        tensors += [(network.get_output(i), "output") for i in range(network.num_outputs)]
        io = [
            {
                "name": t.name,
                "mode": mode,
                "dtype": str(t.dtype),
                "shape": [int(d) for d in t.shape],
            }
            for t, mode in tensors
        ]
        facts = EngineFacts(
            engine_file=job.engine_path.name,
            engine_sha256=bytes_sha256(engine_bytes),
            tensorrt_version=str(trt.__version__),
            gpu={
                "name": device.name,
                "compute_capability": device.sm,
                "driver": device.driver_version,
                "cuda_runtime": device.runtime_version,
            },
            plugin_library=job.plugin.facts(),
            onnx={"file": job.onnx_path.name, "sha256": file_sha256(job.onnx_path)},
            dcn_route={**route.to_dict(), "plugin_layers": layers},
            precision={"network": "strongly typed", **(job.record.precision or {"recipe": "fp32"})},
            profiles=[job.profile.to_dict()],
            io=io,
            build_options=job.options.to_dict(),
            built_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        )
        # engine and record land together: the record first under a temp name, then both renamed
        with atomic_path(job.engine_path) as temp:
            temp.write_bytes(engine_bytes)
            write_engine_record(job.engine_path, facts, job.record)
        return facts

    @staticmethod
    def _configure(trt, caps, builder, config, job: BuildJob) -> None:
        options = job.options
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
        profile = builder.create_optimization_profile()
        for name, (low, best, high) in job.profile.shapes(job.inputs).items():
            profile.set_shape(name, low, best, high)
        config.add_optimization_profile(profile)
        if options.timing_cache:
            data = (
                Path(options.timing_cache).read_bytes()
                if Path(options.timing_cache).is_file()
                else b""
            )
            cache = config.create_timing_cache(data)
            config.set_timing_cache(cache, False)
        if options.dla_core is not None:
            if options.dla_core >= builder.num_DLA_cores:
                raise BadInputError(
                    f"--dla-core: got {options.dla_core}, expected < {builder.num_DLA_cores} "
                    "(DLA cores of this device; none on data-center GPUs)"
                )
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = options.dla_core
            if options.gpu_fallback:
                config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
        if options.version_compatible:
            config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
            if options.exclude_lean_runtime:
                config.set_flag(trt.BuilderFlag.EXCLUDE_LEAN_RUNTIME)
        if options.hardware_compatibility == "ampere+":
            config.hardware_compatibility_level = trt.HardwareCompatibilityLevel.AMPERE_PLUS
        elif (
            options.hardware_compatibility == "same-compute-capability"
            and caps.same_compute_capability
        ):
            config.hardware_compatibility_level = (
                trt.HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY
            )
        if options.optimization_level is not None:
            config.builder_optimization_level = options.optimization_level
        if not options.tf32:
            config.clear_flag(trt.BuilderFlag.TF32)
        config.profiling_verbosity = {
            "detailed": trt.ProfilingVerbosity.DETAILED,
            "layer_names_only": trt.ProfilingVerbosity.LAYER_NAMES_ONLY,
            "none": trt.ProfilingVerbosity.NONE,
        }[options.profiling_verbosity]
        if options.serialize_plugins:
            config.plugins_to_serialize = [str(job.plugin.path)]
        if job.progress is not None:
            config.progress_monitor = _monitor(trt, job.progress)


def engine_outputs(engine_path: str | os.PathLike) -> list[Path]:
    """The files a build writes: the engine and its record."""
    return [Path(engine_path), record_path(engine_path)]
