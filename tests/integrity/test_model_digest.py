"""comix.model_digest: the weights and graph digests of ONNX files, stamping and verification.

Independent reference: the digests are recomputed here from onnx's own parse of the file (each
initializer and graph field re-serialised on its own, which for these protobuf-written files gives the
same bytes), not from the module's wire walk."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from digest_models import (
    attribute_payload_offset,
    find,
    flip,
    initializer_payload_offset,
    small_model,
)

from comix.metadata import ModelRecord
from comix.model_digest import (
    GRAPH_KEY,
    WEIGHTS_KEY,
    DigestError,
    ModelDigests,
    digests,
    recorded,
    stamp,
    verify,
)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def reference_digests(data: bytes) -> ModelDigests:
    """Digests from onnx's parse: each field re-serialised with its own tag (independent of the walk)."""
    model = onnx.load_from_string(data)
    weights = hashlib.sha256()
    for tensor in model.graph.initializer:
        weights.update(_field(5, tensor.SerializeToString()))
    for sparse in model.graph.sparse_initializer:
        weights.update(_field(15, sparse.SerializeToString()))
    graph_only = onnx.GraphProto()
    graph_only.CopyFrom(model.graph)
    del graph_only.initializer[:]
    del graph_only.sparse_initializer[:]
    header = onnx.ModelProto()
    header.CopyFrom(model)
    del header.metadata_props[:]
    header.ClearField("graph")
    # fields before the graph (1..6), the graph's own fields, then fields after it (8, ...): the order
    # protobuf writes them in, which is the order of the file for these models
    head = header.SerializeToString()
    before, after = _split_at_field(head, 7)
    graph = hashlib.sha256(before + graph_only.SerializeToString() + after)
    return ModelDigests(weights.hexdigest(), graph.hexdigest())


def _split_at_field(data: bytes, number: int) -> tuple[bytes, bytes]:
    """(fields numbered below ``number``, fields above) of a serialised message in ascending order."""
    pos = 0
    while pos < len(data):
        key, end = _read_varint(data, pos)
        if key >> 3 > number:
            return data[:pos], data[pos:]
        wire = key & 7
        if wire == 0:
            _, end = _read_varint(data, end)
        elif wire == 2:
            length, end = _read_varint(data, end)
            end += length
        elif wire in (1, 5):
            end += 8 if wire == 1 else 4
        pos = end
    return data, b""


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def test_digests_equal_an_independent_reference():
    data = small_model()
    assert digests(data) == reference_digests(data)


def test_digests_ignore_metadata_and_stamping():
    plain = small_model()
    with_record = small_model(metadata={"comix.model_name": "x", "other": "y" * 300})
    first = digests(plain)
    assert digests(with_record) == first
    stamped = stamp(with_record)
    assert digests(stamped) == first
    assert recorded(stamped) == first
    assert verify(stamped) is None


def test_digests_change_with_weights_and_graph():
    assert digests(small_model(seed=0)).weights != digests(small_model(seed=1)).weights
    assert digests(small_model(seed=0)).graph == digests(small_model(seed=1)).graph


def test_stamp_keeps_every_other_byte_and_replaces_old_entries():
    data = small_model(metadata={"keep": "me"})
    once = stamp(data)
    assert once.startswith(data)  # appended at the end, nothing re-serialised
    twice = stamp(once)
    assert twice == once  # old entries dropped, fresh ones appended: same bytes
    fake = onnx.load_from_string(small_model())
    for key in (WEIGHTS_KEY, GRAPH_KEY):
        entry = fake.metadata_props.add()
        entry.key, entry.value = key, "0" * 64
    restamped = stamp(fake.SerializeToString())
    keys = [p.key for p in onnx.load_from_string(restamped).metadata_props]
    assert keys.count(WEIGHTS_KEY) == 1 and keys.count(GRAPH_KEY) == 1
    assert verify(restamped) is None


def test_a_flipped_weight_byte_is_a_weights_mismatch_only():
    stamped = stamp(small_model())
    corrupted = flip(stamped, initializer_payload_offset(stamped))
    before, after = digests(stamped), digests(corrupted)
    assert after.weights != before.weights and after.graph == before.graph
    message = verify(corrupted, source="model.onnx")
    assert message is not None
    assert message.startswith("model.onnx: the weights do not match the digest recorded at export")
    assert f"got sha256 {after.weights[:8]}…, recorded {before.weights[:8]}…" in message
    assert "graph" not in message


def test_a_flipped_attribute_byte_is_a_graph_mismatch_only():
    stamped = stamp(small_model())
    corrupted = flip(stamped, attribute_payload_offset(stamped))
    before, after = digests(stamped), digests(corrupted)
    assert after.graph != before.graph and after.weights == before.weights
    message = verify(corrupted, source="m.onnx")
    assert message.startswith("m.onnx: the graph does not match the digest recorded at export")
    assert f"got sha256 {after.graph[:8]}…, recorded {before.graph[:8]}…" in message


