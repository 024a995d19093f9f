"""The TensorRT plugin harness (plugins/tensorrt/tests/pluginHarness.cpp): its grid, its build, its verdict.

    python tools/plugin_harness.py write-grid DIR [--case ID ...]     # the shared DCN grid, for C++
    python tools/plugin_harness.py build --headers third_party/tensorrt-11.1 --out DIR [--archs 90]
    python tools/plugin_harness.py check --grid DIR --outputs DIR --observations obs.json [--json out.json]

``write-grid``: every case of ``comix.ops.cases.cases_for("gpu")`` in FP32 and FP16 — one line each in
``DIR/cases.txt`` (``id dtype nd N C O``, then ``[D, H, W]`` triples of input size, kernel, stride, pad
begins, pad ends, dilation, then ``group offset_group bias mask`` and the output size triple; 2-D cases
fill D with 1 / 0), the inputs as stored in the dtype (FP16-rounded values for FP16) as float32 files
``<id>.<dtype>.{x,w,offset,bias,mask}.f32``, and the float64 reference of those values
``<id>.<dtype>.ref.f64``.

``build``: the plugin library against one TensorRT header set (tools/check_tensorrt_headers.sh: no
libnvinfer) for the given GPU architectures, and the harness, linked with the static CUDA runtime only.

``check``: the harness's observations (JSON on its stdout) and outputs against what must hold: the
output shape and type, LINEAR formats only, configure/workspace/serialisation/attach/onShapeChange as
expected, enqueue status 0, the guard band after the output intact, the CUDA-graph replay bit-identical,
and every output within the tolerance table of :mod:`comix.ops.tolerance` of the float64 reference.
Exit 0 when every case passes, 1 otherwise (each failure named).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HARNESS_SOURCE = REPO / "plugins" / "tensorrt" / "tests" / "pluginHarness.cpp"
DTYPES = ("float32", "float16")
COLUMN_BUDGET = 256 << 20  # kDefaultColumnBudgetBytes of plugins/cuda
NO_DEVICE_EXIT = 3  # the harness stopped at its first CUDA call (no GPU / driver)


def _triple(values, fill) -> list:
    return [fill] * (3 - len(values)) + list(values)


def grid_line(case, dtype: str) -> str:
    """The cases.txt line of one case and dtype."""
    nd = case.ndim
    fields = [case.id, dtype, nd, case.batch, case.channels, case.out_channels]
    fields += _triple(case.size, 1) + _triple(case.kernel, 1) + _triple(case.stride, 1)
    fields += _triple(case.pads[:nd], 0) + _triple(case.pads[nd:], 0) + _triple(case.dilation, 1)
    fields += [case.group, case.offset_group, int(case.bias), int(case.mask)]
    fields += _triple(case.output_size(), 1)
    return " ".join(str(f) for f in fields)


def write_grid(folder: Path, case_ids: list[str] | None = None) -> int:
    """Write the grid (see the module doc); returns the number of (case, dtype) entries."""
    from comix.ops.cases import cases_for, reference_output

    folder.mkdir(parents=True, exist_ok=True)
    cases = [c for c in cases_for("gpu") if not case_ids or c.id in case_ids]
    unknown = sorted(set(case_ids or ()) - {c.id for c in cases})
    if unknown:
        raise SystemExit(
            f"write-grid: got unknown case ids {unknown}, expected ids of the gpu grid"
        )
    lines = [
        "# id dtype nd N C O in[3] kernel[3] stride[3] pad_begin[3] pad_end[3] dilation[3] "
        "group offset_group bias mask out[3]  (tools/plugin_harness.py)"
    ]
    for case in cases:
        for dtype in DTYPES:
            inputs = case.inputs(dtype)
            for name, value in zip(("x", "offset", "w", "bias", "mask"), inputs.arrays()):
                if value is not None:
                    value.astype(np.float32).tofile(folder / f"{case.id}.{dtype}.{name}.f32")
            reference_output(case, dtype).astype(np.float64).tofile(
                folder / f"{case.id}.{dtype}.ref.f64"
            )
            lines.append(grid_line(case, dtype))
    (folder / "cases.txt").write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def read_grid(folder: Path) -> list[dict]:
    """The entries of cases.txt as dicts (id, dtype, nd, batch, channels, out_channels, out, ...)."""
    entries = []
    for line in (folder / "cases.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        values = [int(v) for v in parts[2:]]
        nd = values[0]
        entries.append(
            {
                "id": parts[0],
                "dtype": parts[1],
                "nd": nd,
                "batch": values[1],
                "channels": values[2],
                "out_channels": values[3],
                "kernel": values[7:10][3 - nd :],
                "offset_group": values[23],
                "out": values[26:29][3 - nd :],
            }
        )
    return entries


def expected_workspace(entry: dict) -> int:
    """What getWorkspaceSize must give (plugins/cuda launch plan: whole batch up to the column budget)."""
    points = int(np.prod(entry["kernel"]))
    per_sample = entry["channels"] * points * int(np.prod(entry["out"])) * 4
    if per_sample == 0 or entry["batch"] == 0 or entry["out_channels"] == 0:
        return 0
    return min(entry["batch"] * per_sample, max(per_sample, COLUMN_BUDGET))


def check_entry(
    entry: dict, seen: dict | None, grid: Path, outputs: Path, device: bool
) -> list[str]:
    """The problems of one (case, dtype); empty when it passes."""
    from comix.ops.tolerance import assert_matches_reference

    if seen is None:
        return ["no observation (the harness skipped it)"]
    shape = [entry["batch"], entry["out_channels"], *entry["out"]]
    expectations = {
        "created": True,
        "nb_outputs": 1,
        "output_type_rc": 0,
        "output_type_matches": True,
        "output_shape_rc": 0,
        "output_shape": shape,
        "supports_linear": True,
        "supports_mixed_types": False,
        "configure_rc": 0,
        "workspace_bytes": expected_workspace(entry),
        "runtime_created": True,
        "serialized_equal": True,
        "attached": True,
        "shape_change_rc": 0,
    }
    problems = [
        f"{key}: got {seen.get(key)!r}, expected {want!r}"
        for key, want in expectations.items()
        if seen.get(key) != want
    ]
    if not device or problems:
        return problems
    run = seen.get("device")
    if run is None:
        return ["not run on the device"]
    if run.get("status") != "ok":
        return [f"device: {run.get('status')}"]
    for key, want in (
        ("enqueue_rc", 0),
        ("captured_rc", 0),
        ("guard_intact", True),
        ("graph_identical", True),
        ("graph_guard_intact", True),
    ):
        if run.get(key) != want:
            problems.append(f"device {key}: got {run.get(key)!r}, expected {want!r}")
    name = f"{entry['id']}.{entry['dtype']}"
    got = np.fromfile(outputs / f"{name}.y.f32", np.float32)
    reference = np.fromfile(grid / f"{name}.ref.f64", np.float64)
    try:
        assert_matches_reference(
            got.reshape(shape),
            reference.reshape(shape),
            entry["dtype"],
            f"{name} (TensorRT plugin)",
        )
    except (AssertionError, ValueError) as error:
        problems.append(str(error))
    return problems


def check(grid: Path, outputs: Path, observations: dict) -> dict:
    """Verdict per (case, dtype) and overall; ``device`` False when the harness stopped before CUDA."""
    seen = {(c["id"], c["dtype"]): c for c in observations.get("cases", [])}
    device = observations.get("cuda", {}).get("status") == "cudaSuccess"
    results = []
    for entry in read_grid(grid):
        problems = check_entry(
            entry, seen.get((entry["id"], entry["dtype"])), grid, outputs, device
        )
        results.append({"case": entry["id"], "dtype": entry["dtype"], "problems": problems})
    failed = [r for r in results if r["problems"]]
    return {
        "device": device,
        "cuda": observations.get("cuda", {}),
        "cases": len(results),
        "passed": len(results) - len(failed),
        "failed": failed,
    }


def cuda_root() -> Path:
    """The CUDA toolkit root as nvcc reports it (nvcc may be a wrapper)."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise SystemExit("build: got no nvcc on PATH, expected the CUDA toolkit")
    dry = subprocess.run(
        [nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null"], capture_output=True, text=True
    )
    top = re.search(r"^#\$ TOP=(.*)$", dry.stdout + dry.stderr, re.M)
    root = Path(top.group(1)).resolve() if top else Path(nvcc).resolve().parent.parent
    return root if (root / "include" / "cuda_runtime_api.h").is_file() else root.parent


def build(headers: Path, out: Path, archs: str, ptx: str) -> dict[str, Path]:
    """The plugin library (for ``archs``) and the harness against ``headers``; {name: path}."""
    if not (headers / "include" / "NvInferVersion.h").is_file():
        raise SystemExit(
            f"build: got no include/NvInferVersion.h under {headers}, expected TensorRT headers "
            "(fetch NVIDIA/TensorRT release/11.1 include/ into third_party/tensorrt-11.1)"
        )
    out.mkdir(parents=True, exist_ok=True)
    staged = out / "headers"
    staged.mkdir(exist_ok=True)
    link = staged / "tensorrt-harness"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(headers.resolve())
    script = REPO / "tools" / "check_tensorrt_headers.sh"
    result = subprocess.run(
        [
            "bash",
            str(script),
            str(staged),
            "--archs",
            archs,
            "--ptx",
            ptx,
            "--only",
            "harness",
            "--out",
            str(out / "build"),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"build: the plugin library failed:\n{result.stdout}{result.stderr}")
    library = out / "libcomix_trt_plugins.so"
    shutil.copy2(out / "build" / "harness" / "libcomix_trt_plugins.so", library)
    root = cuda_root()
    static = next(
        iter(
            sorted(root.glob("lib64/libcudart_static.a"))
            + sorted(root.glob("targets/*/lib/libcudart_static.a"))
        ),
        None,
    )
    harness = out / "pluginHarness"
    command = [
        "g++",
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-isystem",
        str(headers / "include"),
        "-isystem",
        str(root / "include"),
        str(HARNESS_SOURCE),
        str(static),
        "-o",
        str(harness),
        "-ldl",
        "-lpthread",
        "-lrt",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or static is None:
        raise SystemExit(f"build: the harness failed ({' '.join(command)}):\n{result.stderr}")
    shutil.rmtree(out / "headers")
    shutil.rmtree(out / "build")
    return {"library": library, "harness": harness}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grid = commands.add_parser("write-grid", help="write the shared DCN grid for the harness")
    grid.add_argument("folder", type=Path)
    grid.add_argument("--case", action="append", help="only this case id (repeatable)")
    make = commands.add_parser("build", help="build the plugin library and the harness")
    make.add_argument("--headers", type=Path, required=True, help="TensorRT root with include/")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--archs", default="90", help='SASS architectures ("90": H100/H200)')
    make.add_argument("--ptx", default="", help="PTX architecture (none by default)")
    verdict = commands.add_parser(
        "check", help="decide from the harness's observations and outputs"
    )
    verdict.add_argument("--grid", type=Path, required=True)
    verdict.add_argument("--outputs", type=Path, required=True)
    verdict.add_argument("--observations", type=Path, required=True)
    verdict.add_argument("--json", type=Path, help="write the verdict as JSON")
    verdict.add_argument(
        "--require-device",
        action="store_true",
        help="fail when the harness stopped at its first CUDA call (on a GPU host)",
    )
    args = parser.parse_args(argv)
    if args.command == "write-grid":
        print(f"write-grid: {write_grid(args.folder, args.case)} entries in {args.folder}")
        return 0
    if args.command == "build":
        for name, path in build(args.headers, args.out, args.archs, args.ptx).items():
            print(f"{name}: {path}")
        return 0
    try:
        observations = json.loads(args.observations.read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(
            f"check: {args.observations}: got unreadable observations ({error}), expected the "
            "harness's JSON",
            file=sys.stderr,
        )
        return 2
    result = check(args.grid, args.outputs, observations)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if result["device"]:
        print(f"plugin harness on the device: {result['passed']} of {result['cases']} passed")
    else:
        print(
            f"plugin harness up to its first CUDA call ({result['cuda'].get('status')}): "
            f"{result['passed']} of {result['cases']} passed the steps before it; nothing ran on a GPU"
        )
    for failure in result["failed"]:
        print(f"  {failure['case']} {failure['dtype']}: {'; '.join(failure['problems'])}")
    missing_device = args.require_device and not result["device"]
    if missing_device:
        print(
            "check: --require-device: got no CUDA device in the harness, expected one",
            file=sys.stderr,
        )
    return 1 if result["failed"] or missing_device else 0


if __name__ == "__main__":
    raise SystemExit(main())
