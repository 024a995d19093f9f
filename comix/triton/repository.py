"""Write a Triton model repository for a CoMiX model: ONNX Runtime backend and/or TensorRT backend.

::

    REPO/
      <name>_onnx/config.pbtxt   1/model.onnx        backend onnxruntime, model_operations -> our op library
      <name>_trt/config.pbtxt    1/model.plan        backend tensorrt (engine from comix build)
                                 1/model.plan.json   the engine's record (comix reads it; Triton ignores it)
      plugins/libcomix_ort_dcn.so, plugins/libcomix_trt_plugins.so
      comix_repository.json      what made the repository (model record, hashes, server command lines)

Library paths in the configs and command lines are where the server sees the repository
(``server_root``, e.g. ``/models`` inside the Triton container). Each model folder is written under a
temporary name and renamed into place, so a failure leaves no half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx

from comix.atomic import atomic_path, check_writable, usual_mode, write_text_atomic
from comix.errors import BadInputError
from comix.metadata import ModelRecord
from comix.triton.config import ONNX_TYPES, TENSORRT_TYPES, ModelConfig, TensorConfig, config_text

ONNX_SUFFIX, TRT_SUFFIX = "_onnx", "_trt"
PLUGIN_FOLDER = "plugins"


class RepositoryError(BadInputError):
    """Bad input for a repository (message says got/expected)."""


def _dims(value: onnx.ValueInfoProto) -> list[int]:
    return [
        d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim
    ]


def onnx_tensors(
    model: onnx.ModelProto,
) -> tuple[list[TensorConfig], list[TensorConfig], int | None]:
    """(inputs, outputs without the batch axis, static batch or None) of an ONNX graph."""
    initializers = {t.name for t in model.graph.initializer}
    inputs, outputs, batches = [], [], set()
    for values, target in ((model.graph.input, inputs), (model.graph.output, outputs)):
        for value in values:
            if value.name in initializers:
                continue
            elem = value.type.tensor_type.elem_type
            if elem not in ONNX_TYPES:
                raise RepositoryError(
                    f"tensor {value.name}: got ONNX element type {elem}, expected one of "
                    f"{sorted(ONNX_TYPES)}"
                )
            dims = _dims(value)
            batches.add(dims[0])
            target.append(TensorConfig(value.name, ONNX_TYPES[elem], tuple(dims[1:])))
    static = {b for b in batches if b > 0}
    return inputs, outputs, (static.pop() if len(static) == 1 and -1 not in batches else None)


def engine_tensors(facts) -> tuple[list[TensorConfig], list[TensorConfig], int]:
    """(inputs, outputs, max batch) of an engine from its record
    (:class:`comix.tensorrt.engine_record.EngineFacts`)."""
    if not facts.profiles or not facts.io:
        raise RepositoryError(
            f"engine record of {facts.engine_file}: got no profile or I/O list, expected a record "
            "written by comix build"
        )
    profile = facts.profiles[0]
    height = -1 if profile["height"][0] != profile["height"][2] else profile["height"][0]
    width = -1 if profile["width"][0] != profile["width"][2] else profile["width"][0]
    inputs, outputs = [], []
    for item in facts.io:
        dtype = TENSORRT_TYPES.get(str(item["dtype"]).split(".")[-1])
        if dtype is None:
            raise RepositoryError(
                f"engine tensor {item['name']}: got type {item['dtype']}, expected one of "
                f"{sorted(TENSORRT_TYPES)}"
            )
        shape = item.get("shape")
        dims = [int(d) for d in shape[1:]] if shape else [-1, height, width]
        if len(dims) == 3:  # (C, H, W): a spatial axis the profile fixes is that size, not -1
            dims[1] = dims[1] if dims[1] > 0 else height
            dims[2] = dims[2] if dims[2] > 0 else width
        dims = tuple(dims)
        (inputs if item["mode"] == "input" else outputs).append(
            TensorConfig(item["name"], dtype, dims)
        )
    return inputs, outputs, int(profile["batch"][2])


def _with_shapes(
    tensors: list[TensorConfig], record: ModelRecord, height: int, width: int
) -> list[TensorConfig]:
    """Engine I/O dims completed from the model record where the engine left the channel axis dynamic:
    hsi (bands, H, W), x (C, H, W), logits (classes, H, W)."""
    channels = {
        "hsi": record.hsi_bands,
        "x": record.x_channels,
        "logits": record.config.get("classes") or len(record.class_names) or None,
    }
    fixed = []
    for tensor in tensors:
        if tensor.dims and tensor.dims[0] > 0:
            fixed.append(
                TensorConfig(tensor.name, tensor.data_type, (tensor.dims[0], height, width))
            )
            continue
        count = channels.get(tensor.name)
        if count is None:
            raise RepositoryError(
                f"engine tensor {tensor.name}: channel count unknown (model record has hsi_bands="
                f"{record.hsi_bands}, x_channels={record.x_channels}); expected hsi, x and logits"
            )
        fixed.append(TensorConfig(tensor.name, tensor.data_type, (int(count), height, width)))
    return fixed


@dataclass
class RepositoryPlan:
    """What to write: optional ONNX and engine sources, names, batching and instances."""

    repository: Path
    name: str
    onnx_path: Path | None = None
    engine_path: Path | None = None
    ort_library: Path | None = None
    trt_library: Path | None = None
    server_root: str | None = None
    max_batch_size: int | None = None
    preferred_batch_size: int | None = None
    max_queue_delay_us: int = 100
    instances: int = 1
    onnx_kind: str = "cpu"
    gpus: tuple[int, ...] = ()
    overwrite: bool = False


def _write_model(
    repository: Path, folder: str, files: dict[str, Path | str], overwrite: bool
) -> Path:
    """Write ``files`` ({relative path: source file or text}) into ``repository/folder`` atomically."""
    final = repository / folder
    if final.exists() and not overwrite:
        raise RepositoryError(
            f"model folder {final}: got an existing folder, expected a new name (or --overwrite)"
        )
    try:
        temp = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=repository))
    except OSError as error:  # named after the model folder, not the temporary one
        raise OSError(error.errno, error.strerror, str(final)) from None
    usual_mode(temp, folder=True)  # mkdtemp makes 0700: the server often runs as another user
    try:
        for relative, source in files.items():
            target = temp / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, Path):
                shutil.copyfile(source, target)
            else:
                target.write_text(source)
        if final.exists():
            old = final.with_name(f".{folder}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(temp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, final)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return final


@dataclass
class _ModelFolder:
    """One model folder to write: its name, {relative path: source file or text}, its summary entry, and
    the op/plugin libraries it needs ({file name: source})."""

    name: str
    files: dict[str, Path | str]
    entry: dict
    libraries: dict[str, Path]


def write_repository(plan: RepositoryPlan) -> dict:
    """Write the repository described by ``plan``; returns the summary also stored as comix_repository.json.

    Every source is read and checked before anything is written, so a bad engine next to a good ONNX model
    (or the reverse) leaves the repository as it was."""
    repository = plan.repository
    if not repository.is_dir():
        raise RepositoryError(
            f"repository {repository}: got no such folder, expected an existing folder"
        )
    if plan.onnx_path is None and plan.engine_path is None:
        raise RepositoryError("sources: got neither --onnx nor --engine, expected at least one")
    check_writable(repository)
    root = (plan.server_root or str(repository.resolve())).rstrip("/")
    folders = []
    if plan.onnx_path is not None:
        folders.append(_onnx_folder(plan, root))
    if plan.engine_path is not None:
        folders.append(_engine_folder(plan))
    summary: dict = {"models": {}, "server_commands": []}
    libraries: dict[str, Path] = {}
    for folder in folders:
        _write_model(repository, folder.name, folder.files, plan.overwrite)
        summary["models"][folder.name] = folder.entry
        libraries.update(folder.libraries)
    if libraries:
        (repository / PLUGIN_FOLDER).mkdir(exist_ok=True)
        for name, source in libraries.items():
            with atomic_path(repository / PLUGIN_FOLDER / name) as temp:
                shutil.copyfile(source, temp)
    summary["server_commands"] = server_commands(
        repository, root, plan.trt_library.name if plan.engine_path else None
    )
    write_text_atomic(repository / "comix_repository.json", json.dumps(summary, indent=2))
    return summary


def _onnx_folder(plan: RepositoryPlan, root: str) -> _ModelFolder:
    """The ONNX Runtime model folder: the graph read through the checked loader (a file that is not ONNX is
    refused in one sentence), its config and, for a canonical graph, our op library."""
    from comix.hashing import file_sha256
    from comix.runtime.session import load_onnx

    model = load_onnx(plan.onnx_path)
    record = ModelRecord.read_onnx(model)
    inputs, outputs, static_batch = onnx_tensors(model)
    max_batch = static_batch or plan.max_batch_size
    if static_batch and plan.max_batch_size and plan.max_batch_size != static_batch:
        raise RepositoryError(
            f"--max-batch: got {plan.max_batch_size}, but the graph fixes the batch at {static_batch}"
        )
    canonical = any(node.domain == "ai.comix" for node in model.graph.node)
    op_library, libraries = None, {}
    if canonical:
        if plan.ort_library is None:
            raise RepositoryError(
                "the ONNX graph has ai.comix nodes: got no ONNX Runtime op library, expected "
                "libcomix_ort_dcn.so (comix plugins build), or export with --portable"
            )
        libraries[plan.ort_library.name] = plan.ort_library
        op_library = f"{root}/{PLUGIN_FOLDER}/{plan.ort_library.name}"
    config = ModelConfig(
        name=plan.name + ONNX_SUFFIX,
        backend="onnxruntime",
        max_batch_size=max_batch,
        inputs=inputs,
        outputs=outputs,
        preferred_batch_sizes=[plan.preferred_batch_size or max_batch],
        max_queue_delay_us=plan.max_queue_delay_us,
        instance_count=plan.instances,
        instance_kind=plan.onnx_kind,
        gpus=list(plan.gpus),
        op_library=op_library,
        parameters={
            "comix.model_name": record.model_name,
            "comix.graph_kind": record.graph_kind,
        },
    )
    files = {"config.pbtxt": config_text(config), "1/model.onnx": plan.onnx_path}
    entry = {
        "source": str(plan.onnx_path),
        "sha256": file_sha256(plan.onnx_path),
        "record": json.loads(record.to_json()),
    }
    return _ModelFolder(config.name, files, entry, libraries)


def _engine_folder(plan: RepositoryPlan) -> _ModelFolder:
    """The TensorRT model folder: the engine and its record, its config, our plugin library."""
    from comix.hashing import file_sha256
    from comix.tensorrt.engine_record import read_engine_record, record_path

    facts, record = read_engine_record(plan.engine_path)
    inputs, outputs, max_batch = engine_tensors(facts)
    height = inputs[0].dims[1]
    width = inputs[0].dims[2]
    inputs, outputs = (
        _with_shapes(inputs, record, height, width),
        _with_shapes(outputs, record, height, width),
    )
    if plan.trt_library is None:
        raise RepositoryError(
            "the engine needs our TensorRT plugin library: got none, expected "
            "libcomix_trt_plugins.so (the one the engine was built with)"
        )
    config = ModelConfig(
        name=plan.name + TRT_SUFFIX,
        backend="tensorrt",
        max_batch_size=max_batch,
        inputs=inputs,
        outputs=outputs,
        preferred_batch_sizes=[plan.preferred_batch_size or max_batch],
        max_queue_delay_us=plan.max_queue_delay_us,
        instance_count=plan.instances,
        instance_kind="gpu",
        gpus=list(plan.gpus),
        parameters={
            "comix.model_name": record.model_name,
            "comix.tensorrt_version": facts.tensorrt_version,
        },
    )
    files = {
        "config.pbtxt": config_text(config),
        "1/model.plan": plan.engine_path,
        "1/model.plan.json": record_path(plan.engine_path),
    }
    entry = {
        "source": str(plan.engine_path),
        "sha256": file_sha256(plan.engine_path),
        "tensorrt_version": facts.tensorrt_version,
        "gpu": facts.gpu,
    }
    return _ModelFolder(config.name, files, entry, {plan.trt_library.name: plan.trt_library})


def server_commands(repository: Path, root: str, trt_library: str | None) -> list[str]:
    """``tritonserver`` command lines for this repository (inside NVIDIA's Triton container)."""
    plugin = (
        f" --backend-config=tensorrt,plugins={root}/{PLUGIN_FOLDER}/{trt_library}"
        if trt_library
        else ""
    )
    return [
        f"docker run --gpus all --rm -p8000:8000 -p8001:8001 -p8002:8002 -v {repository.resolve()}:{root} "
        f"nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository={root}{plugin}",
        f"tritonserver --model-repository={root}{plugin}",
    ]
