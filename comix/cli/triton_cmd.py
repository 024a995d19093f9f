"""``comix export-triton REPO --onnx model.onnx [--engine model.engine]``: a Triton Inference Server model
repository (ONNX Runtime backend with our op library; TensorRT backend with our plugin library). The
work is :mod:`comix.triton.repository`; docs/triton.md has the server command lines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from comix.cli.errors import fail
from comix.runtime import defaults


def export_triton_command(
    repository: Path = typer.Argument(
        ..., help="Model repository folder (must exist; other models in it are kept)."
    ),
    onnx_model: Path = typer.Option(None, "--onnx", help="ONNX model for the onnxruntime backend."),
    engine: Path = typer.Option(
        None,
        "--engine",
        help="TensorRT engine (from comix build, with its .json) for the tensorrt backend.",
    ),
    name: str = typer.Option(
        "comix", "--name", help="Model name prefix: <name>_onnx and <name>_trt."
    ),
    max_batch: int = typer.Option(
        None,
        "--max-batch",
        help="max_batch_size of the ONNX model (default: a static "
        f"graph's batch, else {defaults.BATCH}); an engine uses its profile's maximum.",
    ),
    preferred_batch: int = typer.Option(
        None,
        "--preferred-batch",
        help="Dynamic batching's preferred batch size (default: the max batch).",
    ),
    queue_delay_us: int = typer.Option(
        100,
        "--queue-delay-us",
        help="Dynamic batching: longest wait for a fuller batch, in microseconds.",
    ),
    instances: int = typer.Option(
        1, "--instances", help="Model instances per device (instance_group count)."
    ),
    onnx_kind: str = typer.Option(
        "cpu",
        "--onnx-kind",
        help="Where the ONNX Runtime model runs: cpu (our op library is CPU-only) or gpu.",
    ),
    gpus: list[int] = typer.Option(
        None, "--gpu", help="GPU index for the instances (repeatable; default all)."
    ),
    ort_library: Path = typer.Option(
        None, "--ort-library", help="libcomix_ort_dcn.so (default: the built one)."
    ),
    trt_library: Path = typer.Option(
        None,
        "--trt-library",
        help="libcomix_trt_plugins.so (default: found like the runtime does).",
    ),
    server_root: str = typer.Option(
        None,
        "--server-root",
        help="Where the server sees the repository, e.g. /models in "
        "the container (default: the repository's absolute path).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace model folders of the same name."
    ),
) -> None:
    """Write a Triton model repository: config.pbtxt (dynamic batching, instance groups, shapes), the model
    files and our op/plugin libraries, and print the server command line."""
    from comix.runtime.session import find_custom_op_library
    from comix.triton.repository import RepositoryPlan, write_repository

    for path, what in ((onnx_model, "--onnx"), (engine, "--engine")):
        if path is not None and not path.is_file():
            fail(f"{what} {path}: got no such file, expected an existing file")
    if onnx_model is not None and ort_library is None:
        ort_library = find_custom_op_library()
    if engine is not None and trt_library is None:
        from comix.tensorrt.engine_record import read_engine_record
        from comix.tensorrt.plugin_library import find_plugin_library

        read_engine_record(engine)  # the user's engine is checked before the library is looked for
        trt_library = find_plugin_library().path
    plan = RepositoryPlan(
        repository=repository,
        name=name,
        onnx_path=onnx_model,
        engine_path=engine,
        ort_library=ort_library,
        trt_library=trt_library,
        server_root=server_root,
        max_batch_size=max_batch
        if max_batch is not None
        else (defaults.BATCH if onnx_model else None),
        preferred_batch_size=preferred_batch,
        max_queue_delay_us=queue_delay_us,
        instances=instances,
        onnx_kind=onnx_kind,
        gpus=tuple(gpus or ()),
        overwrite=overwrite,
    )
    summary = write_repository(plan)
    console = Console()
    for model_name, model in summary["models"].items():
        console.print(f"wrote {repository / model_name} (from {model['source']})", highlight=False)
    console.print(
        "start the server with:\n  " + "\n  ".join(summary["server_commands"]), highlight=False
    )
