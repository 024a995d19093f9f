"""Triton model repositories: every generated ``config.pbtxt`` is parsed with Triton's own protobuf schema
(``tritonclient.grpc.model_config_pb2``) and checked against the model it serves.

The ONNX part uses a real export. The TensorRT part needs an engine, which cannot be built here: its model
folder is generated from an engine record as ``comix build`` writes it, with placeholder engine bytes (the
config is made from the record, never from the engine bytes). Triton itself was not run."""

from __future__ import annotations

import json

import onnx
import pytest
from typer.testing import CliRunner

from comix.cli.app import app
from comix.metadata import ModelRecord
from comix.runtime import find_custom_op_library
from comix.tensorrt.engine_record import EngineFacts, write_engine_record
from comix.triton.config import ModelConfig, TensorConfig, config_text

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2",
    reason="tritonclient[grpc] not installed (pip install -e '.[triton]')",
)
from google.protobuf import text_format  # noqa: E402  (installed with tritonclient[grpc])

ONNX_TO_TRITON = {1: model_config_pb2.TYPE_FP32, 10: model_config_pb2.TYPE_FP16}


def _parse(path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


@pytest.fixture
def trt_library(tmp_path):
    library = tmp_path / "libcomix_trt_plugins.so"
    library.write_bytes(b"\x7fELF placeholder")
    return library


def _engine(tmp_path, record: ModelRecord):
    engine = tmp_path / "tiny.engine"
    engine.write_bytes(b"placeholder engine bytes")
    facts = EngineFacts(
        engine_file=engine.name,
        tensorrt_version="10.3.0.30",
        gpu={"name": "Orin", "compute_capability": "8.7"},
        profiles=[{"batch": [1, 4, 8], "height": [48, 48, 48], "width": [64, 64, 64]}],
        io=[
            {"name": "hsi", "mode": "input", "dtype": "DataType.FLOAT", "shape": [-1, 6, -1, -1]},
            {"name": "x", "mode": "input", "dtype": "DataType.FLOAT", "shape": [-1, 1, -1, -1]},
            {
                "name": "logits",
                "mode": "output",
                "dtype": "DataType.FLOAT",
                "shape": [-1, 4, -1, -1],
            },
        ],
    )
    write_engine_record(engine, facts, record)
    return engine


def test_repository_for_both_backends_parses_with_tritons_schema(
    tiny_canonical, tmp_path, trt_library
):
    if find_custom_op_library() is None:
        pytest.skip(
            "the canonical graph needs the ONNX Runtime custom-op library (comix plugins build)"
        )
    graph = onnx.load(str(tiny_canonical))
    record = ModelRecord.read_onnx(graph)
    repository = tmp_path / "models"
    repository.mkdir()
    engine = _engine(tmp_path, record)
    result = CliRunner().invoke(
        app,
        [
            "export-triton",
            str(repository),
            "--onnx",
            str(tiny_canonical),
            "--engine",
            str(engine),
            "--name",
            "tiny",
            "--max-batch",
            "6",
            "--instances",
            "2",
            "--trt-library",
            str(trt_library),
            "--server-root",
            "/models",
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert (
        "--backend-config=tensorrt,plugins=/models/plugins/libcomix_trt_plugins.so" in result.output
    )

    ort = _parse(repository / "tiny_onnx" / "config.pbtxt")
    assert (ort.name, ort.backend, ort.default_model_filename, ort.max_batch_size) == (
        "tiny_onnx",
        "onnxruntime",
        "model.onnx",
        6,
    )
    inputs = {value.name: value for value in graph.graph.input}
    assert [i.name for i in ort.input] == list(inputs)
    for config_input in ort.input:
        onnx_dims = [
            d.dim_value or -1 for d in inputs[config_input.name].type.tensor_type.shape.dim
        ]
        assert list(config_input.dims) == onnx_dims[1:], (
            "dims without the batch axis, -1 where dynamic"
        )
        assert (
            config_input.data_type
            == ONNX_TO_TRITON[inputs[config_input.name].type.tensor_type.elem_type]
        )
    assert [o.name for o in ort.output] == ["logits"] and list(ort.output[0].dims) == [4, -1, -1]
    assert list(ort.dynamic_batching.preferred_batch_size) == [6]
    assert (
        ort.instance_group[0].count == 2
        and ort.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    )
    library = ort.model_operations.op_library_filename[0]
    assert library == f"/models/plugins/{find_custom_op_library().name}"
    assert (
        repository / "plugins" / find_custom_op_library().name
    ).read_bytes() == find_custom_op_library().read_bytes()
    assert onnx.load(str(repository / "tiny_onnx" / "1" / "model.onnx")).graph == graph.graph

    trt = _parse(repository / "tiny_trt" / "config.pbtxt")
    assert (trt.backend, trt.default_model_filename, trt.max_batch_size) == (
        "tensorrt",
        "model.plan",
        8,
    )
    assert [(i.name, list(i.dims)) for i in trt.input] == [("hsi", [6, 48, 64]), ("x", [1, 48, 64])]
    assert [(o.name, list(o.dims)) for o in trt.output] == [("logits", [4, 48, 64])]
    assert trt.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert (repository / "tiny_trt" / "1" / "model.plan.json").is_file()
    summary = json.loads((repository / "comix_repository.json").read_text())
    assert (
        set(summary["models"]) == {"tiny_onnx", "tiny_trt"}
        and summary["models"]["tiny_onnx"]["record"]["model_name"] == "tiny"
    )


def test_existing_model_folder_is_kept_unless_overwrite(tiny_canonical, tmp_path):
    if find_custom_op_library() is None:
        pytest.skip(
            "the canonical graph needs the ONNX Runtime custom-op library (comix plugins build)"
        )
    repository = tmp_path / "models"
    (repository / "tiny_onnx").mkdir(parents=True)
    (repository / "tiny_onnx" / "keep.txt").write_text("mine")
    args = ["export-triton", str(repository), "--onnx", str(tiny_canonical), "--name", "tiny"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 2 and "expected a new name (or --overwrite)" in result.output
    assert (repository / "tiny_onnx" / "keep.txt").read_text() == "mine"
    assert CliRunner().invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert (
        not (repository / "tiny_onnx" / "keep.txt").exists()
        and (repository / "tiny_onnx" / "config.pbtxt").is_file()
    )
    assert not [p for p in repository.iterdir() if p.name.startswith(".")], (
        "no temporary folders left"
    )


def test_config_options_round_trip_through_the_schema(tmp_path):
    config = ModelConfig(
        name="m",
        backend="tensorrt",
        max_batch_size=8,
        inputs=[TensorConfig("hsi", "TYPE_FP16", (144, 128, 128))],
        outputs=[TensorConfig("logits", "TYPE_FP32", (11, 128, 128))],
        preferred_batch_sizes=[4, 8],
        max_queue_delay_us=250,
        instance_count=3,
        gpus=[0, 1],
        parameters={"comix.note": 'a "quoted" value'},
    )
    path = tmp_path / "config.pbtxt"
    path.write_text(config_text(config))
    parsed = _parse(path)
    assert parsed.input[0].data_type == model_config_pb2.TYPE_FP16
    assert list(parsed.dynamic_batching.preferred_batch_size) == [4, 8]
    assert parsed.dynamic_batching.max_queue_delay_microseconds == 250
    assert (parsed.instance_group[0].count, list(parsed.instance_group[0].gpus)) == (3, [0, 1])
    assert parsed.parameters["comix.note"].string_value == 'a "quoted" value'


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backend": "tensorrt", "instance_kind": "cpu"}, "expected gpu"),
        ({"max_batch_size": 0}, "expected >= 1"),
        ({"preferred_batch_sizes": [16]}, "expected 1..8"),
    ],
)
def test_bad_configs_are_refused(kwargs, message):
    values = {
        "name": "m",
        "backend": "onnxruntime",
        "max_batch_size": 8,
        "inputs": [],
        "outputs": [],
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        ModelConfig(**values)
