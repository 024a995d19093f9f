"""The house's shape, read from the source: imports form layers, and only ``comix`` is installed.

Layers, lowest first. A module may import from its own package and from packages on lower layers only;
so no import runs from a lower stage to a higher one and no two packages import each other. A new
package must be placed here (the test fails on an unknown one).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> installed package name (setup.py)
FOLDERS = {
    "comix": "comix",
    "export": "comix.export",
    "plugins": "comix.plugins",
    "calibration": "comix.calibration",
}

LAYERS = [
    {"comix.errors"},  # the error root and its two branches
    {"comix.tasks"},  # what a model does; the families and their slices (loaded by name)
    # foundations: files, hashes, model digests, the record, tiles, step times, install extras
    {
        "comix",
        "comix.atomic",
        "comix.hashing",
        "comix.model_digest",
        "comix.metadata",
        "comix.tiles",
        "comix.stopwatch",
        "comix.extras",
        "comix.lazy",
    },
    {"comix.ops", "comix.data", "comix.viz"},  # DCN ops and their spec; readers, scenes; plots
    {"comix.ship", "comix.ship.quality", "comix.ship.data"},  # SHIP: quality metrics; fusion data
    {"comix.model", "comix.plugins"},  # networks, the variant registry; native kernels, loaders
    {"comix.ship.model"},  # SHIP's network and variants
    {"comix.tensorrt"},  # TensorRT engines: build, describe, run (CUDA memory)
    {"comix.runtime"},  # the backend registry and backends, whole-scene inference
    {"comix.ship.runtime"},  # whole-scene fusion
    {"comix.archive", "comix.profile"},  # many scenes (lists, resume, Ray); latency profiling
    {"comix.train", "comix.export"},  # training and evaluation; torch -> ONNX
    {"comix.ship.train", "comix.ship.export"},  # SHIP training, baselines, scoring; its export
    {"comix.triton", "comix.doctor"},  # serving repositories; the environment check
    {"comix.calibration"},  # precision: FP16 / INT8 graphs
    {"comix.ship.calibration"},  # SHIP's calibration data and precision rules
    {"comix.demo", "comix.ship.demo"},  # the end-to-end runs (CoMiX; SHIP fusion)
    {"comix.cli"},  # commands
    {"comix.ship.cli"},  # ``comix fusion ...`` (loaded by name from comix.tasks.FAMILIES)
]
# the slices of model families (comix.tasks.FAMILIES): their parts are layered like the shared packages
SLICES = ("comix.ship",)
LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([FOLDERS[parts[0]], *parts[1:]])


def _package(module: str) -> str:
    """The unit of layering: ``comix.<first level>`` (``comix`` itself for the root __init__), and in a
    family's slice ``comix.<slice>.<first level>``."""
    parts = module.split(".")
    depth = 3 if ".".join(parts[:2]) in SLICES else 2
    return ".".join(parts[:depth])


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``comix`` import in a file, lazy imports inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in FOLDERS]
    return found


def _sources() -> list[Path]:
    files = []
    for folder in FOLDERS:
        if (ROOT / folder).is_dir():
            files += [
                p for p in (ROOT / folder).rglob("*.py") if "build" not in p.relative_to(ROOT).parts
            ]
    return sorted(files)


def test_every_package_has_a_layer():
    packages = {_package(_module_name(path)) for path in _sources()}
    unknown = sorted(packages - set(LAYER_OF))
    assert not unknown, f"packages without a layer: {unknown}; place them in LAYERS"


def test_imports_only_go_down_the_layers():
    wrong = []
    for path in _sources():
        source = _package(_module_name(path))
        for line, target in _imports(path):
            if target.split(".")[0] != "comix":
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} imports {target!r}: use the installed name comix.*"
                )
                continue
            destination = _package(target)
            if destination == source:
                continue
            if LAYER_OF.get(destination, -1) >= LAYER_OF[source]:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line}: {source} (layer {LAYER_OF[source]}) imports "
                    f"{target} (layer {LAYER_OF.get(destination)})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_tests_and_tools_use_installed_names():
    """Tests and scripts import the project as installed (comix.export, comix.plugins), never by folder."""
    wrong = []
    for folder in ("tests", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            wrong += [
                f"{path.relative_to(ROOT)}:{line} imports {name!r}"
                for line, name in _imports(path)
                if name.split(".")[0] != "comix"
            ]
    assert not wrong, "\n".join(wrong)


def test_the_wheel_installs_only_comix(tmp_path):
    """``pip install .`` puts one top-level package, ``comix``, into site-packages (plus its dist-info)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"comix"}, sorted(top)
    assert "comix/export/exporter.py" in names and "comix/plugins/build.py" in names
    assert "comix/plugins/CMakeLists.txt" in names, (
        "the native sources ship so `comix plugins build` works"
    )
    assert {
        "comix/plugins/capi/include/comix_infer.h",
        "comix/plugins/capi/tools/comix_run.c",
    } <= set(names), "the C API's sources ship too (its CMake target needs comix_run.c)"
    assert not [
        n
        for n in names
        if n.startswith(("comix/tools", "comix/tests", "tools/", "comix/plugins/build/"))
    ]


def _module_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (lazy imports inside functions included); an import of a
    name from a package counts as an import of that package's ``__init__`` (or of the submodule, when the
    name is one)."""
    modules = {_module_name(path): path for path in _sources()}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    targets.add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = iter(range(10**9))

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_even_inside_a_package():
    """No two modules import each other, directly or through others (lazy imports count too): a circle
    means neither module can be read, tested or moved alone."""
    circles = _cycles(_module_graph())
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_tools_import_the_package_never_a_sibling_script():
    """A script in tools/ that imports another one makes a hidden library; shared code goes in the package."""
    scripts = {path.stem for path in (ROOT / "tools").glob("*.py")}
    wrong = []
    for path in sorted((ROOT / "tools").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            wrong += [
                f"{path.name}:{node.lineno} imports {n}"
                for n in names
                if n.split(".")[0] in scripts
            ]
    assert not wrong, "\n".join(wrong)
