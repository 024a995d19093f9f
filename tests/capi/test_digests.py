"""The C API's model digests (plugins/capi/src/model_digest.cpp, its own SHA-256) equal Python's
(comix/model_digest.py over hashlib) on hand-built models, on every hashed length mod 64, on exported
graphs and on corrupted files — digests, recorded values, and the verification sentence."""

from __future__ import annotations

import numpy as np
import pytest
from capi_helpers import run
from digest_models import attribute_payload_offset, flip, initializer_payload_offset, small_model

from comix.model_digest import DigestError, digests, recorded, stamp, verify

C_HINT = "re-export it with this version, or skip the check"  # comix_verify_file's advice
PY_HINT = "re-export it with this version, or open it without verification"


def c_digests(tool, paths) -> dict[str, dict]:
    """{path: {"status", "computed", "recorded", "message", "verify_status", "verify_message"}} from C."""
    result = run([tool, *paths])
    assert result.returncode == 0, result.stderr
    found: dict[str, dict] = {}
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        entry = found.setdefault(parts[0], {})
        if parts[1] == "verify":
            entry["verify_status"], entry["verify_message"] = int(parts[2]), parts[3]
        elif parts[1] == "0":
            entry.update(status=0, computed=(parts[2], parts[3]), recorded=(parts[4], parts[5]))
        else:
            entry.update(status=int(parts[1]), message=parts[2])
    return found


def assert_same(tool, files: dict[str, bytes], tmp_path):
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    from_c = c_digests(tool, paths)
    for path in paths:
        data = path.read_bytes()
        got = from_c[str(path)]
        try:  # comix_model_digests reports the recorded digests too, so it fails when either fails
            expected, stored = digests(data, source=path.name), recorded(data, source=path.name)
        except DigestError as error:
            assert got["status"] == 2 and got["message"] == str(error), path.name
        else:
            assert got["status"] == 0 and got["computed"] == (expected.weights, expected.graph), (
                path.name
            )
            assert got["recorded"] == ((stored.weights, stored.graph) if stored else ("", "")), (
                path.name
            )
        py_message = verify(data, source=path.name)
        if py_message is None:
            assert got["verify_status"] == 0, got
        else:
            assert got["verify_status"] == 2
            assert got["verify_message"] == py_message.replace(PY_HINT, C_HINT), path.name


def _field(number: int, payload: bytes) -> bytes:
    length, out = len(payload), bytearray()
    while True:
        out.append((length & 0x7F) | (0x80 if length > 0x7F else 0))
        length >>= 7
        if not length:
            break
    return bytes([number << 3 | 2]) + bytes(out) + payload


def test_hand_built_models(clients, tmp_path):
    plain = small_model()
    stamped = stamp(small_model(metadata={"comix.model_name": "small"}))
    files = {
        "plain.onnx": plain,
        "stamped.onnx": stamped,
        "weight-flipped.onnx": flip(stamped, initializer_payload_offset(stamped)),
        "attribute-flipped.onnx": flip(stamped, attribute_payload_offset(stamped)),
        "both-flipped.onnx": flip(
            flip(stamped, initializer_payload_offset(stamped)), attribute_payload_offset(stamped)
        ),
        "truncated.onnx": stamped[: len(stamped) // 3],
        "empty.onnx": b"",
        "group.onnx": bytes([0x0B, 0x00]),
        "one-digest.onnx": small_model(metadata={"comix.weights_sha256": "a" * 64}),
        "bad-hex.onnx": small_model(
            metadata={"comix.weights_sha256": "xyz", "comix.graph_sha256": "a" * 64}
        ),
    }
    assert_same(clients["digest_tool"], files, tmp_path)


def test_every_length_mod_64_and_a_large_weight(clients, tmp_path):
    """A graph with one field of k random bytes hashes k + 2 or k + 3 bytes: k = 0..300 crosses every
    SHA-256 padding case; a 5 MB initializer crosses many blocks in one update."""
    rng = np.random.default_rng(0)
    files = {}
    for k in range(0, 301, 1):
        payload = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        files[f"len{k}.onnx"] = _field(7, _field(1, payload)) + _field(8, b"")
    big = rng.integers(0, 256, 5_000_011, dtype=np.uint8).tobytes()
    files["big.onnx"] = _field(7, _field(5, _field(9, big)) + _field(1, b"node"))
    assert_same(clients["digest_tool"], files, tmp_path)


def test_exported_tiny_graphs(clients, tiny, tmp_path):
    files = {name: path.read_bytes() for name, path in tiny.items()}
    files["portable.stamped.onnx"] = stamp(files["portable"])
    assert_same(clients["digest_tool"], {f"{k}.onnx": v for k, v in files.items()}, tmp_path)


@pytest.mark.slow
def test_exported_comix_t_graphs(clients, comix_t, tmp_path):
    files = {f"{kind}.onnx": path.read_bytes() for kind, path in comix_t.items()}
    files["canonical-flipped.onnx"] = flip(
        files["canonical.onnx"], len(files["canonical.onnx"]) // 2
    )
    assert_same(clients["digest_tool"], files, tmp_path)
