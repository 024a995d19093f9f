"""``comix plugins build``: build the native DCN libraries this machine can build (CMake)."""

from __future__ import annotations

from pathlib import Path

import typer

from comix.cli.errors import command, fail

app = typer.Typer(
    help="Build and locate the native deformable-convolution plugin libraries.",
    no_args_is_help=True,
)


@command(app, "build")
def build(
    build_dir: Path = typer.Argument(None, help="CMake build folder (default: plugins/build)."),
    cuda: bool = typer.Option(
        None, "--cuda/--no-cuda", help="Build the CUDA kernels (default: when nvcc exists)."
    ),
    tensorrt_root: Path = typer.Option(
        None,
        "--tensorrt-root",
        help="TensorRT folder with include/ (builds the TensorRT plugin library).",
    ),
    verbose: bool = typer.Option(False, "--verbose", help="Show the CMake output."),
) -> None:
    """Build the CPU library and ONNX Runtime custom op always; the C API of the flight runtime
    (libcomix_infer.so, comix-run) where the onnxruntime package is installed; CUDA where nvcc is found;
    TensorRT plugins where TensorRT headers are given."""
    from comix.atomic import check_writable
    from comix.plugins.build import (
        DEFAULT_BUILD_DIR,
        build_plugins,
        missing_build_tools,
    )

    build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
    if build_dir.exists() and not build_dir.is_dir():
        fail(f"build folder {build_dir}: got an existing file, expected a folder (or a new name)")
    check_writable(build_dir)
    if tensorrt_root is not None:
        check_tensorrt_root(tensorrt_root)
    missing = missing_build_tools()
    if missing:
        fail(f"missing build tools {missing}; see plugins/README.md for the packages to install")
    built = build_plugins(build_dir, cuda=cuda, tensorrt_root=tensorrt_root, verbose=verbose)
    for name, path in built.items():
        typer.echo(f"{name}: {path}")


# the header CMake looks for (plugins/tensorrt/CMakeLists.txt: find_path in ROOT and ROOT/include)
TENSORRT_HEADER = "NvInferRuntime.h"


def check_tensorrt_root(root: Path) -> None:
    """Refuse a --tensorrt-root without TensorRT's headers before CMake runs (and makes a build folder)."""
    if not root.is_dir():
        fail(
            f"--tensorrt-root {root}: got no such folder, expected TensorRT's folder with include/"
        )
    if not any((folder / TENSORRT_HEADER).is_file() for folder in (root / "include", root)):
        fail(
            f"--tensorrt-root {root}: got a folder without include/{TENSORRT_HEADER}, expected TensorRT's "
            "folder (its headers are in include/)"
        )
