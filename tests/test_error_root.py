"""One error root: every error class of the package is bad input (exit 2) or a failure (exit 1), never both,
never neither; the command line reports either as one line."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comix.errors import BadInputError, ComixError, FailedError

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "comix": "comix",
    "export": "comix.export",
    "plugins": "comix.plugins",
    "calibration": "comix.calibration",
}
ROOTS = {"ComixError", "BadInputError", "FailedError"}


def _sources() -> list[tuple[Path, str]]:
    """(file, installed module name) of every module of the package (built copies left out)."""
    found = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT / folder).with_suffix("")
            if "build" in relative.parts or (folder == "plugins" and relative.parts[0] == "torch"):
                continue
            found.append(
                (path, ".".join([package, *[p for p in relative.parts if p != "__init__"]]))
            )
    return found


def _declared_exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class whose bases say it is an exception, read from the source."""
    found = []
    for path, module in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef) or not node.bases:
                continue
            bases = [ast.unparse(b) for b in node.bases]
            if any(
                b.endswith(
                    (
                        "Error",
                        "Exception",
                        "Failed",
                        "Missing",
                        "Mismatch",
                        "Locked",
                        "Corrupt",
                        "Unavailable",
                        "BadInput",
                    )
                )
                or b in ROOTS
                for b in bases
            ):
                found.append((module, node.name))
    return found


def test_every_error_class_is_in_exactly_one_branch():
    classes = _declared_exception_classes()
    assert len(classes) >= 30, classes
    wrong = []
    for module, name in classes:
        if name in ROOTS:
            continue
        try:
            cls = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as error:  # an optional third-party package of that module only
            assert error.name.split(".")[0] not in ("comix",), error
            continue
        branches = [issubclass(cls, BadInputError), issubclass(cls, FailedError)]
        if sum(branches) != 1:
            wrong.append(f"{module}.{name}: bad input {branches[0]}, failure {branches[1]}")
    assert not wrong, "\n".join(wrong)


def test_the_branches_are_value_and_runtime_errors_with_their_exit_codes():
    assert issubclass(BadInputError, ValueError) and BadInputError.exit_code == 2
    assert issubclass(FailedError, RuntimeError) and FailedError.exit_code == 1
    assert issubclass(BadInputError, ComixError) and issubclass(FailedError, ComixError)


def test_the_command_line_has_one_except(tmp_path):
    """The per-command translation blocks are gone: only comix/cli/errors.py catches project errors."""
    offenders = []
    for path in sorted((ROOT / "comix" / "cli").glob("*.py")) + [ROOT / "comix/ship/cli.py"]:
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = ast.unparse(node.type)
                if any(word in caught for word in ("Error", "Failed", "Missing", "Mismatch")):
                    body = ast.unparse(node)
                    if "raise CommandFailed" in body or "fail(" in body:
                        offenders.append(f"{path.name}: except {caught}")
    assert not offenders, offenders


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from comix.model import build_model, save_checkpoint

    model = build_model(
        "comix_t",
        bands=4,
        x_channels=1,
        classes=3,
        widths=(8, 16, 16, 16),
        decoder_dim=16,
        spectral_depth=4,
    )
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "run", variant="comix_t")


def test_a_failed_export_parity_check_is_one_line_with_exit_1(tiny_checkpoint, tmp_path):
    from comix.cli.app import app
    from comix.runtime.session import find_custom_op_library

    if find_custom_op_library() is None:  # the canonical static export is the quick one (~15 s)
        pytest.skip("our ONNX Runtime op library is not built (comix plugins build)")
    output = tmp_path / "model.onnx"
    result = CliRunner().invoke(
        app,
        [
            "export",
            str(tiny_checkpoint),
            "-o",
            str(output),
            "--static",
            "--tile",
            "32",
            "--atol",
            "1e-12",
        ],
    )
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and "parity failed" in lines[0] and "Traceback" not in result.output
    assert "nothing was written" in lines[0] and not output.exists()