def test_both_changed_names_both():
    stamped = stamp(small_model())
    corrupted = flip(
        flip(stamped, attribute_payload_offset(stamped)), initializer_payload_offset(stamped)
    )
    message = verify(corrupted)
    assert "the weights and the graph do not match" in message
    assert message.count("got sha256") == 2


def test_a_node_name_edit_is_a_graph_change():
    stamped = stamp(small_model())
    model = onnx.load_from_string(stamped)
    model.graph.node[1].name = "renamed"
    assert verify(model.SerializeToString()).startswith("model: the graph does not match")


@pytest.mark.parametrize("keep", [1, 10, 100, 0.5, 0.9, -1])
def test_truncated_files_are_refused(keep):
    stamped = stamp(small_model())
    cut = stamped[: int(len(stamped) * keep)] if isinstance(keep, float) else stamped[:keep]
    with pytest.raises(DigestError, match=r"^m\.onnx: not a valid ONNX file \("):
        digests(cut, source="m.onnx")
    assert verify(cut, source="m.onnx").startswith("m.onnx: not a valid ONNX file")


def test_no_recorded_digests():
    data = small_model()
    assert recorded(data) is None
    message = verify(data, source="a.onnx")
    assert message.startswith(
        "a.onnx: has no recorded digests (comix.weights_sha256, comix.graph_sha256)"
    )


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({WEIGHTS_KEY: "a" * 64}, "records comix.weights_sha256 but not comix.graph_sha256"),
        ({GRAPH_KEY: "a" * 64}, "records comix.graph_sha256 but not comix.weights_sha256"),
        ({WEIGHTS_KEY: "A" * 64, GRAPH_KEY: "a" * 64}, "expected 64 lowercase hex characters"),
        ({WEIGHTS_KEY: "a" * 63, GRAPH_KEY: "a" * 64}, "expected 64 lowercase hex characters"),
    ],
)
def test_unreadable_records_are_refused(entries, expected):
    data = small_model(metadata=entries)
    with pytest.raises(DigestError, match=expected):
        recorded(data)
    assert expected in verify(data)


def test_a_digest_recorded_twice_is_refused():
    data = stamp(small_model())
    twice = data + _field(14, _field(1, WEIGHTS_KEY.encode()) + _field(2, b"b" * 64))
    with pytest.raises(DigestError, match="records comix.weights_sha256 twice"):
        recorded(twice)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "it has no graph"),
        (_field(1, b"x"), "it has no graph"),
        (bytes([0x0B]) + b"xx", "got wire type 3"),  # a group start (field 1)
        (bytes([0x0C]), "got wire type 4"),
        (bytes([0x0E, 0]), "got wire type 6"),
        (bytes([0x02, 0x01]), "got field number 0"),
        (bytes([0x08] + [0xFF] * 10 + [0x01]), "a varint is longer than 10 bytes"),
        (bytes([0x08, 0x80]), "a varint runs past the end"),
        (
            bytes([0x3A, 0x05, 0x0A]),
            "field 7 at byte 0 runs past the end of its message: truncated?",
        ),
        (bytes([0x38, 0x01]), "the graph (field 7) has wire type 0, expected 2"),
        (_field(7, bytes([0x2A, 0x03, 0x0A])), "runs past the end"),  # an initializer cut short
    ],
)
def test_malformed_bytes_are_not_onnx(data, expected):
    with pytest.raises(DigestError, match=r"not a valid ONNX file") as error:
        digests(data)
    assert expected in str(error.value)


def test_external_data_initializers_are_refused():
    model = onnx.load_from_string(small_model())
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    location = tensor.external_data.add()
    location.key, location.value = "location", "weights.bin"
    with pytest.raises(DigestError, match="an initializer keeps its data in an external file"):
        digests(model.SerializeToString(), source="big.onnx")
    assert "single-file model" in verify(model.SerializeToString())


def test_onnx_runtime_loads_a_stamped_file_and_its_record_reads(tmp_path):
    record = ModelRecord(model_name="small", class_names=["a", "b", "c"], hsi_bands=4)
    model = onnx.load_from_string(small_model())
    stamped = stamp(record.write_onnx(model).SerializeToString())
    path = tmp_path / "small.onnx"
    path.write_bytes(stamped)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((2, 4), np.float32)
    plain = ort.InferenceSession(small_model(), providers=["CPUExecutionProvider"])
    assert np.array_equal(session.run(None, {"x": x})[0], plain.run(None, {"x": x})[0])
    props = session.get_modelmeta().custom_metadata_map
    assert props[WEIGHTS_KEY] == digests(stamped).weights
    read = ModelRecord.from_props(props)
    assert read.model_name == "small" and read.class_names == ["a", "b", "c"]


def test_digest_positions_are_found_once():
    data = small_model()
    assert find(data, b"MatMul") > 0
