"""``comix doctor``: what this machine can run — GPU, driver, CUDA, TensorRT, the CUDA bindings, ONNX Runtime,
our plugin libraries — and what to do about each thing missing.

Every probe is a function returning :class:`Check` rows (``ok`` / ``missing`` / ``problem`` / ``info``) and
never raises: a doctor that crashes on the broken machine it was called for is no use. Plugin libraries
are loaded in a child process (a bad library must not take the report down): ours into ONNX Runtime,
and into TensorRT's plugin registry wherever a TensorRT runtime imports (the full package, or the lean
runtime wheels, which need no GPU).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from comix.tensorrt.cuda_memory import CUDA_PYTHON_HINT

OK, MISSING, PROBLEM, INFO = "ok", "missing", "problem", "info"
CPU_PATH = (
    "use the CPU path: `comix infer model.onnx ...` (ONNX Runtime + our CPU op library; "
    "`comix plugins build` builds it)"
)
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


@dataclass
class Check:
    """One row of the report: area, status, what was found, what to do (empty when nothing)."""

    area: str
    status: str
    found: str
    action: str = ""


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def check_platform() -> list[Check]:
    rows = [
        Check(
            "platform",
            INFO,
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        )
    ]
    tegra = Path("/etc/nv_tegra_release")
    if tegra.is_file():
        rows.append(
            Check(
                "Jetson",
                INFO,
                tegra.read_text(errors="replace").splitlines()[0][:120],
                "see docs/jetson.md for the JetPack <-> TensorRT table and power modes",
            )
        )
    return rows


def check_gpu() -> tuple[list[Check], bool]:
    """(rows, a GPU is usable). Asks the CUDA runtime through cuda-python, else PyTorch."""
    rows = []
    try:
        from comix.tensorrt.cuda_memory import CudaPython, CudaUnavailable

        try:
            cuda = CudaPython(0)
        except CudaUnavailable as error:
            message = str(error)
            if "InsufficientDriver" in message:
                rows.append(
                    Check(
                        "GPU / driver",
                        MISSING,
                        "no NVIDIA driver (cudaErrorInsufficientDriver)",
                        f"install the NVIDIA driver on a machine with a GPU, or {CPU_PATH}",
                    )
                )
            elif "NoDevice" in message or "got 0 device" in message:
                rows.append(
                    Check(
                        "GPU / driver",
                        MISSING,
                        "driver present, no CUDA device visible",
                        f"check CUDA_VISIBLE_DEVICES / the container's --gpus, or {CPU_PATH}",
                    )
                )
            else:
                rows.append(Check("GPU / driver", MISSING, message.split(";")[0], CPU_PATH))
            return rows, False
        count = cuda.rt.cudaGetDeviceCount()[1]
        for index in range(count):
            info = CudaPython(index).device_info()
            rows.append(
                Check(
                    f"GPU {index}",
                    OK,
                    f"{info.name}, compute capability {info.sm}, "
                    f"{info.total_memory / 2**30:.1f} GiB, driver CUDA {info.driver_version}, "
                    f"runtime {info.runtime_version}",
                )
            )
        return rows, count > 0
    except Exception as error:
        rows.append(Check("cuda-python", MISSING, _first_line(error), CUDA_PYTHON_HINT))
    try:
        import torch
    except ImportError:  # the runtime install: cuda-python above is the GPU probe
        return rows, False
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(index)
            rows.append(
                Check(
                    f"GPU {index}",
                    OK,
                    f"{torch.cuda.get_device_name(index)}, compute capability "
                    f"{major}.{minor} (seen by torch)",
                )
            )
        return rows, True
    rows.append(
        Check(
            "GPU / driver", MISSING, "no CUDA device (torch.cuda.is_available() is False)", CPU_PATH
        )
    )
    return rows, False


def check_cuda_bindings() -> list[Check]:
    rows = []
    version = _version("cuda-python") or _version("cuda-bindings")
    rows.append(
        Check(
            "cuda-python",
            OK if version else MISSING,
            version or "not installed",
            "" if version else f"{CUDA_PYTHON_HINT} (the GPU runtime's default CUDA binding)",
        )
    )
    try:
        import pycuda.driver  # noqa: F401

        rows.append(Check("pycuda", OK, _version("pycuda") or "importable"))
    except Exception as error:
        found = "not installed" if isinstance(error, ModuleNotFoundError) else _first_line(error)
        rows.append(
            Check(
                "pycuda",
                INFO,
                found,
                "optional: `--cuda pycuda`; it needs the CUDA driver to build "
                "and import (pip install pycuda on the GPU host)",
            )
        )
    nvcc = shutil.which("nvcc")
    if nvcc:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60).stdout
        release = next(
            (line.split("release")[-1].strip() for line in out.splitlines() if "release" in line),
            "?",
        )
        rows.append(Check("nvcc", OK, f"{nvcc} (release {release})"))
    else:
        rows.append(
            Check(
                "nvcc",
                MISSING,
                "not on PATH",
                "needed only to build the CUDA kernels / TensorRT plugins "
                "(Jetson: /usr/local/cuda/bin)",
            )
        )
    return rows


def check_torch(gpu: bool) -> list[Check]:
    try:
        import torch
    except ImportError:
        return [
            Check(
                "PyTorch",
                INFO,
                "not installed: this is the runtime install (exported models run without it)",
                "training, export and calibration need the full toolchain: "
                "pip install 'comix-deploy[full]'",
            )
        ]
    rows = [
        Check(
            "PyTorch", OK, f"{torch.__version__} (CUDA {torch.version.cuda or 'none: CPU build'})"
        )
    ]
    built = sorted((Path(__file__).resolve().parents[1] / "plugins" / "torch").glob("_C*.so"))
    if built:
        rows.append(Check("PyTorch CUDA DCN extension", OK, str(built[0])))
    elif gpu:
        rows.append(
            Check(
                "PyTorch CUDA DCN extension",
                MISSING,
                "not built",
                "cd plugins/torch && python setup.py build_ext --inplace (or let --device cuda JIT-build it)",
            )
        )
    return rows


def check_tensorrt() -> tuple[list[Check], str | None]:
    """(rows, module name of a TensorRT runtime that imports, for the registry check)."""
    from comix.tensorrt.version import FULL_MODULE, LEAN_MODULES, MIN_SUPPORTED, TrtVersion

    rows, runtime = [], None
    for name in (FULL_MODULE, *LEAN_MODULES):
        try:
            module = importlib.import_module(name)
        except Exception as error:
            if name == FULL_MODULE:
                rows.append(
                    Check(
                        "TensorRT",
                        MISSING,
                        _first_line(error)
                        if not isinstance(error, ModuleNotFoundError)
                        else "not installed",
                        "Jetson: comes with JetPack (sudo apt install python3-libnvinfer); x86_64: "
                        "pip install tensorrt-cu12 / tensorrt-cu13. Without it `comix build` prints the "
                        "trtexec line",
                    )
                )
            continue
        version = str(getattr(module, "__version__", "?"))
        supported = TrtVersion.parse(version) >= MIN_SUPPORTED if version[:1].isdigit() else False
        kind = "builder + runtime" if hasattr(module, "Builder") else "runtime only (lean)"
        rows.append(
            Check(
                f"TensorRT ({name})",
                OK if supported else PROBLEM,
                f"{version}, {kind}",
                "" if supported else f"need {MIN_SUPPORTED.short} or newer",
            )
        )
        runtime = runtime or name
    return rows, runtime


def check_onnxruntime() -> list[Check]:
    try:
        import onnxruntime as ort
    except Exception as error:
        return [Check("ONNX Runtime", MISSING, _first_line(error), "pip install onnxruntime")]
    return [
        Check(
            "ONNX Runtime",
            OK,
            f"{ort.__version__}, providers {', '.join(ort.get_available_providers())}",
        )
    ]


def elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not an ELF file"
    return ELF_MACHINES.get(
        int.from_bytes(header[18:20], "little"),
        f"machine {int.from_bytes(header[18:20], 'little')}",
    )


def cuda_architectures(path: Path) -> str:
    tool = shutil.which("cuobjdump")
    if tool is None:
        return "CUDA archs: ? (cuobjdump not on PATH)"
    out = subprocess.run(
        [tool, "--list-elf", "--list-ptx", str(path)], capture_output=True, text=True, timeout=120
    ).stdout
    archs = sorted(
        {
            part
            for line in out.splitlines()
            for part in line.replace(".", " ").split()
            if part.startswith(("sm_", "compute_"))
        }
    )
    return "CUDA archs: " + (", ".join(archs) or "none found")


_REGISTRY_PROBE = """
import json, sys
trt = __import__(sys.argv[1])
registry = trt.get_plugin_registry()
handle = registry.load_library(sys.argv[2])
names = sorted({(c.name, c.plugin_version) for c in registry.all_creators if "DeformConv" in c.name})
print(json.dumps({"loaded": handle is not None, "creators": names}))
"""


def check_plugin_libraries(trt_runtime: str | None) -> list[Check]:
    from comix.runtime.session import find_custom_op_library
    from comix.tensorrt.plugin_library import PluginLibraryMissing, find_plugin_library

    rows = []
    ort_library = find_custom_op_library()
    if ort_library is None:
        rows.append(
            Check(
                "ORT op library",
                MISSING,
                "libcomix_ort_dcn.so not found",
                "comix plugins build (or export with --portable)",
            )
        )
    else:
        code = (
            "import onnxruntime as o, sys; s = o.SessionOptions(); "
            "s.register_custom_ops_library(sys.argv[1]); print('ok')"
        )
        run = subprocess.run(
            [sys.executable, "-c", code, str(ort_library)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        loaded = run.returncode == 0 and "ok" in run.stdout
        rows.append(
            Check(
                "ORT op library",
                OK if loaded else PROBLEM,
                f"{ort_library} ({elf_machine(ort_library)})"
                f"{'' if loaded else ': ' + run.stderr.strip()[-200:]}",
                "" if loaded else "rebuild it on this machine: comix plugins build",
            )
        )
    try:
        library = find_plugin_library()
    except PluginLibraryMissing:
        rows.append(
            Check(
                "TensorRT plugin library",
                MISSING,
                "libcomix_trt_plugins.so not found",
                "comix plugins build --tensorrt-root <TensorRT with include/> (Jetson: /usr)",
            )
        )
        return rows
    found = (
        f"{library.path} ({elf_machine(library.path)}, {cuda_architectures(library.path)}, "
        f"sha256 {library.sha256[:12]}…)"
    )
    if trt_runtime is None:
        rows.append(
            Check(
                "TensorRT plugin library",
                INFO,
                found + "; not loaded: no TensorRT runtime here",
                "pip install -e '.[tensorrt-lean]' loads it into TensorRT's registry without a GPU",
            )
        )
        return rows
    run = subprocess.run(
        [sys.executable, "-c", _REGISTRY_PROBE, trt_runtime, str(library.path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        observed = json.loads(run.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        observed = {"loaded": False, "creators": []}
    if observed["loaded"] and observed["creators"]:
        creators = ", ".join(f"{n} v{v}" for n, v in observed["creators"])
        rows.append(
            Check(
                "TensorRT plugin library",
                OK,
                f"{found}; loaded into {trt_runtime}'s registry: {creators}",
            )
        )
    else:
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1][:200]
        rows.append(
            Check(
                "TensorRT plugin library",
                PROBLEM,
                f"{found}; {trt_runtime} could not load it: {tail}",
                "build it against the headers of the installed TensorRT major version",
            )
        )
    return rows


def diagnose() -> list[Check]:
    """Every check, in the order of the report."""
    rows = check_platform()
    gpu_rows, gpu = check_gpu()
    rows += gpu_rows
    rows += check_cuda_bindings()
    rows += check_torch(gpu)
    trt_rows, runtime = check_tensorrt()
    rows += trt_rows
    rows += check_onnxruntime()
    rows += check_plugin_libraries(runtime)
    rows += check_backends()
    if not gpu:
        rows.append(Check("next step", INFO, "no GPU here", CPU_PATH))
    return rows


def check_backends() -> list[Check]:
    """One row per registered backend (:mod:`comix.runtime.registry`): runs here, or what to install."""
    from comix.runtime.registry import BACKENDS

    rows = []
    for entry in BACKENDS.values():
        missing = entry.missing()
        found = f"{entry.summary}; opens {entry.artifacts()}"
        if missing:
            rows.append(
                Check(
                    f"backend {entry.name}",
                    MISSING,
                    f"{found}; {'; '.join(missing)}",
                    entry.install,
                )
            )
        else:
            rows.append(Check(f"backend {entry.name}", OK, found))
    return rows


def to_json(rows: list[Check]) -> str:
    return json.dumps(
        {
            "checks": [asdict(r) for r in rows],
            "environment": {
                k: os.environ.get(k)
                for k in (
                    "CUDA_VISIBLE_DEVICES",
                    "COMIX_PLUGIN_DIR",
                    "COMIX_TRT_PLUGIN_LIBRARY",
                    "COMIX_ORT_LIBRARY",
                )
            },
        },
        indent=2,
    )
