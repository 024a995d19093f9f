"""SHA-256 digests of an ONNX model's weights and of its graph, read from the protobuf wire format.

An ONNX file is a serialized ``ModelProto``. Both digests are defined on the file's exact bytes, never on
a re-serialisation, so that every protobuf library and version agrees; the C API computes the same in
``plugins/capi/src/model_digest.cpp`` (tests/integrity checks that they agree):

* **weights** — SHA-256 over every ``initializer`` (GraphProto field 5) and ``sparse_initializer`` (15)
  of the ModelProto's ``graph`` (field 7), each as it is in the file (tag + length + payload), in file
  order;
* **graph** — SHA-256 over every other top-level field except ``metadata_props`` (14), tag +
  length/value + payload, in file order; the ``graph`` field contributes the exact bytes of each of its
  own fields other than 5 and 15 (not its own tag and length).

They are recorded as two ``metadata_props`` entries, ``comix.weights_sha256`` and ``comix.graph_sha256``
(64 lowercase hex characters, plain strings). Field 14 is in neither digest, so stamping does not change
them and the model record (:mod:`comix.metadata`) may be rewritten without invalidating them. A flipped
byte in a weight changes the weights digest only; one in a node, an attribute or an input shape changes
the graph digest only. Initializers stored outside the file (``data_location = EXTERNAL``) are refused:
their bytes are not in the file, so the digest would not cover them.

    from comix.model_digest import digests, stamp, verify
    data = stamp(Path("model.onnx").read_bytes())   # the same file plus the two entries
    verify(data, source="model.onnx")               # None, or one sentence naming what differs

Wire format walked here: a field is a varint key (field number << 3 | wire type) then a value — wire
type 0 a varint, 1 eight bytes, 2 a varint length and that many bytes, 5 four bytes. Groups (3, 4), the
unused types 6 and 7, field number 0 and anything running past its enclosing message are refused as
"not a valid ONNX file". Cost: one pass of SHA-256 over the file (hashlib: 17 ms for the 20 MB comix_t
here, ~0.9 ms per MB; tools/bench_flight.py measures it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from comix.errors import BadInputError

WEIGHTS_KEY = "comix.weights_sha256"
GRAPH_KEY = "comix.graph_sha256"

# ModelProto / GraphProto / TensorProto / SparseTensorProto / StringStringEntryProto field numbers
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_OPSET_IMPORT = 7, 14, 8
_GRAPH_NODE, _OPSET_DOMAIN = 1, 1
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP_TYPE = 1, 2, 3, 4
_GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 5, 15
_TENSOR_DATA_LOCATION, _DATA_LOCATION_EXTERNAL = 14, 1
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_WIRE_VARINT, _WIRE_FIXED64, _WIRE_BYTES, _WIRE_FIXED32 = 0, 1, 2, 5
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_PREFIX = 8  # hex characters of a digest quoted in a message


class DigestError(BadInputError):
    """The file cannot be digested or its recorded digests cannot be read (message: one sentence)."""


@dataclass(frozen=True)
class ModelDigests:
    """Hex SHA-256 digests (64 lowercase characters each) of a model's weights and of its graph."""

    weights: str
    graph: str


@dataclass(frozen=True)
class _Field:
    """One field of a message: number, wire type, and offsets into the file (value = payload for type 2)."""

    number: int
    wire: int
    start: int  # first byte of the key
    value: int  # first byte after the key (after the length for wire type 2)
    end: int  # one past the last byte

    def bytes_of(self, data: memoryview) -> memoryview:
        return data[self.start : self.end]


