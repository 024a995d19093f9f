"""Optimisation profiles: option parsing, defaults from the record and the graph, refusals."""

from __future__ import annotations

import pytest

from comix.errors import BadInputError
from comix.metadata import ModelRecord
from comix.tensorrt.profiles import (
    EngineProfile,
    GraphInput,
    ProfileError,
    ShapeRange,
    graph_inputs,
    parse_range,
    plan_profile,
    tile_ranges,
)

DYNAMIC = [
    GraphInput("hsi", ("batch", 144, "height", "width")),
    GraphInput("x", ("batch", 1, "height", "width")),
]


def test_range_and_tile_syntax():
    assert parse_range("4", "batch") == ShapeRange(1, 4, 4)
    assert parse_range("2:4:8", "batch") == ShapeRange(2, 4, 8)
    assert tile_ranges("128") == (ShapeRange.fixed(128), ShapeRange.fixed(128))
    assert tile_ranges("96x128") == (ShapeRange.fixed(96), ShapeRange.fixed(128))
    assert tile_ranges("64:96x128:128x256") == (ShapeRange(64, 96, 128), ShapeRange(64, 128, 256))


@pytest.mark.parametrize(
    "text, message",
    [
        ("8:4:2", "expected 1 <= min <= opt <= max"),
        ("0", "expected 1 <= min"),
        ("1:2", "expected N or MIN:OPT:MAX"),
        ("four", "expected N or MIN:OPT:MAX"),
    ],
)
def test_bad_ranges_are_refused_with_got_expected(text, message):
    with pytest.raises(ProfileError, match=message):
        parse_range(text, "batch")


def test_bad_tile_is_refused():
    with pytest.raises(BadInputError, match="--tile: got '128:64:96', expected MIN <= OPT <= MAX"):
        tile_ranges("128:64:96")
    with pytest.raises(BadInputError, match="expected S or HxW"):
        tile_ranges("12y4")


def test_defaults_come_from_the_training_tile_then_the_callers_defaults():
    record = ModelRecord(training_tile=[96, 112])
    profile = plan_profile(DYNAMIC, record, default_batch=4, default_tile=128)
    assert profile == EngineProfile(
        ShapeRange(1, 4, 4), ShapeRange.fixed(96), ShapeRange.fixed(112)
    )
    profile = plan_profile(DYNAMIC, ModelRecord(), default_batch=4, default_tile=128)
    assert (profile.height, profile.width) == (ShapeRange.fixed(128), ShapeRange.fixed(128))
    assert profile.shapes(DYNAMIC) == {
        "hsi": ((1, 144, 128, 128), (4, 144, 128, 128), (4, 144, 128, 128)),
        "x": ((1, 1, 128, 128), (4, 1, 128, 128), (4, 1, 128, 128)),
    }


def test_static_graph_axes_are_fixed_and_conflicting_options_refused():
    static = [GraphInput("hsi", (2, 144, 64, 64)), GraphInput("x", (2, 1, 64, 64))]
    profile = plan_profile(
        static, ModelRecord(training_tile=[128, 128]), default_batch=4, default_tile=128
    )
    assert profile == EngineProfile(ShapeRange.fixed(2), ShapeRange.fixed(64), ShapeRange.fixed(64))
    with pytest.raises(ProfileError, match="--batch: got 1:4:4, but the graph fixes batch at 2"):
        plan_profile(
            static, ModelRecord(), default_batch=4, default_tile=128, batch=ShapeRange(1, 4, 4)
        )


def test_graph_that_is_not_comix_is_refused():
    with pytest.raises(ProfileError, match="expected two 4-D inputs"):
        plan_profile(
            [GraphInput("a", (1, 3, 8, 8))], ModelRecord(), default_batch=4, default_tile=128
        )
    with pytest.raises(ProfileError, match="expected a fixed channel count"):
        plan_profile(
            [GraphInput("hsi", ("b", "c", "h", "w")), GraphInput("x", ("b", 1, "h", "w"))],
            ModelRecord(),
            default_batch=4,
            default_tile=128,
        )


def test_profile_round_trips_through_its_dict():
    profile = EngineProfile(ShapeRange(1, 2, 8), ShapeRange(32, 64, 128), ShapeRange.fixed(96))
    assert EngineProfile.from_dict(profile.to_dict()) == profile


def test_graph_inputs_of_an_export(tiny_canonical):
    import onnx

    inputs = graph_inputs(onnx.load(str(tiny_canonical)))
    assert inputs == [
        GraphInput("hsi", ("batch", 6, "height", "width")),
        GraphInput("x", ("batch", 1, "height", "width")),
    ]
