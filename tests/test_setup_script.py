"""scripts/system_packages.sh on machines it must not break: Eigen missing, apt failing, nothing missing.

The script runs with a PATH of stubs only: tools that "exist" are empty executables, ``id`` says root,
and ``apt-get`` logs its arguments (and fails for the packages told to fail). So the test proves what
the script asks apt for on a machine like CI's (every tool present, only Eigen missing), without
touching this machine's packages.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system_packages.sh"
BASH = shutil.which("bash")
TOOLS = ("cmake", "g++", "make", "npm", "tar")


def _stub(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def _run(
    tmp_path: Path,
    present=TOOLS,
    eigen: bool = False,
    failing: tuple[str, ...] = (),
    root: bool = True,
    args: tuple[str, ...] = (),
):
    """Run the script with stubs; returns (completed process, apt-get calls as lists of arguments)."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "apt.log"
    for tool in present:
        _stub(stubs, tool)
    _stub(stubs, "id", f"echo {0 if root else 1000}")
    failing_cases = "|".join(failing) or "__none__"
    _stub(
        stubs,
        "apt-get",
        f'echo "$@" >> {log}\ncase "$*" in *install*) case "$*" in *{failing_cases}*) exit 100;; '
        "esac;; esac\nexit 0",
    )
    header = tmp_path / "eigen3" / "Eigen" / "Core"
    if eigen:
        header.parent.mkdir(parents=True)
        header.write_text("")
    env = {"PATH": str(stubs), "COMIX_EIGEN_HEADERS": str(header)}
    done = subprocess.run(
        [BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )
    calls = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


def _installed(calls) -> list[str]:
    return [call[-1] for call in calls if "install" in call]


def _still_missing(done) -> str:
    return [line for line in done.stdout.splitlines() if line.startswith("missing:")][-1][
        len("missing:") :
    ].strip()


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_ci_like_machine_only_eigen_missing_installs_only_eigen(tmp_path):
    done, calls = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert _installed(calls) == ["libeigen3-dev"], (
        calls
    )  # never npm: Debian's npm conflicts with node's own
    assert "installed libeigen3-dev" in done.stdout


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_one_package_failing_does_not_stop_the_others_or_the_setup(tmp_path):
    done, calls = _run(tmp_path, present=("g++", "make", "tar"), failing=("npm",))
    assert done.returncode == 0
    assert _installed(calls) == ["cmake", "npm", "libeigen3-dev"]  # one apt-get call per package
    assert "could not install npm" in done.stderr


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_nothing_missing_runs_no_apt_at_all(tmp_path):
    done, calls = _run(tmp_path, eigen=True)
    assert done.returncode == 0 and calls == []
    assert _still_missing(done) == ""


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_not_root_prints_the_command_and_goes_on(tmp_path):
    done, calls = _run(tmp_path, root=False)
    assert done.returncode == 0 and calls == []
    assert "sudo apt-get install -y libeigen3-dev" in done.stderr
    assert _still_missing(done) == "eigen3"


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_cross_tools_are_their_own_set_installed_only_where_missing(tmp_path):
    """``--cross-aarch64`` (setup's last step, scripts/cross-aarch64.sh): the cross compilers and qemu-user,
    never the native set's packages; qemu-aarch64 (not -static) counts as qemu."""
    done, calls = _run(tmp_path, args=("--cross-aarch64",))
    assert done.returncode == 0, done.stderr
    assert _installed(calls) == [
        "g++-aarch64-linux-gnu",
        "gcc-aarch64-linux-gnu",
        "qemu-user-static",
    ]
    present = (*TOOLS, "aarch64-linux-gnu-g++", "aarch64-linux-gnu-gcc", "qemu-aarch64")
    (tmp_path / "all").mkdir()
    (tmp_path / "user").mkdir()
    done, calls = _run(tmp_path / "all", present=present, args=("--cross-aarch64",))
    assert done.returncode == 0 and calls == [] and _still_missing(done) == ""
    done, calls = _run(tmp_path / "user", root=False, args=("--cross-aarch64",))
    assert (
        "sudo apt-get install -y g++-aarch64-linux-gnu gcc-aarch64-linux-gnu qemu-user-static"
        in (done.stderr)
    )
    assert _still_missing(done) == "aarch64-linux-gnu-g++ aarch64-linux-gnu-gcc qemu-aarch64"


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_an_unknown_set_is_refused_in_one_line(tmp_path):
    done, calls = _run(tmp_path, args=("--cross-arm",))
    assert done.returncode == 2 and calls == []
    assert done.stderr.strip().splitlines() == [
        "system_packages: got the argument '--cross-arm', expected none or --cross-aarch64"
    ]
