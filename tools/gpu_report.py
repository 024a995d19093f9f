"""The report of tools/gpu_check.sh: one JSON document and one markdown file from its scratch folder.

    python tools/gpu_report.py WORK OUT --mode gpu|dry --bundle DIR --seconds S

Reads ``WORK/steps/<step>.{rc,seconds,log,note}`` (what each step returned, how long it took, its log
and remarks) and the artifacts the steps wrote: ``pytest.xml`` (JUnit), ``harness_verdict.json``,
``memcheck.json`` + the memcheck step's log (compute-sanitizer's ERROR SUMMARY), ``bench.json``,
``runtime.json``, and the bundle's ``manifest.json``. Writes ``OUT/gpu_check.json`` (everything, with
the machine) and ``OUT/gpu_check.md`` (the steps table, then the runtime and benchmark tables). Exit 0
when every step passed (exit code 0), 1 otherwise; a dry run says so in both files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

STEPS = ("preflight", "site", "extension", "gpu_tests", "harness", "memcheck", "bench", "runtime")
TIMED_OUT = (124, 137)


def _read(path: Path, default: str = "") -> str:
    return path.read_text(errors="replace").strip() if path.is_file() else default


def _json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def step_result(work: Path, name: str) -> dict:
    """rc, status, seconds, notes and the log's last lines of one step."""
    folder = work / "steps"
    rc_text = _read(folder / f"{name}.rc")
    rc = int(rc_text) if rc_text.lstrip("-").isdigit() else None
    notes = [line for line in _read(folder / f"{name}.note").splitlines() if line]
    status = (
        "not run"
        if rc is None
        else "passed"
        if rc == 0
        else "timed out"
        if rc in TIMED_OUT
        else "failed"
    )
    if status == "passed" and any(n.startswith("skipped") for n in notes):
        status = "skipped"
    log = _read(folder / f"{name}.log").splitlines()
    return {
        "name": name,
        "rc": rc,
        "status": status,
        "seconds": int(_read(folder / f"{name}.seconds", "0") or 0),
        "notes": notes,
        "log_tail": log[-15:],
    }


def pytest_summary(path: Path) -> dict | None:
    """Counts of the JUnit file (tests, failures, errors, skipped) and the failed test names."""
    if not path.is_file():
        return None
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {
        k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")
    }
    failed = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return {**counts, "failed": failed[:30]}


def collected(work: Path) -> int | None:
    """Tests pytest collected in a dry run (its "N/M tests collected" line)."""
    match = re.search(r"(\d+)(?:/\d+)? tests? collected", _read(work / "steps" / "gpu_tests.log"))
    return int(match.group(1)) if match else None


def memcheck_summary(work: Path) -> dict | None:
    """compute-sanitizer's ERROR SUMMARY line (0 errors = clean) from the memcheck step's log."""
    log = _read(work / "steps" / "memcheck.log")
    match = re.search(r"ERROR SUMMARY: (\d+) error", log)
    return {"errors": int(match.group(1))} if match else None


def _machine() -> dict:
    machine = {"host": platform.node(), "python": platform.python_version()}
    try:
        smi = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,driver_version,memory.total,compute_cap",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        machine["gpu"] = smi.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        machine["gpu"] = None
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read(Path("/proc/cpuinfo")).splitlines()
            if line.startswith("model name")
        ),
        None,
    )
    machine["cpu"] = cpu
    machine["load_average"] = _read(Path("/proc/loadavg"))
    return machine


def collect(work: Path, mode: str, bundle: Path, seconds: int) -> dict:
    steps = [step_result(work, name) for name in STEPS]
    manifest = _json(bundle / "manifest.json") or {}
    return {
        "kind": "comix.gpu_check",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "dry_run": mode != "gpu",
        "seconds": seconds,
        "machine": _machine(),
        "bundle": {k: manifest.get(k) for k in ("created", "git", "dry_run", "bytes", "parts")},
        "passed": all(s["status"] in ("passed", "skipped") for s in steps),
        "steps": steps,
        "gpu_tests": pytest_summary(work / "pytest.xml") if mode == "gpu" else None,
        "gpu_tests_collected": collected(work) if mode != "gpu" else None,
        "harness": _json(work / "harness_verdict.json"),
        "memcheck": memcheck_summary(work),
        "bench": _json(work / "bench.json"),
        "runtime": _json(work / "runtime.json"),
    }