class _Malformed(BadInputError):
    """Internal: why the bytes are not a protobuf message (turned into a DigestError with the source)."""


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _Malformed("a varint runs past the end of its message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Malformed("a varint is longer than 10 bytes")


def _fields(data: memoryview, start: int, end: int) -> Iterator[_Field]:
    """The fields of the message in ``data[start:end]``, in order; raises _Malformed."""
    pos = start
    while pos < end:
        field_start = pos
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0 or key >> 32:
            raise _Malformed(
                f"got field number {number} at byte {field_start}, expected 1 to 2^29-1"
            )
        if wire == _WIRE_VARINT:
            value = pos
            _, pos = _varint(data, pos, end)
        elif wire == _WIRE_FIXED64:
            value, pos = pos, pos + 8
        elif wire == _WIRE_BYTES:
            length, value = _varint(data, pos, end)
            pos = value + length
        elif wire == _WIRE_FIXED32:
            value, pos = pos, pos + 4
        else:
            raise _Malformed(
                f"got wire type {wire} at byte {field_start}, expected 0, 1, 2 or 5 (groups are refused)"
            )
        if pos > end:
            raise _Malformed(
                f"field {number} at byte {field_start} runs past the end of its message: truncated?"
            )
        yield _Field(number, wire, field_start, value, pos)


def _message_field(field: _Field, name: str) -> _Field:
    if field.wire != _WIRE_BYTES:
        raise _Malformed(f"{name} (field {field.number}) has wire type {field.wire}, expected 2")
    return field


def _check_tensor(data: memoryview, tensor: _Field, name: str) -> None:
    """Refuse a TensorProto whose data lives outside the file (data_location = EXTERNAL)."""
    for field in _fields(data, tensor.value, tensor.end):
        external = (
            field.number == _TENSOR_DATA_LOCATION
            and field.wire == _WIRE_VARINT
            and _varint(data, field.value, field.end)[0] == _DATA_LOCATION_EXTERNAL
        )
        if external:
            raise DigestError(f"{name} keeps its data in an external file")


def _check_initializer(data: memoryview, field: _Field) -> None:
    _message_field(field, "an initializer")
    if field.number == _GRAPH_INITIALIZER:
        _check_tensor(data, field, "an initializer")
        return
    for part in _fields(data, field.value, field.end):
        if part.number in (_SPARSE_VALUES, _SPARSE_INDICES):
            _check_tensor(
                data, _message_field(part, "a sparse tensor part"), "a sparse initializer"
            )


def _digests(data: memoryview) -> ModelDigests:
    weights, graph = hashlib.sha256(), hashlib.sha256()
    graphs = 0
    for field in _fields(data, 0, len(data)):
        if field.number == _MODEL_METADATA:
            continue
        if field.number != _MODEL_GRAPH:
            graph.update(field.bytes_of(data))
            continue
        graphs += 1
        _message_field(field, "the graph")
        for part in _fields(data, field.value, field.end):
            if part.number in (_GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER):
                _check_initializer(data, part)
                weights.update(part.bytes_of(data))
            else:
                graph.update(part.bytes_of(data))
    if graphs == 0:
        raise _Malformed("it has no graph (ModelProto field 7)")
    return ModelDigests(weights.hexdigest(), graph.hexdigest())


@dataclass(frozen=True)
class ModelOutline:
    """What the runtime reads of a model before ONNX Runtime does: the operator-set domains it imports
    (``""`` is ONNX's own) and the number of nodes of its graph."""

    domains: frozenset[str]
    nodes: int


def outline(data: bytes, *, source: str = "model") -> ModelOutline:
    """The opset domains and node count of an ONNX file's bytes, from the wire format (no onnx package);
    raises DigestError (one sentence starting with ``source``) for bytes that are not a ModelProto."""
    view = memoryview(data)
    domains, nodes, graphs = set(), 0, 0
    try:
        for field in _fields(view, 0, len(view)):
            if field.number == _MODEL_OPSET_IMPORT:
                domain = b""
                for part in _fields(view, _message_field(field, "an opset").value, field.end):
                    if part.number == _OPSET_DOMAIN and part.wire == _WIRE_BYTES:
                        domain = bytes(view[part.value : part.end])
                domains.add(domain.decode("utf-8", "replace"))
            elif field.number == _MODEL_GRAPH:
                graphs += 1
                graph = _message_field(field, "the graph")
                nodes += sum(p.number == _GRAPH_NODE for p in _fields(view, graph.value, graph.end))
        if graphs == 0:
            raise _Malformed("it has no graph (ModelProto field 7)")
    except _Malformed as error:
        raise _not_onnx(source, error) from None
    return ModelOutline(frozenset(domains), nodes)


@dataclass(frozen=True)
class GraphNode:
    """A node of a graph as the wire format has it: name, op type, input and output value names."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _text(view: memoryview, field: _Field) -> str:
    return bytes(view[field.value : field.end]).decode("utf-8", "replace")


def graph_nodes(data: bytes, *, source: str = "model") -> list[GraphNode]:
    """The nodes of an ONNX file's main graph, in order, from the wire format (no onnx package; what the
    profiler needs to give ONNX Runtime's renamed nodes their module scope back)."""
    view = memoryview(data)
    nodes = []
    try:
        for field in _fields(view, 0, len(view)):
            if field.number != _MODEL_GRAPH:
                continue
            graph = _message_field(field, "the graph")
            for part in _fields(view, graph.value, graph.end):
                if part.number != _GRAPH_NODE:
                    continue
                values: dict[int, list[str]] = {}
                for item in _fields(view, _message_field(part, "a node").value, part.end):
                    if item.wire == _WIRE_BYTES:
                        values.setdefault(item.number, []).append(_text(view, item))
                nodes.append(
                    GraphNode(
                        (values.get(_NODE_NAME) or [""])[0],
                        (values.get(_NODE_OP_TYPE) or [""])[0],
                        tuple(values.get(_NODE_INPUT, [])),
                        tuple(values.get(_NODE_OUTPUT, [])),
                    )
                )
    except _Malformed as error:
        raise _not_onnx(source, error) from None
    return nodes


def strip_digests(model):
    """Remove the digest entries from an ``onnx.ModelProto`` in memory (returns it): a graph loaded to be
    changed must not carry its source file's digests (the writer stamps the new ones)."""
    kept = [p for p in model.metadata_props if p.key not in (WEIGHTS_KEY, GRAPH_KEY)]
    if len(kept) != len(model.metadata_props):
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
    return model


def stamped_bytes(model) -> bytes:
    """The file every writer of an ONNX graph writes: ``model`` (an ``onnx.ModelProto``) serialised once,
    with its weights and graph digests stamped (:func:`stamp`), so every artifact can be verified."""
    return stamp(model.SerializeToString())


def _not_onnx(source: str, error: _Malformed) -> DigestError:
    return DigestError(f"{source}: not a valid ONNX file ({error})")


def digests(data: bytes, *, source: str = "model") -> ModelDigests:
    """Compute the weights and graph digests of an ONNX file's bytes.

    Raises DigestError (one sentence starting with ``source``) for bytes that are not a ModelProto or a
    model with external-data initializers.
    """
    try:
        return _digests(memoryview(data))
    except _Malformed as error:
        raise _not_onnx(source, error) from None
    except DigestError as error:
        raise DigestError(
            f"{source}: {error} (data_location = EXTERNAL), which the weights digest cannot cover; "
            "expected a single-file model"
        ) from None


def _entry(data: memoryview, field: _Field) -> tuple[bytes, bytes]:
    key = value = b""
    for part in _fields(data, field.value, field.end):
        if part.number in (_ENTRY_KEY, _ENTRY_VALUE) and part.wire == _WIRE_BYTES:
            text = bytes(data[part.value : part.end])
            key, value = (text, value) if part.number == _ENTRY_KEY else (key, text)
    return key, value


def _digest_entries(data: memoryview) -> Iterator[tuple[_Field, str, bytes]]:
    """(field, key, value) of every top-level metadata entry whose key is one of the digest keys."""
    names = {WEIGHTS_KEY.encode(): WEIGHTS_KEY, GRAPH_KEY.encode(): GRAPH_KEY}
    for field in _fields(data, 0, len(data)):
        if field.number == _MODEL_METADATA:
            key, value = _entry(data, _message_field(field, "a metadata entry"))
            if key in names:
                yield field, names[key], value


def recorded(data: bytes, *, source: str = "model") -> ModelDigests | None:
    """The digests recorded in the file's metadata, or None when it carries no digest entry.

    Raises DigestError when only one of the two is there, one is recorded twice, or a value is not 64
    lowercase hex characters.
    """
    found: dict[str, str] = {}
    try:
        for _, key, value in _digest_entries(memoryview(data)):
            text = value.decode("utf-8", errors="replace")
            if key in found:
                raise DigestError(f"{source}: records {key} twice, expected once")
            if not _HEX_DIGEST.fullmatch(text):
                raise DigestError(
                    f"{source}: {key}: got '{text[:20]}', expected 64 lowercase hex characters"
                )
            found[key] = text
    except _Malformed as error:
        raise _not_onnx(source, error) from None
    if not found:
        return None
    missing = [key for key in (WEIGHTS_KEY, GRAPH_KEY) if key not in found]
    if missing:
        raise DigestError(
            f"{source}: records {', '.join(found)} but not {missing[0]}, expected both digests"
        )
    return ModelDigests(found[WEIGHTS_KEY], found[GRAPH_KEY])


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint_bytes(number << 3 | _WIRE_BYTES) + _varint_bytes(len(payload)) + payload


def _metadata_entry(key: str, value: str) -> bytes:
    entry = _length_delimited(_ENTRY_KEY, key.encode()) + _length_delimited(
        _ENTRY_VALUE, value.encode()
    )
    return _length_delimited(_MODEL_METADATA, entry)


def stamp(data: bytes, *, source: str = "model") -> bytes:
    """The same file with fresh digest entries: old digest entries dropped, two new ones appended.

    Works on the wire format only: every other byte of the file is kept as it is (nothing is
    re-serialised). Raises DigestError like :func:`digests`.
    """
    view = memoryview(data)
    computed = digests(data, source=source)
    try:
        drop = [(field.start, field.end) for field, _, _ in _digest_entries(view)]
    except _Malformed as error:
        raise _not_onnx(source, error) from None
    out = bytearray()
    pos = 0
    for start, end in drop:
        out += view[pos:start]
        pos = end
    out += view[pos:]
    out += _metadata_entry(WEIGHTS_KEY, computed.weights)
    out += _metadata_entry(GRAPH_KEY, computed.graph)
    return bytes(out)


def _differs(what: str, got: str, expected: str) -> str:
    return f"{what}: got sha256 {got[:_PREFIX]}…, recorded {expected[:_PREFIX]}…"


def verify(data: bytes, *, source: str = "model") -> str | None:
    """None when the recorded digests match the file; otherwise one sentence starting with ``source``.

    The sentence names what differs (the weights, the graph or both, with the computed and recorded
    digest prefixes), or why nothing could be checked: no recorded digests, an unreadable record, bytes
    that are not an ONNX file, external-data initializers.
    """
    try:
        got = digests(data, source=source)
        expected = recorded(data, source=source)
    except DigestError as error:
        return str(error)
    if expected is None:
        return (
            f"{source}: has no recorded digests ({WEIGHTS_KEY}, {GRAPH_KEY}): re-export it with "
            "this version, or open it without verification"
        )
    weights_ok, graph_ok = got.weights == expected.weights, got.graph == expected.graph
    if weights_ok and graph_ok:
        return None
    if not weights_ok and not graph_ok:
        return (
            f"{source}: the weights and the graph do not match the digests recorded at export "
            f"({_differs('weights', got.weights, expected.weights)}; "
            f"{_differs('graph', got.graph, expected.graph)}): the file was corrupted or modified"
        )
    what, got_hex, expected_hex = (
        ("the weights do", got.weights, expected.weights)
        if not weights_ok
        else ("the graph does", got.graph, expected.graph)
    )
    return (
        f"{source}: {what} not match the digest recorded at export (got sha256 {got_hex[:_PREFIX]}…, "
        f"recorded {expected_hex[:_PREFIX]}…): the file was corrupted or modified"
    )
