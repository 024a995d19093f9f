"""The C API from C: a client written only against comix_infer.h matches the Python ONNX Runtime path;
bad paths, shapes, models and NULL arguments give COMIX_BAD_INPUT and one sentence; the version function.
"""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from capi_helpers import (
    BANDS,
    CLASSES,
    X_CHANNELS,
    inputs,
    python_logits,
    run,
    run_tile,
)
from digest_models import flip, initializer_payload_offset

from comix.model_digest import digests

OK, FAILED, BAD_INPUT = 0, 1, 2
ATOL = 1e-5  # the parity target; the same kernels give bit-identical logits in practice


@pytest.mark.parametrize("kind", ["canonical", "portable"])
@pytest.mark.parametrize(("batch", "height", "width"), [(1, 16, 16), (2, 23, 29), (1, 7, 40)])
def test_client_logits_match_the_python_path(clients, tiny, tmp_path, kind, batch, height, width):
    hsi, x = inputs(batch, BANDS, X_CHANNELS, height, width, seed=height)
    logits, values, result = run_tile(clients["run_tile"], tiny[kind], hsi, x, tmp_path)
    assert logits is not None, result.stderr
    expected = python_logits(tiny[kind], hsi, x)
    assert logits.shape == expected.shape == (batch, CLASSES, height, width)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=ATOL)
    assert values["bands"] == str(BANDS) and values["x_channels"] == str(X_CHANNELS)
    assert values["classes"] == str(CLASSES) and values["tile"] == "0x0"
    assert values["task"] == "segmentation" and values["name"] == "tiny"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["canonical", "portable"])
def test_client_logits_match_the_python_path_on_comix_t(clients, comix_t, tmp_path, kind):
    hsi, x = inputs(1, 144, 1, 128, 128, seed=7)
    logits, values, result = run_tile(
        clients["run_tile"], comix_t[kind], hsi, x, tmp_path, verify=1
    )
    assert logits is not None, result.stderr
    expected = python_logits(comix_t[kind], hsi, x)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=ATOL)
    assert values["name"] == "comix_t" and values["classes"] == "15"


def test_threads_do_not_change_the_logits(clients, tiny, tmp_path):
    hsi, x = inputs(2, BANDS, X_CHANNELS, 33, 31)
    one, _, _ = run_tile(clients["run_tile"], tiny["canonical"], hsi, x, tmp_path / "1", threads=1)
    two, _, _ = run_tile(clients["run_tile"], tiny["canonical"], hsi, x, tmp_path / "2", threads=2)
    np.testing.assert_allclose(one, two, rtol=0, atol=ATOL)


