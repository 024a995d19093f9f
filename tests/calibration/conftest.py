"""Session fixtures: the small scene on disk and the tiny trained network's canonical and portable graphs."""

from __future__ import annotations

import pytest
import torch
from calibration_helpers import export, make_scene, train_tiny, write_dataset

from comix.runtime import find_custom_op_library


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="session")
def trained_net():
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_tiny(make_scene())
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def portable_model(trained_net, tmp_path_factory):
    return export(
        trained_net, tmp_path_factory.mktemp("models") / "tiny_portable.onnx", portable=True
    )


@pytest.fixture(scope="session")
def canonical_model(trained_net, tmp_path_factory):
    if find_custom_op_library() is None:
        pytest.skip(
            "the canonical graph needs the ONNX Runtime custom-op library (python plugins/build.py)"
        )
    return export(
        trained_net, tmp_path_factory.mktemp("models") / "tiny_canonical.onnx", portable=False
    )


@pytest.fixture(params=["canonical", "portable"])
def model(request):
    return request.getfixturevalue(f"{request.param}_model")
