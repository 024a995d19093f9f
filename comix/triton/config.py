"""``config.pbtxt`` of one Triton model, written as protobuf text format of Triton's ``ModelConfig``.

Generation needs no Triton package; the tests parse every generated file with Triton's own schema
(``tritonclient.grpc.model_config_pb2`` + ``google.protobuf.text_format``) and compare it with the model.
With ``max_batch_size > 0`` Triton's ``dims`` leave out the batch axis; ``-1`` is a dynamic axis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from comix import __version__
from comix.errors import BadInputError
from comix.runtime.registry import BACKENDS as RUNTIME_BACKENDS

# the runtime backends Triton serves (names of comix.runtime.registry) -> (Triton backend, model file name);
# OpenVINO is not among them: Triton's OpenVINO backend cannot load our DeformConv conversion
BACKENDS = {
    name: (name, "model" + {"tensorrt": ".plan"}.get(name, RUNTIME_BACKENDS[name].suffixes[0]))
    for name in ("onnxruntime", "tensorrt")
}
INSTANCE_KINDS = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}
# ONNX TensorProto element types and TensorRT DataType names -> Triton data types
ONNX_TYPES = {
    1: "TYPE_FP32",
    10: "TYPE_FP16",
    16: "TYPE_BF16",
    11: "TYPE_FP64",
    6: "TYPE_INT32",
    7: "TYPE_INT64",
    3: "TYPE_INT8",
    2: "TYPE_UINT8",
    9: "TYPE_BOOL",
}
TENSORRT_TYPES = {
    "FLOAT": "TYPE_FP32",
    "HALF": "TYPE_FP16",
    "BF16": "TYPE_BF16",
    "INT32": "TYPE_INT32",
    "INT64": "TYPE_INT64",
    "INT8": "TYPE_INT8",
    "UINT8": "TYPE_UINT8",
    "BOOL": "TYPE_BOOL",
}


@dataclass(frozen=True)
class TensorConfig:
    """One input or output: name, Triton data type, dims without the batch axis (-1 = dynamic)."""

    name: str
    data_type: str
    dims: tuple[int, ...]


@dataclass
class ModelConfig:
    """What one ``config.pbtxt`` says."""

    name: str
    backend: str  # a key of BACKENDS
    max_batch_size: int
    inputs: list[TensorConfig]
    outputs: list[TensorConfig]
    preferred_batch_sizes: list[int] = field(default_factory=list)
    max_queue_delay_us: int = 100
    instance_count: int = 1
    instance_kind: str = "gpu"
    gpus: list[int] = field(default_factory=list)
    op_library: str | None = (
        None  # ONNX Runtime custom-op library, loaded by the onnxruntime backend
    )
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise BadInputError(f"backend: got {self.backend!r}, expected one of {list(BACKENDS)}")
        if self.instance_kind not in INSTANCE_KINDS:
            raise BadInputError(
                f"--kind: got {self.instance_kind!r}, expected one of {list(INSTANCE_KINDS)}"
            )
        if self.max_batch_size < 1:
            raise BadInputError(
                f"max batch: got {self.max_batch_size}, expected >= 1 (dynamic batching needs it)"
            )
        if self.instance_count < 1:
            raise BadInputError(f"--instances: got {self.instance_count}, expected >= 1")
        wrong = [b for b in self.preferred_batch_sizes if not 1 <= b <= self.max_batch_size]
        if wrong:
            raise BadInputError(
                f"preferred batch sizes: got {wrong}, expected 1..{self.max_batch_size}"
            )
        if self.backend == "tensorrt" and self.instance_kind != "gpu":
            raise BadInputError(
                "--kind cpu: got the TensorRT backend, expected gpu (engines run on GPUs)"
            )


def _tensor(tensor: TensorConfig) -> str:
    dims = ", ".join(str(d) for d in tensor.dims)
    return f'  {{\n    name: "{tensor.name}"\n    data_type: {tensor.data_type}\n    dims: [ {dims} ]\n  }}'


def _quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid protobuf text string for these values


def config_text(config: ModelConfig) -> str:
    """The ``config.pbtxt`` text."""
    backend, filename = BACKENDS[config.backend]
    lines = [
        f"# written by comix-deploy {__version__} (comix export-triton)",
        f"name: {_quoted(config.name)}",
        f'backend: "{backend}"',
        f'default_model_filename: "{filename}"',
        f"max_batch_size: {config.max_batch_size}",
        "input [\n" + ",\n".join(_tensor(t) for t in config.inputs) + "\n]",
        "output [\n" + ",\n".join(_tensor(t) for t in config.outputs) + "\n]",
    ]
    preferred = ", ".join(str(b) for b in config.preferred_batch_sizes)
    lines.append(
        "dynamic_batching {\n"
        + (f"  preferred_batch_size: [ {preferred} ]\n" if preferred else "")
        + f"  max_queue_delay_microseconds: {config.max_queue_delay_us}\n}}"
    )
    gpus = (
        f"\n    gpus: [ {', '.join(str(g) for g in config.gpus)} ]"
        if config.gpus and config.instance_kind == "gpu"
        else ""
    )
    lines.append(
        f"instance_group [\n  {{\n    count: {config.instance_count}\n    kind: "
        f"{INSTANCE_KINDS[config.instance_kind]}{gpus}\n  }}\n]"
    )
    if config.op_library:
        lines.append(
            f"model_operations {{\n  op_library_filename: {_quoted(config.op_library)}\n}}"
        )
    for key, value in config.parameters.items():
        lines.append(
            f"parameters {{\n  key: {_quoted(key)}\n  value: {{ string_value: {_quoted(value)} }}\n}}"
        )
    return "\n".join(lines) + "\n"