@pytest.fixture(scope="module")
def cases(clients, tiny, tmp_path_factory) -> dict[str, tuple[int, str]]:
    folder = tmp_path_factory.mktemp("cases")
    good = tiny["canonical"].read_bytes()
    (folder / "truncated.onnx").write_bytes(good[: len(good) // 2])
    (folder / "garbage.onnx").write_text("this is not a model\n")
    stamped = tiny["stamped"].read_bytes()
    (folder / "corrupt.onnx").write_bytes(
        flip(stamped, initializer_payload_offset(stamped, _an_initializer(stamped)))
    )
    result = run(
        [
            clients["api_cases"],
            tiny["canonical"],
            tiny["static"],
            tiny["stamped"],
            folder / "truncated.onnx",
            folder / "garbage.onnx",
            folder / "corrupt.onnx",
            folder,
        ]
    )
    assert result.returncode == 0, (
        f"api_cases crashed or failed: rc {result.returncode}\n{result.stderr}"
    )
    lines = [line.split("\t", 2) for line in result.stdout.splitlines()]
    found = {name: (int(status), message) for name, status, message in lines}
    assert "done" in found, result.stdout
    return found


def _an_initializer(data: bytes) -> str:
    import onnx

    model = onnx.load_from_string(data)
    return max(model.graph.initializer, key=lambda t: len(t.raw_data)).name


def test_version_functions(cases):
    abi, header_abi = cases["abi"][0], int(cases["abi"][1])
    assert abi == header_abi == 1
    version = cases["version"][1]
    assert version.startswith("comix_infer 0.1.0 (abi 1, onnxruntime ")
    assert f"onnxruntime {onnxruntime.__version__}" in version
    assert cases["initial_error"] == (0, "")


@pytest.mark.parametrize(
    ("case", "words"),
    [
        (
            "open_null_path",
            "comix_open: got NULL path, expected the path of an .onnx or .engine file",
        ),
        (
            "open_null_out",
            "comix_open: got NULL model, expected a comix_model* to receive the handle",
        ),
        (
            "open_missing",
            "model file /nonexistent/model.onnx: got no such file, expected an existing file",
        ),
        ("open_folder", "got a folder or a special file, expected a regular file"),
        ("open_truncated", "not a valid ONNX file ("),
        ("open_garbage", "garbage.onnx: not a valid ONNX file ("),
        ("open_bad_threads", "options.threads: got -1, expected 0 to 1024 (0 = 1)"),
        ("open_bad_verify", "options.verify: got 2, expected 0 or 1"),
        ("open_bad_device", 'options.device: got \'gpu0\', expected NULL, "cpu" or "cuda:N"'),
        ("open_cuda_for_onnx", "got device cuda:0 for an .onnx model, expected cpu"),
        (
            "open_engine",
            "got a TensorRT engine, expected an .onnx model: this library was built without TensorRT",
        ),
        (
            "open_verify_unstamped",
            "tiny.onnx: has no recorded digests (comix.weights_sha256, comix.graph_sha256): re-export it "
            "with this version or open it with verify = 0",
        ),
        (
            "open_verify_corrupt",
            "corrupt.onnx: the weights do not match the digest recorded at export (got sha256 ",
        ),
        ("info_null_model", "comix_get_info: got NULL model"),
        ("info_null_info", "comix_get_info: got NULL info"),
        ("run_null_model", "comix_run: got NULL model"),
        ("run_null_hsi", "comix_run: got NULL hsi"),
        ("run_null_x", "comix_run: got NULL x"),
        ("run_null_logits", "comix_run: got NULL logits"),
        ("run_batch_0", "comix_run: got batch 0, 5x7, expected batch, height and width >= 1"),
        ("run_height_0", "comix_run: got batch 1, 0x7, expected batch, height and width >= 1"),
        ("run_negative_width", "comix_run: got batch 1, 5x-3, expected"),
        ("run_huge", "expected arrays of at most 2^40 floats"),
        (
            "check_input_bands",
            "comix_check_input: got 5 HSI bands, expected 6 (the model's HSI input)",
        ),
        ("check_input_x", "comix_check_input: got 2 X channels, expected 1 (the model's X input)"),
        ("check_input_null", "comix_check_input: got NULL model"),
        ("class_name_out_of_range", "comix_get_class_name: got index 4, expected 0 to 3"),
        (
            "class_name_small_buffer",
            "comix_get_class_name: got a buffer of 3 bytes, expected at least 6",
        ),
        ("class_name_null_buffer", "comix_get_class_name: got NULL buffer"),
        (
            "metadata_missing",
            "comix_get_metadata: got key 'comix.nothing', expected one of the model's",
        ),
        ("metadata_null_key", "comix_get_metadata: got NULL key"),
        ("digests_null_path", "comix_model_digests: got NULL path"),
        ("digests_null_out", "comix_model_digests: got NULL computed"),
        ("digests_truncated", "not a valid ONNX file ("),
        ("verify_file_unstamped", "has no recorded digests"),
        ("verify_file_null", "comix_verify_file: got NULL path"),
        (
            "fixed_run_wrong_tile",
            "comix_run: got a 17x16 tile, expected 16x16 (the model's fixed tile)",
        ),
        ("fixed_run_wrong_batch", "comix_run: got batch 2, expected 1 (the model's fixed batch)"),
    ],
)
def test_bad_input_is_one_sentence(cases, case, words):
    status, message = cases[case]
    assert status == BAD_INPUT, (
        f"{case}: got status {status} ({message!r}), expected COMIX_BAD_INPUT"
    )
    assert words in message
    assert "\n" not in message and message.count(": ") <= 6


@pytest.mark.parametrize(
    "case",
    [
        "open_verify_stamped",
        "open_unverified_corrupt",
        "info",
        "run_ok",
        "check_input_ok",
        "class_name_0",
    ]
    + ["metadata_name", "verify_file_stamped", "fixed_info", "fixed_run_ok"],
)
def test_good_calls_succeed(cases, case):
    assert cases[case][0] == OK, cases[case]


def test_info_and_record_values(cases):
    assert cases["info_values"][1] == "6 1 4 0 0 segmentation tiny"
    assert cases["fixed_info_values"][1] == "16 16"
    assert cases["class_name_0_value"][1] == "water"
    assert cases["metadata_name_value"][1] == "tiny"
    assert cases["open_null_path_handle"][1] == "null"


def test_the_watchdog_is_called_after_every_tile(cases):
    calls, last, batch = (int(v) for v in cases["watchdog_calls"][1].split())
    # run_ok (batch B) before the hook, then B + 1 tiles with it, then B without: B+1 calls, count at 2B+1
    assert calls == batch + 1 and last == 2 * batch + 1
    assert cases["watchdog_set"][0] == OK
    assert cases["watchdog_null_model"][0] == BAD_INPUT


def test_the_last_error_is_per_thread(cases):
    assert cases["thread_local"][1] == "kept"


def test_a_corrupt_model_message_quotes_both_digests(cases, tiny):
    message = cases["open_verify_corrupt"][1]
    recorded = digests(tiny["stamped"].read_bytes()).weights
    assert f"recorded {recorded[:8]}…): the file was corrupted or modified" in message
