"""``comix build MODEL.onnx -o model.engine``: a TensorRT engine with our DCN plugins, and its record.

Without TensorRT's Python package (any CPU machine, or a Jetson without python3-libnvinfer) the command
says so and prints the equivalent ``trtexec`` line on stdout (for the TensorRT release given by
``--trt-version``), writes what that line needs beside the engine path (the renamed graph for parsers
< 10.15, and the engine record) and exits 1: no engine was built here. ``--print-trtexec`` prints the
line and exits 0 without trying TensorRT.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from comix.cli.errors import CommandFailed, fail
from comix.cli.options import tile_option
from comix.model_digest import stamped_bytes
from comix.runtime import defaults
from comix.tensorrt.build_options import DEFAULT_WORKSPACE_MIB
from comix.tensorrt.cuda_memory import API_NAMES, DEFAULT_API
from comix.tensorrt.engine_record import HARDWARE_LEVELS
from comix.tensorrt.version import INSTALL_HINT, MIN_SUPPORTED

ENGINE_SUFFIXES = (".engine", ".plan")


def build_command(
    model: Path = typer.Argument(
        ...,
        help="ONNX model from comix export (FP32) or the precision step (FP16/INT8 "
        "graph: precision is taken from the graph).",
    ),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Engine file to write (.engine or .plan); the record <output>.json goes beside it.",
    ),
    batch: str = typer.Option(
        None,
        "--batch",
        help=f"Batch range of the profile: N (= 1:N:N) or MIN:OPT:MAX "
        f"(default 1:{defaults.BATCH}:{defaults.BATCH}).",
    ),
    tile: str = tile_option(
        "Tile of the profile (default: the model's training tile; a fixed tile gives the fastest "
        "engine).",
        ranges=True,
    ),
    workspace: int = typer.Option(
        DEFAULT_WORKSPACE_MIB, "--workspace", help="Workspace memory limit in MiB."
    ),
    timing_cache: Path = typer.Option(
        None,
        "--timing-cache",
        help="Timing cache file: read if it exists, written "
        "after the build (makes rebuilds much faster).",
    ),
    dla_core: int = typer.Option(
        None,
        "--dla-core",
        help="Jetson: run on this DLA core (layers DLA cannot run fall back to the GPU).",
    ),
    gpu_fallback: bool = typer.Option(
        True,
        "--gpu-fallback/--no-gpu-fallback",
        help="With --dla-core: allow GPU fallback (on by default).",
    ),
    version_compatible: bool = typer.Option(
        False,
        "--version-compatible",
        help="Engine runs on later TensorRT "
        "releases of the same major version, and on the lean runtime.",
    ),
    exclude_lean_runtime: bool = typer.Option(
        False,
        "--exclude-lean-runtime",
        help="With --version-compatible: do not embed the lean runtime (smaller engine).",
    ),
    hardware_compatible: str = typer.Option(
        "none",
        "--hardware-compatible",
        help=f"One of {', '.join(HARDWARE_LEVELS)}: "
        "engine portable across GPUs (ampere+: compute capability >= 8.0).",
    ),
    optimization_level: int = typer.Option(
        None, "--optimization-level", help="Builder optimization level 0-5 (TensorRT's default 3)."
    ),
    serialize_plugins: bool = typer.Option(
        False,
        "--serialize-plugins",
        help="With --version-compatible: embed the plugin library in the engine.",
    ),
    tf32: bool = typer.Option(
        True,
        "--tf32/--no-tf32",
        help="Let FP32 layers use TF32 (TensorRT's default); --no-tf32 for FP32 parity checks.",
    ),
    plugin_library: Path = typer.Option(
        None,
        "--plugin-library",
        help="libcomix_trt_plugins.so (default: found "
        "like the runtime does, see docs/tensorrt.md).",
    ),
    cuda: str = typer.Option(
        DEFAULT_API, "--cuda", help=f"CUDA binding for the device query: {', '.join(API_NAMES)}."
    ),
    trt_version: str = typer.Option(
        MIN_SUPPORTED.short,
        "--trt-version",
        help="TensorRT release the printed trtexec "
        "line is for when TensorRT is not installed here (10.3 = JetPack 6, 10.13 = "
        "JetPack 7, 11.x).",
    ),
    print_trtexec: bool = typer.Option(
        False, "--print-trtexec", help="Only print the trtexec line (for --trt-version) and exit."
    ),
) -> None:
    """Build a TensorRT engine from an ONNX model with our 2-D/3-D DCN plugins (strongly typed: the graph's
    precision), write it and its record; without TensorRT, print the equivalent trtexec line."""
    from comix.atomic import check_parent, refuse_overwriting_inputs
    from comix.metadata import ModelRecord
    from comix.runtime.session import load_onnx
    from comix.tensorrt.build_options import BuildOptions
    from comix.tensorrt.engine_record import record_path
    from comix.tensorrt.profiles import graph_inputs, parse_range, plan_profile, tile_ranges
    from comix.tensorrt.version import TensorRTUnavailable, TrtVersion, import_tensorrt

    check_parent(output)
    if output.suffix not in ENGINE_SUFFIXES:
        fail(
            f"output {output}: got suffix {output.suffix!r}, expected one of {list(ENGINE_SUFFIXES)}"
        )
    refuse_overwriting_inputs(
        [output, record_path(output), renamed_graph_path(output)], [model, plugin_library], output
    )
    TrtVersion.parse(trt_version)  # the trtexec target: refused before anything is printed
    if cuda not in API_NAMES:
        fail(f"--cuda: got {cuda!r}, expected one of {list(API_NAMES)}")
    graph = load_onnx(model)
    refuse_unknown_domains(model, graph)
    record = ModelRecord.read_onnx(graph)
    inputs = graph_inputs(graph)
    height = width = None
    if tile is not None:
        height, width = tile_ranges(tile)
    profile = plan_profile(
        inputs,
        record,
        default_batch=defaults.BATCH,
        default_tile=defaults.TILE,
        batch=parse_range(batch, "batch") if batch is not None else None,
        height=height,
        width=width,
    )
    options = BuildOptions(
        workspace_mib=workspace,
        timing_cache=timing_cache,
        dla_core=dla_core,
        gpu_fallback=gpu_fallback,
        version_compatible=version_compatible,
        exclude_lean_runtime=exclude_lean_runtime,
        hardware_compatibility=hardware_compatible,
        optimization_level=optimization_level,
        serialize_plugins=serialize_plugins,
        tf32=tf32,
    )
    console = Console(stderr=True)
    if print_trtexec:
        _print_trtexec(
            console,
            model,
            output,
            graph,
            record,
            inputs,
            profile,
            options,
            plugin_library,
            trt_version,
        )
        return
    try:
        import_tensorrt(builder=True)
    except TensorRTUnavailable as error:
        console.print(
            f"[yellow]TensorRT's Python package is not usable here[/] ({str(error).split(';')[0]}).\n"
            f"The equivalent trtexec command for TensorRT {trt_version} (run it on the device):",
            highlight=False,
        )
        _print_trtexec(
            console,
            model,
            output,
            graph,
            record,
            inputs,
            profile,
            options,
            plugin_library,
            trt_version,
        )
        raise CommandFailed(
            "no engine was built here (TensorRT's Python package is missing): run the trtexec line "
            f"above on the device, or {INSTALL_HINT}"
        ) from None
    _build(console, model, output, graph, record, inputs, profile, options, plugin_library, cuda)


def renamed_graph_path(output: Path) -> Path:
    """``m.engine`` -> ``m.trt.onnx``: the graph with DeformConv renamed, for parsers < 10.15 (trtexec)."""
    return output.with_name(output.stem + ".trt.onnx")


def refuse_unknown_domains(model: Path, graph) -> None:
    """Refuse a graph with nodes TensorRT has no importer or plugin for here: custom domains other than ours,
    and ops of our domain our plugin library does not register (before anything is written)."""
    from comix.ops.spec import (
        CUSTOM_DOMAIN,
        DEFORM_CONV_2D,
        DEFORM_CONV_3D,
        TRT_DEFORM_CONV_2D_ALIAS,
    )

    ours = {DEFORM_CONV_3D, DEFORM_CONV_2D, TRT_DEFORM_CONV_2D_ALIAS[0]}
    unknown: dict[str, int] = {}
    for node in graph.graph.node:
        standard = node.domain in ("", "ai.onnx")
        if not standard and not (node.domain == CUSTOM_DOMAIN and node.op_type in ours):
            name = f"{node.domain}::{node.op_type}"
            unknown[name] = unknown.get(name, 0) + 1
    if unknown:
        found = ", ".join(f"{name} x{count}" for name, count in sorted(unknown.items()))
        fail(
            f"model {model}: got nodes TensorRT cannot build ({found}), expected standard ONNX ops and "
            f"our {CUSTOM_DOMAIN} DCN nodes ({', '.join(sorted(ours))})"
        )


def _print_trtexec(
    console, model, output, graph, record, inputs, profile, options, plugin_library, trt_version
):

    from comix.atomic import atomic_path
    from comix.hashing import file_sha256
    from comix.tensorrt.engine_record import EngineFacts, write_engine_record
    from comix.tensorrt.onnx_prep import prepare_for_parser
    from comix.tensorrt.plugin_library import (
        LIBRARY_NAME,
        PluginLibraryMissing,
        find_plugin_library,
    )
    from comix.tensorrt.trtexec import format_command, trtexec_command
    from comix.tensorrt.version import Capabilities, TrtVersion

    caps = Capabilities.for_version(TrtVersion.parse(trt_version))
    prepared, route = prepare_for_parser(graph, caps)
    onnx_for_trtexec = model
    if prepared is not graph:
        onnx_for_trtexec = renamed_graph_path(output)
        with atomic_path(onnx_for_trtexec) as temp:
            temp.write_bytes(stamped_bytes(prepared))
    if plugin_library is not None:
        library = str(plugin_library)  # the path on the device, as given (it need not exist here)
    else:
        try:
            library = str(find_plugin_library().path)
        except PluginLibraryMissing:
            # where `comix plugins build` puts it on the device
            library = f"plugins/build/tensorrt/{LIBRARY_NAME}"
    command = trtexec_command(
        onnx_for_trtexec, output, inputs, profile, options, library, caps, route.parser_flag
    )
    facts = EngineFacts(
        engine_file=output.name,
        onnx={"file": Path(model).name, "sha256": file_sha256(model)},
        dcn_route=route.to_dict(),
        precision={"network": "strongly typed", **(record.precision or {"recipe": "fp32"})},
        profiles=[profile.to_dict()],
        build_options={
            **options.to_dict(),
            "built_by": "trtexec",
            "trtexec_target": caps.version.short,
        },
    )
    written = write_engine_record(output, facts, record)
    typer.echo(format_command(command))
    notes = [f"DCN route: {route.method}"]
    if onnx_for_trtexec != model:
        notes.append(
            f"wrote {onnx_for_trtexec} (the graph with DeformConv renamed for this parser)"
        )
    notes.append(
        f"wrote {written} (the engine's record; TensorRT version, GPU and plugin hash are not recorded "
        "for a trtexec build and so not checked at load)"
    )
    console.print("\n".join(notes), highlight=False)


def _build(console, model, output, graph, record, inputs, profile, options, plugin_library, cuda):
    from comix.tensorrt.builder import BuildJob, EngineBuilder
    from comix.tensorrt.plugin_library import find_plugin_library

    job = BuildJob(
        onnx_path=Path(model),
        engine_path=output,
        model=graph,
        record=record,
        inputs=inputs,
        profile=profile,
        options=options,
        plugin=find_plugin_library(plugin_library),
        cuda=cuda,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_phase(phase: str, step: int, steps: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=steps or None)
            progress.update(tasks[phase], completed=step, total=steps or None)

        job.progress = on_phase
        facts = EngineBuilder(job)()
    table = Table(title=str(output))
    table.add_column("item")
    table.add_column("value")
    table.add_row("TensorRT", facts.tensorrt_version)
    table.add_row("GPU", f"{facts.gpu.get('name')} (sm {facts.gpu.get('compute_capability')})")
    table.add_row("DCN route", facts.dcn_route.get("method", ""))
    table.add_row(
        "plugin layers",
        ", ".join(f"{k} x{v}" for k, v in facts.dcn_route.get("plugin_layers", {}).items()),
    )
    table.add_row("profile", str(facts.profiles[0]))
    table.add_row("precision", str(facts.precision))
    Console().print(table)