def _result_text(report: dict, step: dict) -> str:
    name = step["name"]
    if name == "gpu_tests" and report["gpu_tests_collected"] is not None:
        return f"{report['gpu_tests_collected']} GPU tests collected (not run: dry run)"
    if name == "gpu_tests" and report["gpu_tests"]:
        t = report["gpu_tests"]
        return f"{t['tests']} ran, {t['failures']} failed, {t['errors']} errors, {t['skipped']} skipped"
    if name == "harness" and report["harness"]:
        h = report["harness"]
        where = "on the GPU" if h["device"] else "up to the first CUDA call"
        return f"{h['passed']} of {h['cases']} case/dtype pairs passed {where}"
    if name == "memcheck" and report["memcheck"]:
        return f"compute-sanitizer memcheck: {report['memcheck']['errors']} errors"
    if name == "bench" and report["bench"]:
        rows = report["bench"]["rows"]
        timed = sum(r["median_ms"] is not None for r in rows)
        return (
            f"{timed} of {len(rows)} rows timed; targets: "
            + ", ".join(
                f"{k} {'met' if v['met'] else 'NOT met'}"
                for k, v in report["bench"]["targets"].items()
            )
            if timed
            else f"{len(rows)} rows planned"
        )
    if name == "runtime" and report["runtime"]:
        rows = [r for r in report["runtime"]["rows"] if "same_class" in r]
        return "; ".join(
            f"{r['backend']}: {r['same_class']:.4%} same class, max abs Δlogit "
            f"{r['max_abs_logit_diff']:.3g}"
            for r in rows
        )
    return "; ".join(step["notes"]) or (step["log_tail"][-1] if step["log_tail"] else "")


def markdown(report: dict) -> str:
    machine = report["machine"]
    title = "GPU check — DRY RUN (no GPU call was made)" if report["dry_run"] else "GPU check"
    lines = [
        f"# {title}",
        "",
        f"{report['created']}; GPU: {machine.get('gpu') or 'none'}; CPU: {machine.get('cpu')}; "
        f"load {machine.get('load_average')}; bundle {report['bundle'].get('git')} "
        f"({'dry-run stand-in model' if report['bundle'].get('dry_run') else 'trained comix_t'}); "
        f"{report['seconds']} s in all; **{'passed' if report['passed'] else 'FAILED'}**",
        "",
        "| step | status | seconds | result |",
        "|---|---|---|---|",
    ]
    for step in report["steps"]:
        text = _result_text(report, step).replace("|", "/")
        lines.append(f"| {step['name']} | {step['status']} | {step['seconds']} | {text} |")
    if report["runtime"]:
        lines += [
            "",
            "| backend | TF32 | seconds | same class as ONNX Runtime | max abs Δlogit |",
            "|---|---|---|---|---|",
        ]
        for row in report["runtime"]["rows"]:
            if "same_class" in row:
                lines.append(
                    f"| {row['backend']} | {row['tf32']} | {row['seconds']:.2f} | "
                    f"{row['same_class']:.4%} | {row['max_abs_logit_diff']:.3g} |"
                )
            else:
                lines.append(f"| {row['backend']} | {row['tf32']} | - | {row.get('not_run')} | - |")
    bench = report["bench"]
    if bench and any(r["median_ms"] is not None for r in bench["rows"]):
        lines += [
            "",
            "| shape | dtype | method | TF32 | median ms | GB/s | TFLOP/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in bench["rows"]:
            lines.append(
                f"| {r['shape']} | {r['dtype']} | {r['method']} | {r['tf32']} | "
                f"{r['median_ms']:.4f} | {r['gbps']:.1f} | {r['tflops']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", choices=("gpu", "dry"), required=True)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.work / "steps").is_dir():
        parser.error(f"{args.work}: got no steps/ folder, expected gpu_check.sh's scratch folder")
    report = collect(args.work, args.mode, args.bundle, args.seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (args.out / "gpu_check.md").write_text(text)
    print(text, end="")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
