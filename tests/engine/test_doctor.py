"""``comix doctor`` on this machine: every area reported, no crash, the CPU path named where there is no GPU;
our plugin libraries found and loaded where they exist."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from comix.cli.app import app
from comix.doctor import CPU_PATH, diagnose, elf_machine
from comix.runtime import find_custom_op_library


def test_every_area_is_reported_with_what_to_do():
    rows = diagnose()
    areas = [r.area for r in rows]
    for area in (
        "platform",
        "cuda-python",
        "pycuda",
        "nvcc",
        "PyTorch",
        "ONNX Runtime",
        "ORT op library",
        "TensorRT plugin library",
    ):
        assert any(a.startswith(area) for a in areas), f"no {area} row in {areas}"
    assert any(a.startswith("TensorRT") and "plugin" not in a for a in areas)
    assert all(r.status in ("ok", "missing", "problem", "info") for r in rows)
    assert all(r.action for r in rows if r.status in ("missing", "problem")), (
        "every gap says what to do"
    )
    gpu_rows = [r for r in rows if r.area.startswith("GPU")]
    if all(r.status != "ok" for r in gpu_rows):
        assert rows[-1].area == "next step" and rows[-1].action == CPU_PATH


def test_the_ort_library_is_found_loaded_and_its_architecture_named():
    library = find_custom_op_library()
    rows = {r.area: r for r in diagnose()}
    if library is None:
        assert rows["ORT op library"].status == "missing"
        return
    assert rows["ORT op library"].status == "ok", rows["ORT op library"]
    assert (
        elf_machine(library) in ("x86_64", "aarch64")
        and elf_machine(library) in rows["ORT op library"].found
    )


def test_doctor_command_writes_json(tmp_path):
    result = CliRunner().invoke(
        app, ["doctor", "--json", str(tmp_path / "d.json")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "d.json").read_text())
    assert {c["area"] for c in document["checks"]} >= {"platform", "ONNX Runtime"}
    assert "comix doctor" in result.output
