"""Install the project's folders under the one ``comix`` namespace (pyproject.toml holds everything else).

The repository keeps the top-level layout the project was asked for (``comix/``, ``export/``,
``calibration/``, ``plugins/``, ``tools/``, ``tests/``), but only ``comix`` may land in site-packages: a
top-level ``export`` or ``plugins`` package would collide with any other package of that common name.
So ``export/`` installs as ``comix.export``, ``plugins/`` as ``comix.plugins`` (with the C++/CUDA sources,
so ``comix plugins build`` works from an installed copy) and ``calibration/`` as ``comix.calibration``.
``tools/`` (scripts) and ``tests/`` are not installed. Subpackages (and source folders) are found, not
listed, so a new one cannot be forgotten (``tests/test_packaging.py`` builds the wheel and checks its top
level).
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
# installed package name -> folder in the repository
NAMESPACE = {
    "comix": "comix",
    "comix.export": "export",
    "comix.calibration": "calibration",
    "comix.plugins": "plugins",
}
# native sources shipped inside comix.plugins (built on the user's machine by `comix plugins build`)
PLUGIN_SOURCES = [
    "CMakeLists.txt",
    "README.md",
    "**/CMakeLists.txt",
    "**/*.cmake",
    "**/*.map",
    "**/*.md",
    "**/*.h",
    "**/*.hpp",
    "**/*.cpp",
    "**/*.cu",
    "**/*.cuh",
    "**/*.c",  # the C API's comix-run and example client (plugins/capi)
]


def _packages() -> tuple[list[str], dict[str, str]]:
    packages, package_dir = [], {}
    for name, folder in NAMESPACE.items():
        if not (HERE / folder / "__init__.py").is_file():
            continue  # a folder without code yet ships nothing
        package_dir[name] = folder
        packages.append(name)
        # namespace discovery: folders that hold only C++/CUDA sources ship as data of their package
        found = find_namespace_packages(
            str(HERE / folder), exclude=["build", "build.*", "*__pycache__*"]
        )
        packages += [f"{name}.{sub}" for sub in found]
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()
setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"comix.plugins": PLUGIN_SOURCES},
    exclude_package_data={"comix.plugins": ["build/**"]},
)  # a local CMake build folder (and its fetched headers)
