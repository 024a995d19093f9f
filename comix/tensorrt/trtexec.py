"""The ``trtexec`` command line equivalent to a ``comix build`` (what a Jetson user without TensorRT's Python
package runs today).

Same inputs as the builder: the graph to parse (renamed for parsers < 10.15, see
:mod:`comix.tensorrt.onnx_prep`), the profile, the build options and the plugin library. Flags follow
trtexec's ``--help`` of the target release (checked against samples/common/sampleOptions.cpp of
NVIDIA/TensorRT release/10.3, 10.13, 10.15 and 11.1):

* ``--stronglyTyped`` on 10.x (precision comes from the graph); 11.x is always strongly typed and marks
  the flag as a deprecated no-op, so it is left out there;
* ``--enablePluginOverride`` from 10.15 (our DeformConv over TensorRT's own);
* plugins: ``--staticPlugins=LIB``, or with plugin serialization ``--dynamicPlugins=LIB
  --setPluginsToSerialize=LIB`` (trtexec serializes only dynamically loaded libraries);
* ``--memPoolSize=workspace:<N>M``; ``--hardwareCompatibilityLevel`` ``ampere+`` / ``sameComputeCapability``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from comix.errors import BadInputError
from comix.tensorrt.build_options import BuildOptions, check_supported_by
from comix.tensorrt.profiles import EngineProfile, GraphInput
from comix.tensorrt.version import Capabilities

HARDWARE_FLAG = {"ampere+": "ampere+", "same-compute-capability": "sameComputeCapability"}


def _shape_spec(shapes: dict[str, tuple], index: int) -> str:
    return ",".join(
        f"{name}:{'x'.join(str(d) for d in ranges[index])}" for name, ranges in shapes.items()
    )


def trtexec_command(
    onnx_path: str | os.PathLike,
    engine_path: str | os.PathLike,
    inputs: Sequence[GraphInput],
    plan: EngineProfile,
    options: BuildOptions,
    plugin_library: str | os.PathLike,
    caps: Capabilities,
    parser_flag: bool,
) -> list[str]:
    """The argument list (``trtexec`` first). ``parser_flag``: the graph relies on --enablePluginOverride."""
    check_supported_by(options, caps)
    shapes = plan.shapes(inputs)
    library = str(Path(plugin_library))
    command = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}"]
    if options.serialize_plugins:
        command += [f"--dynamicPlugins={library}", f"--setPluginsToSerialize={library}"]
    else:
        command.append(f"--staticPlugins={library}")
    if parser_flag:
        if not caps.plugin_override:
            raise BadInputError(
                f"trtexec for TensorRT {caps.version.short}: got a graph that needs "
                "--enablePluginOverride, expected 10.15 or newer (rename the DeformConv nodes instead)"
            )
        command.append("--enablePluginOverride")
    command += [
        f"--minShapes={_shape_spec(shapes, 0)}",
        f"--optShapes={_shape_spec(shapes, 1)}",
        f"--maxShapes={_shape_spec(shapes, 2)}",
    ]
    if caps.strongly_typed_flag:
        command.append("--stronglyTyped")
    command.append(f"--memPoolSize=workspace:{options.workspace_mib}M")
    if options.timing_cache:
        command.append(f"--timingCacheFile={options.timing_cache}")
    if options.dla_core is not None:
        command.append(f"--useDLACore={options.dla_core}")
        if options.gpu_fallback:
            command.append("--allowGPUFallback")
    if options.version_compatible:
        command.append("--versionCompatible")
        if options.exclude_lean_runtime:
            command.append("--excludeLeanRuntime")
    if options.hardware_compatibility != "none":
        command.append(
            f"--hardwareCompatibilityLevel={HARDWARE_FLAG[options.hardware_compatibility]}"
        )
    if options.optimization_level is not None:
        command.append(f"--builderOptimizationLevel={options.optimization_level}")
    if not options.tf32:
        command.append("--noTF32")
    command += [f"--profilingVerbosity={options.profiling_verbosity}", "--skipInference"]
    return command


def format_command(command: Sequence[str]) -> str:
    """A shell line, one option per continued line for reading."""
    return " \\\n    ".join(shlex.quote(part) for part in command)
