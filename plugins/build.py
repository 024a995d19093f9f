"""Configure and build the CoMiX plugin libraries with CMake, and find what was built.

    from comix.plugins.build import build_plugins, find_ort_library
    built = build_plugins("plugins/build")          # {"comix_ort_dcn": Path(...so), "comix_dcn_cpu": ...}
    so = find_ort_library()                         # $COMIX_PLUGIN_DIR, then plugins/build/
    capi = find_capi_library()                      # libcomix_infer.so, the C API (plugins/capi)

The C API (plugins/capi) is built when the onnxruntime wheel's ``libonnxruntime.so.<version>`` is found
in this Python environment (:func:`find_onnxruntime_library`; it links against it).

The CMake project (plugins/CMakeLists.txt) fetches the ONNX Runtime headers itself with ``npm pack`` at
configure time. Needs: cmake >= 3.18, a C++17 compiler, libeigen3-dev, npm, tar (see plugins/README.md).
Command line: ``python plugins/build.py [build_dir] [--cuda] [--tensorrt-root DIR] [--target T ...]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from comix.errors import FailedError

PLUGINS_DIR = Path(__file__).resolve().parent
DEFAULT_BUILD_DIR = PLUGINS_DIR / "build"
ENV_PLUGIN_DIR = "COMIX_PLUGIN_DIR"
ORT_TARGET = "comix_ort_dcn"
ORT_LIBRARY = f"lib{ORT_TARGET}.so"
CAPI_TARGET = "comix_infer"
CAPI_LIBRARY = f"lib{CAPI_TARGET}.so"
EIGEN_HEADER_CANDIDATES = (
    Path("/usr/include/eigen3/Eigen/Core"),
    Path("/usr/local/include/eigen3/Eigen/Core"),
)


class PluginBuildError(FailedError):
    """CMake configure or build failed; the message carries the command and the tail of its output."""


def missing_build_tools(onnxruntime: bool = True) -> list[str]:
    """Names of the tools/packages this machine lacks for a CPU (+ ONNX Runtime) build; empty if none."""
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if onnxruntime:
        missing += [tool for tool in ("npm", "tar") if shutil.which(tool) is None]
    # Eigen3_DIR is CMake's own variable name (<Package>_DIR), case and all
    eigen_dir = os.environ.get("Eigen3_DIR")  # noqa: SIM112
    if not eigen_dir and not any(p.exists() for p in EIGEN_HEADER_CANDIDATES):
        missing.append("libeigen3-dev (Eigen/Core)")
    return missing


def find_onnxruntime_library() -> Path | None:
    """``libonnxruntime.so.<version>`` in the installed onnxruntime wheel (``onnxruntime/capi/``) or None.

    Found without importing onnxruntime (the C API links against the file; nothing is loaded here).
    """
    import importlib.util

    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted((Path(location) / "capi").glob("libonnxruntime.so.*"))
        if found:
            return found[-1]
    return None


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


def _run(command: list[str], verbose: bool) -> None:
    result = subprocess.run(
        command,
        stdout=None if verbose else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "" if verbose else "\n".join((result.stdout or "").splitlines()[-40:])
        raise PluginBuildError(
            f"{' '.join(command)}: got exit code {result.returncode}, expected 0\n{tail}"
        )


def build_plugins(
    build_dir: str | os.PathLike = DEFAULT_BUILD_DIR,
    *,
    cpu: bool = True,
    onnxruntime: bool = True,
    ort_deform_conv_2d: bool = True,
    cuda: bool | None = False,
    tensorrt_root: str | os.PathLike | None = None,
    torch: bool = False,
    capi: bool | None = None,
    onnxruntime_library: str | os.PathLike | None = None,
    build_type: str = "Release",
    cpu_march: str | None = None,
    extra_cmake_args: Sequence[str] = (),
    targets: Sequence[str] | None = None,
    jobs: int | None = None,
    verbose: bool = False,
) -> dict[str, Path]:
    """Run ``cmake`` configure + build in ``build_dir``; return {target name: built library path}.

    ``ort_deform_conv_2d`` also registers ai.comix::DeformConv (2-D) in the ORT library.
    ``cuda=None`` lets CMake decide (on when nvcc is found); ``tensorrt_root`` enables the TensorRT
    plugins; ``cpu_march`` overrides COMIX_CPU_MARCH (default "native"); ``targets`` limits the build.
    ``capi=None`` builds the C API when ``onnxruntime_library`` (default: :func:`find_onnxruntime_library`)
    exists; ``capi=True`` without it raises FileNotFoundError.
    Raises PluginBuildError (with the output tail) when a step fails, FileNotFoundError when cmake is absent.
    """
    cmake = shutil.which("cmake")
    if cmake is None:
        raise FileNotFoundError(
            "cmake: got nothing on PATH, expected cmake >= 3.18 (apt-get install -y cmake)"
        )
    build_path = Path(build_dir).resolve()
    configure = [
        cmake,
        "-S",
        str(PLUGINS_DIR),
        "-B",
        str(build_path),
        f"-DCMAKE_BUILD_TYPE={build_type}",
        f"-DCOMIX_BUILD_CPU={_on_off(cpu)}",
        f"-DCOMIX_BUILD_ONNXRUNTIME={_on_off(onnxruntime)}",
        f"-DCOMIX_ORT_REGISTER_DEFORM_CONV_2D={_on_off(ort_deform_conv_2d)}",
        f"-DCOMIX_BUILD_TORCH={_on_off(torch)}",
    ]
    if cuda is not None:
        configure.append(f"-DCOMIX_BUILD_CUDA={_on_off(cuda)}")
    if tensorrt_root is not None:
        configure += [
            f"-DTensorRT_ROOT={Path(tensorrt_root).resolve()}",
            "-DCOMIX_BUILD_TENSORRT=ON",
        ]
    else:
        configure.append("-DCOMIX_BUILD_TENSORRT=OFF")
    if cpu_march is not None:
        configure.append(f"-DCOMIX_CPU_MARCH={cpu_march}")
    ort_library = Path(onnxruntime_library) if onnxruntime_library else find_onnxruntime_library()
    if capi and (ort_library is None or not ort_library.is_file()):
        raise FileNotFoundError(
            f"the C API links libonnxruntime.so.<version>: got {ort_library or 'no onnxruntime wheel'}, "
            "expected the onnxruntime package installed (pip install onnxruntime)"
        )
    build_capi = bool(ort_library) and capi is not False and cpu
    configure.append(f"-DCOMIX_BUILD_CAPI={_on_off(build_capi)}")
    if build_capi:
        configure.append(f"-DONNXRUNTIME_LIBRARY={Path(ort_library).resolve()}")
    configure += list(extra_cmake_args)
    _run(configure, verbose)
    build = [cmake, "--build", str(build_path), "--parallel", str(jobs or os.cpu_count() or 1)]
    for target in targets or ():
        build += ["--target", target]
    _run(build, verbose)
    return built_libraries(build_path)


def built_libraries(build_dir: str | os.PathLike) -> dict[str, Path]:
    """Libraries (.so, .a) under ``build_dir`` by target name (``libX.so`` -> ``X``), not fetched code."""
    found: dict[str, Path] = {}
    root = Path(build_dir)
    for path in sorted(root.rglob("lib*")):
        if (
            path.suffix not in (".so", ".a")
            or "third_party" in path.parts
            or "CMakeFiles" in path.parts
        ):
            continue
        found[path.name[3:].rsplit(".", 1)[0]] = path
    return found


def find_ort_library() -> Path:
    """Path of the ONNX Runtime custom-op library: ``$COMIX_PLUGIN_DIR`` first, then ``plugins/build/``.

    Looks for libcomix_ort_dcn.so directly in each folder and in its ``onnxruntime/`` subfolder.
    Raises FileNotFoundError listing the places searched.
    """
    roots = []
    if os.environ.get(ENV_PLUGIN_DIR):
        roots.append(Path(os.environ[ENV_PLUGIN_DIR]))
    roots.append(DEFAULT_BUILD_DIR)
    searched = []
    for root in roots:
        for candidate in (root / ORT_LIBRARY, root / "onnxruntime" / ORT_LIBRARY):
            searched.append(str(candidate))
            if candidate.is_file():
                return candidate.resolve()
    raise FileNotFoundError(
        f"{ORT_LIBRARY}: got no file at {searched}, expected one; build it with "
        f"`python plugins/build.py` or set {ENV_PLUGIN_DIR} to the folder holding it"
    )


def find_capi_library() -> Path:
    """Path of the C API library: ``$COMIX_PLUGIN_DIR`` first, then ``plugins/build/`` (or its ``capi/``).

    Raises FileNotFoundError listing the places searched.
    """
    roots = [Path(os.environ[ENV_PLUGIN_DIR])] if os.environ.get(ENV_PLUGIN_DIR) else []
    roots.append(DEFAULT_BUILD_DIR)
    searched = []
    for root in roots:
        for candidate in (root / CAPI_LIBRARY, root / "capi" / CAPI_LIBRARY):
            searched.append(str(candidate))
            if candidate.is_file():
                return candidate.resolve()
    raise FileNotFoundError(
        f"{CAPI_LIBRARY}: got no file at {searched}, expected one; build it with "
        f"`comix plugins build` (needs the onnxruntime package)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?", default=str(DEFAULT_BUILD_DIR))
    parser.add_argument(
        "--cuda",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build the CUDA kernels (default: when nvcc is found)",
    )
    parser.add_argument(
        "--tensorrt-root", default=None, help="TensorRT root; builds the TensorRT plugins"
    )
    parser.add_argument("--torch", action="store_true", help="build the PyTorch extension")
    parser.add_argument(
        "--capi",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build the C API, libcomix_infer.so (default: when the onnxruntime wheel is installed)",
    )
    parser.add_argument(
        "--cpu-march", default=None, help="-march for the CPU kernels (default: native)"
    )
    parser.add_argument(
        "--target", action="append", default=None, help="build only this target (repeatable)"
    )
    parser.add_argument("--build-type", default="Release")
    parser.add_argument("-j", "--jobs", type=int, default=None)
    parser.add_argument(
        "-D", dest="defines", action="append", default=[], help="extra -D for CMake"
    )
    args = parser.parse_args(argv)
    built = build_plugins(
        args.build_dir,
        cuda=args.cuda,
        tensorrt_root=args.tensorrt_root,
        torch=args.torch,
        capi=args.capi,
        cpu_march=args.cpu_march,
        targets=args.target,
        build_type=args.build_type,
        jobs=args.jobs,
        extra_cmake_args=[f"-D{d}" for d in args.defines],
        verbose=True,
    )
    for name, path in built.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
