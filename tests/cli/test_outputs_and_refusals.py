"""What the bad-input sweep cannot see from one row: the mode of written products, a real read-only mount,
the real ``comix`` process (its usage errors and warnings), the warning for a scene without data, and the
shared output-is-an-input check on its own."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sweep_inputs import make_inputs
from typer.testing import CliRunner

from comix.atomic import named_for_user, refuse_overwriting_inputs, temp_beside, write_text_atomic
from comix.cli.app import app
from comix.errors import BadInputError

COMIX = [str(Path(sys.executable).with_name("comix"))]  # the installed entry point, as users run it
needs_entry_point = pytest.mark.skipif(
    not Path(COMIX[0]).is_file(), reason=f"the comix entry point is not installed at {COMIX[0]}"
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture()
def umask_027():
    """A umask other than the usual 022, so a mode that merely happens to be 0644 cannot pass."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _infer(inputs: Path, output: Path, *extra: str, scene: str = "scene"):
    return CliRunner().invoke(
        app,
        [
            "infer",
            str(inputs / "model.onnx"),
            "--hsi",
            str(inputs / scene / "hsi.tif"),
            "--x",
            str(inputs / scene / "x.tif"),
            "-o",
            str(output),
            "--quiet",
            *extra,
        ],
    )


def test_infer_products_have_the_usual_mode_under_the_umask(inputs, tmp_path, umask_027):
    result = _infer(inputs, tmp_path / "seg.tif", "--probabilities")
    assert result.exit_code == 0, result.output
    written = sorted(p for p in tmp_path.iterdir())
    assert {p.name for p in written} == {
        "seg.tif",
        "seg.npy",
        "seg.png",
        "seg.json",
        "seg.probabilities.tif",
    }
    assert {p.name: oct(_mode(p)) for p in written} == {p.name: oct(0o640) for p in written}


def test_atomic_writes_have_the_usual_mode(tmp_path, umask_027):
    path = write_text_atomic(tmp_path / "report.json", "{}")
    assert _mode(path) == 0o640
    temp = temp_beside(tmp_path / "next.tif")
    assert temp.name.startswith(".next.") and temp.suffix == ".tif" and _mode(temp) == 0o640


