"""The model record (comix.metadata): round trips, the version-1 exports, newer versions refused."""

from __future__ import annotations

import json

import onnx
import pytest
from onnx import TensorProto, helper

from comix.metadata import PREFIX, SCHEMA_VERSION, MetadataError, ModelRecord

# metadata_props exactly as `comix export` wrote them before the record had a version (schema 1)
VERSION_1_PROPS = {
    "comix.model_name": "comix_t",
    "comix.config": json.dumps(
        {"bands": 144, "x_channels": 1, "classes": 11, "dcn_backend": "export"}
    ),
    "comix.class_names": json.dumps(["grass", "roofs"]),
    "comix.class_colors": json.dumps([[0, 128, 0], [200, 0, 0]]),
    "comix.wavelengths_nm": json.dumps([400.0, 410.0]),
    "comix.hsi_bands": "144",
    "comix.x_modality": "lidar_dsm",
    "comix.x_channels": "1",
    "comix.tile_size": json.dumps([64, 64]),
    "comix.checkpoint_sha256": "ab" * 32,
    "comix.graph_kind": "canonical",
    "comix.opset": "20",
    "comix.exporter": "torch.onnx.export(dynamo=True)",
    "comix.tools": json.dumps({"torch": "2.13.0"}),
    "comix.custom_domain": "ai.comix:1",
}


def _onnx_with(props: dict[str, str]) -> onnx.ModelProto:
    node = helper.make_node("Identity", ["a"], ["b"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph)
    helper.set_model_props(model, props)
    return model


def test_onnx_round_trip_keeps_every_field_and_foreign_keys():
    record = ModelRecord(
        model_name="comix_s",
        class_names=["a", "b"],
        class_colors=[[1, 2, 3], [4, 5, 6]],
        wavelengths_nm=[500.5],
        hsi_bands=1,
        x_channels=2,
        training_tile=[96, 80],
        checkpoint_sha256="cd" * 32,
        graph_kind="portable",
        opset=20,
        precision={"precision": "int8", "method": "entropy"},
    )
    model = record.write_onnx(_onnx_with({"author": "someone"}))
    assert ModelRecord.read_onnx(model) == record
    props = {p.key: p.value for p in model.metadata_props}
    assert props["author"] == "someone" and props[PREFIX + "schema_version"] == str(SCHEMA_VERSION)


def test_json_round_trip_for_files_beside_engines():
    record = ModelRecord(
        model_name="comix_t", training_tile=[128, 128], precision={"precision": "fp16"}
    )
    assert ModelRecord.from_json(record.to_json()) == record


def test_a_version_1_export_still_reads_with_its_tile_upgraded():
    record = ModelRecord.read_onnx(_onnx_with(VERSION_1_PROPS))
    assert record.schema_version == SCHEMA_VERSION  # upgraded in memory
    assert record.training_tile == [64, 64] and record.model_name == "comix_t"
    assert (
        record.class_names == ["grass", "roofs"] and record.x_channels == 1 and record.opset == 20
    )
    assert record.precision == {}
    assert record.task == "segmentation"  # records before version 3 describe CoMiX models


def test_a_fusion_record_round_trips_with_its_task():
    record = ModelRecord(
        model_name="ship_pansharpen", task="fusion-pansharpen", config={"primary_channels": 4}
    )
    assert ModelRecord.from_props(record.to_props()).task == "fusion-pansharpen"
    assert ModelRecord.from_json(record.to_json()) == record


def test_a_newer_schema_is_refused_with_what_to_do():
    props = {**VERSION_1_PROPS, PREFIX + "schema_version": str(SCHEMA_VERSION + 1)}
    with pytest.raises(
        MetadataError,
        match=rf"schema version {SCHEMA_VERSION + 1}, expected <= {SCHEMA_VERSION}"
        r".*upgrade it, or re-export",
    ):
        ModelRecord.from_props(props)


def test_a_foreign_model_gives_the_defaults_and_garbage_is_named():
    assert ModelRecord.from_props({"producer": "other"}) == ModelRecord()
    with pytest.raises(MetadataError, match=r"comix.class_names: got .*expected a JSON value"):
        ModelRecord.from_props({**VERSION_1_PROPS, "comix.class_names": "[not json"})
    with pytest.raises(MetadataError, match="expected an object"):
        ModelRecord.from_json("[1, 2]")
