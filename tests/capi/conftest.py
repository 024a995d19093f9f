"""Fixtures of the C API tests: the library, compiled C clients, exported models (made once per session).

Everything here skips, with the reason, where the C API was not built (`comix plugins build` builds it
when the onnxruntime wheel is installed) or no C compiler exists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the hand-built models and corruption helpers of the digest tests (tests/integrity/digest_models.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrity"))

from capi_helpers import EXAMPLES, HERE, compile_c, export_tiny, library_or_reason

from comix.model_digest import stamp

LIBRARY, SKIP_REASON = library_or_reason()


@pytest.fixture(scope="session")
def library() -> Path:
    if LIBRARY is None:
        pytest.skip(SKIP_REASON)
    return LIBRARY


@pytest.fixture(scope="session")
def clients(library, tmp_path_factory) -> dict[str, Path]:
    """The example client (run_tile), the API case runner, the digest tool, the allocation counter, the line
    streaming client and its case runner."""
    folder = tmp_path_factory.mktemp("clients")
    return {
        "run_tile": compile_c(EXAMPLES / "run_tile.c", folder / "run_tile", library),
        "api_cases": compile_c(HERE / "api_cases.c", folder / "api_cases", library, ("-lpthread",)),
        "digest_tool": compile_c(HERE / "digest_tool.c", folder / "digest_tool", library),
        "alloc_count": compile_c(
            HERE / "alloc_count.c", folder / "alloc_count", library, ("-lm",), iso=False
        ),
        "stream_client": compile_c(HERE / "stream_client.c", folder / "stream_client", library),
        "stream_cases": compile_c(
            HERE / "stream_cases.c", folder / "stream_cases", library, ("-lm",)
        ),
    }


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """TinyHsiXNet exports: canonical and portable (dynamic), a static 16x16 one, and a stamped copy."""
    folder = tmp_path_factory.mktemp("tiny")
    models = {
        "canonical": export_tiny(folder / "tiny.onnx", portable=False),
        "portable": export_tiny(folder / "tiny.portable.onnx", portable=True),
        "static": export_tiny(folder / "tiny.static.onnx", portable=False, dynamic=False, tile=16),
    }
    stamped = folder / "tiny.stamped.onnx"
    stamped.write_bytes(stamp(models["canonical"].read_bytes()))
    models["stamped"] = stamped
    return models


@pytest.fixture(scope="session")
def comix_t(tmp_path_factory) -> dict[str, Path]:
    """An untrained comix_t (144 bands + 1 X channel, 15 classes) exported canonical and portable with
    `comix export`'s own code (no parity check: untrained logits are near ties), stamped."""
    import torch

    from comix.export.checkpoint import ExportOptions, export_checkpoint
    from comix.model import build_model, save_checkpoint

    folder = tmp_path_factory.mktemp("comix_t")
    torch.manual_seed(0)
    model = build_model("comix_t", bands=144, x_channels=1, classes=15)
    save_checkpoint(
        model, folder / "ckpt", variant="comix_t", class_names=[f"c{i}" for i in range(15)]
    )
    found = {}
    for kind, portable in (("canonical", False), ("portable", True)):
        path = folder / f"comix_t.{kind}.onnx"
        export_checkpoint(
            folder / "ckpt", path, ExportOptions(portable=portable, validate=False, tile=(32, 32))
        )
        path.write_bytes(stamp(path.read_bytes()))
        found[kind] = path
    return found
