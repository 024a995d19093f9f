"""The record beside an engine: round trip (the model record through comix.metadata) and the compatibility
check that refuses an engine built for another TensorRT, GPU or plugin library."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from comix.metadata import ModelRecord
from comix.tensorrt.engine_record import (
    EngineFacts,
    EngineMismatch,
    RuntimeEnvironment,
    check_compatible,
    compatibility_problems,
    read_engine_record,
    record_path,
    unchecked,
    write_engine_record,
)

FACTS = EngineFacts(
    engine_file="m.engine",
    tensorrt_version="10.3.0.30",
    gpu={"name": "Orin (nvgpu)", "compute_capability": "8.7"},
    plugin_library={
        "file": "libcomix_trt_plugins.so",
        "sha256": "a" * 64,
        "comix_version": "0.1.0",
    },
    profiles=[{"batch": [1, 4, 4], "height": [128, 128, 128], "width": [128, 128, 128]}],
    build_options={"version_compatible": False, "hardware_compatibility": "none"},
)
HERE = RuntimeEnvironment("10.3.0.30", "Orin (nvgpu)", "8.7", "a" * 64)


def test_record_round_trips_with_the_model_record(tmp_path):
    engine = tmp_path / "m.engine"
    model = ModelRecord(
        model_name="comix_t",
        class_names=["a", "b"],
        training_tile=[128, 128],
        precision={"int8": 1},
    )
    path = write_engine_record(engine, FACTS, model)
    assert path == record_path(engine) == tmp_path / "m.engine.json"
    facts, read = read_engine_record(engine)
    assert facts == FACTS and read == model
    document = json.loads(path.read_text())
    assert (
        document["kind"] == "comix.tensorrt.engine"
        and document["model"]["schema_version"] == model.schema_version
    )


def test_missing_foreign_and_newer_records_are_refused(tmp_path):
    engine = tmp_path / "m.engine"
    with pytest.raises(EngineMismatch, match="got no m.engine.json beside it"):
        read_engine_record(engine)
    record_path(engine).write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(EngineMismatch, match="expected 'comix.tensorrt.engine'"):
        read_engine_record(engine)
    record_path(engine).write_text(
        json.dumps({"kind": "comix.tensorrt.engine", "engine": {"engine_schema_version": 99}})
    )
    with pytest.raises(EngineMismatch, match="got schema version 99"):
        read_engine_record(engine)


def test_same_machine_is_compatible():
    assert compatibility_problems(FACTS, HERE) == []


@pytest.mark.parametrize(
    "here, expected",
    [
        (
            replace(HERE, tensorrt_version="10.3.0.26"),
            "TensorRT: engine built with 10.3.0.30, got 10.3.0.26",
        ),
        (
            replace(HERE, gpu_name="NVIDIA H100", compute_capability="9.0"),
            "GPU: engine built on Orin (nvgpu)",
        ),
        (
            replace(HERE, plugin_sha256="b" * 64),
            "plugin library: engine built with libcomix_trt_plugins.so sha256 aaaaaaaaaaaa",
        ),
    ],
)
def test_each_difference_is_named(here, expected):
    problems = compatibility_problems(FACTS, here)
    assert len(problems) == 1 and expected in problems[0]


def test_all_differences_are_listed_in_one_error(tmp_path):
    here = RuntimeEnvironment("11.1.0", "NVIDIA H100", "9.0", "b" * 64)
    with pytest.raises(EngineMismatch) as error:
        check_compatible(tmp_path / "m.engine", FACTS, here)
    message = str(error.value)
    assert (
        message.count(";") >= 2
        and "TensorRT" in message
        and "GPU" in message
        and "plugin library" in message
    )


def test_version_compatible_engines_run_on_later_releases_of_the_same_major():
    facts = replace(
        FACTS, build_options={"version_compatible": True, "hardware_compatibility": "none"}
    )
    assert compatibility_problems(facts, replace(HERE, tensorrt_version="10.13.3")) == []
    assert "not older" in compatibility_problems(facts, replace(HERE, tensorrt_version="10.2.0"))[0]
    assert (
        "version compatible within 10.x"
        in compatibility_problems(facts, replace(HERE, tensorrt_version="11.1.0"))[0]
    )


def test_hardware_compatibility_levels():
    ampere = replace(FACTS, build_options={"hardware_compatibility": "ampere+"})
    assert (
        compatibility_problems(
            ampere, replace(HERE, gpu_name="NVIDIA H100", compute_capability="9.0")
        )
        == []
    )
    assert (
        "compute capability >= 8.0"
        in compatibility_problems(ampere, replace(HERE, gpu_name="T4", compute_capability="7.5"))[0]
    )
    same = replace(FACTS, build_options={"hardware_compatibility": "same-compute-capability"})
    assert compatibility_problems(same, replace(HERE, gpu_name="Orin Nano")) == []
    assert (
        "built for compute capability 8.7"
        in compatibility_problems(same, replace(HERE, compute_capability="8.6"))[0]
    )


def test_a_trtexec_build_is_not_checked_and_says_so():
    facts = replace(FACTS, tensorrt_version="", gpu={}, plugin_library={})
    assert compatibility_problems(facts, RuntimeEnvironment("11.1.0", "any", "9.0", "c" * 64)) == []
    assert unchecked(facts) == ["TensorRT version", "GPU", "plugin library"]
    assert unchecked(FACTS) == []