def test_triton_repository_folders_and_libraries_are_readable_by_the_server(
    inputs, tmp_path, umask_027
):
    import onnx

    graph = onnx.load(str(inputs / "foreign.onnx"))
    for node in graph.graph.node:
        if node.domain == "com.example":  # a node of our domain: the op library goes with the model
            node.domain, node.op_type = "ai.comix", "DeformConv3D"
    onnx.save(graph, str(tmp_path / "canonical.onnx"))
    repository = tmp_path / "repo"
    repository.mkdir()
    library = tmp_path / "libcomix_ort_dcn.so"
    library.write_bytes(b"\x7fELF, not really")
    library.chmod(0o755)
    result = CliRunner().invoke(
        app,
        [
            "export-triton",
            str(repository),
            "--onnx",
            str(tmp_path / "canonical.onnx"),
            "--ort-library",
            str(library),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = repository / "comix_onnx"
    assert _mode(folder) == 0o750 and _mode(folder / "1") == 0o750
    assert _mode(folder / "config.pbtxt") == 0o640 and _mode(folder / "1" / "model.onnx") == 0o640
    assert _mode(repository / "plugins" / library.name) == 0o640
    assert _mode(repository / "comix_repository.json") == 0o640


def test_a_temporary_file_that_cannot_be_made_is_reported_under_the_final_name(
    tmp_path, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / ".a.x1y2z3w4.tif"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as caught:
        temp_beside(tmp_path / "a.tif")
    assert caught.value.filename == str(tmp_path / "a.tif") and caught.value.errno == errno.EROFS


def test_a_failed_write_names_the_product_not_its_temporary_file(tmp_path):
    temp, final = tmp_path / ".seg.abcd1234.tif", tmp_path / "seg.tif"
    by_field = named_for_user(
        OSError(errno.ENOSPC, "No space left on device", str(temp)), {temp: final}
    )
    assert by_field.filename == str(final) and by_field.errno == errno.ENOSPC
    in_text = named_for_user(OSError(f"{temp}: write error"), {temp: final})
    assert str(in_text) == f"{final}: write error"
    other = ValueError("not an OSError")
    assert named_for_user(other, {temp: final}) is other


def test_an_output_is_refused_when_it_or_a_sidecar_is_an_input(tmp_path):
    cube = tmp_path / "hsi.npy"
    cube.write_bytes(b"cube")
    link = tmp_path / "link.npy"
    link.symlink_to(cube)
    with pytest.raises(
        BadInputError, match=r"-o .*hsi\.tif: writes .*hsi\.npy, which is the input"
    ):
        refuse_overwriting_inputs([tmp_path / "hsi.tif", cube], [cube], given=tmp_path / "hsi.tif")
    with pytest.raises(BadInputError, match="got the input"):
        refuse_overwriting_inputs([link], [cube])  # the same file under another name
    with pytest.raises(BadInputError):
        refuse_overwriting_inputs([tmp_path / "sub" / ".." / "new.tif"], [tmp_path / "new.tif"])
    refuse_overwriting_inputs([tmp_path / "seg.tif", tmp_path / "seg.npy"], [cube, None])


def test_a_scene_without_data_is_segmented_with_a_one_line_warning(inputs, tmp_path):
    result = _infer(inputs, tmp_path / "seg.tif", scene="nan_scene")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "100 % nodata" in warnings[0], result.stderr
    assert (tmp_path / "seg.tif").is_file()
    quiet = _infer(inputs, tmp_path / "ok.tif")
    assert quiet.exit_code == 0 and "warning:" not in quiet.output


def _run(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMIX, *arguments], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@needs_entry_point
def test_the_real_command_line_reports_usage_errors_and_all_nan_scenes_in_one_line(
    inputs, tmp_path
):
    usage = _run(["train", str(inputs / "scene" / "dataset.yaml"), "--tile", "4"], tmp_path)
    assert usage.returncode == 2 and usage.stdout == ""
    assert usage.stderr.splitlines() == [
        "error: comix train: Invalid value for '--tile': Input should be greater than or equal to 8 "
        "(got 4); see `comix train --help`"
    ]
    nan = _run(
        ["train", str(inputs / "nan_scene" / "dataset.yaml"), "-o", "run", "--steps", "1"],
        tmp_path,
    )
    assert nan.returncode == 2, nan.stderr
    assert [line for line in nan.stderr.splitlines() if line.strip()] == [
        line for line in nan.stderr.splitlines() if line.startswith("error:")
    ] and len(nan.stderr.splitlines()) == 1, nan.stderr
    assert "RuntimeWarning" not in nan.stdout + nan.stderr and not (tmp_path / "run").exists()


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


def _read_only_runs(inputs: Path, mount: Path) -> dict[str, list[str]]:
    """Commands that write under ``mount`` (a read-only tmpfs), by name, and what each prints on stderr
    (nothing else may appear there: the first line is the only one)."""
    scene = ["--hsi", str(inputs / "scene" / "hsi.tif"), "--x", str(inputs / "scene" / "x.tif")]
    model = str(inputs / "model.onnx")
    return {
        "infer": ["infer", model, *scene, "-o", f"{mount}/seg.tif", "--quiet"],
        "infer --scenes": ["infer", model, "--scenes", str(inputs / "scene"), "-o", f"{mount}/OUT"],
        "compare": ["compare", model, model, *scene, "-o", f"{mount}/c.json"],
        "make-scene": ["data", "make-scene", f"{mount}/scene", "--height", "16", "--width", "16"],
        "train": ["train", str(inputs / "scene" / "dataset.yaml"), "-o", f"{mount}/run"],
        "export-triton": ["export-triton", str(mount), "--onnx", model],
        "plugins build": ["plugins", "build", f"{mount}/build"],
    }


@pytest.mark.slow
@needs_entry_point
@pytest.mark.skipif(
    not _unshare_works(),
    reason="needs `unshare -rm` (user and mount namespaces) to mount a read-only tmpfs",
)
def test_a_real_read_only_filesystem_is_reported_in_one_line_before_any_work(inputs, tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    runs = _read_only_runs(inputs, mount)
    script = [f"mount -t tmpfs -o ro tmpfs {shlex.quote(str(mount))} || exit 9"]
    for name, arguments in runs.items():
        command = " ".join(shlex.quote(word) for word in [*COMIX, *arguments])
        script.append(f"echo '=== {name}' >&2; {command} > /dev/null; echo \"=== exit $?\" >&2")
    script.append(f"ls -A {shlex.quote(str(mount))}")
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # `ls -A` of the mount: nothing half-written
    blocks = result.stderr.split("=== ")[1:]
    reported = {}
    for header, exit_line in zip(blocks[::2], blocks[1::2]):
        name, *lines = header.strip().splitlines()
        reported[name] = (exit_line.split()[1], lines)
    expected = {
        "infer": f"{mount}/seg.tif",
        "infer --scenes": f"{mount}/OUT",
        "compare": f"{mount}/c.json",
        "make-scene": f"{mount}/scene",
        "train": f"{mount}/run",
        "export-triton": str(mount),
        "plugins build": f"{mount}/build",
    }
    assert reported == {
        name: ("2", [f"error: {path}: Read-only file system"]) for name, path in expected.items()
    }
