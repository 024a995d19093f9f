"""Show and save a :class:`~comix.profile.result.ProfileReport`: rich tables on the terminal, and a folder
with ``profile.json`` (everything, per-call samples included), ``profile.md`` (the tables) and the PNGs."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from comix.atomic import write_text_atomic
from comix.profile import plots
from comix.profile.machine import describe
from comix.profile.result import ConfigResult, ProfileReport

TOP_LAYERS = 15


def _num(value: float | None, fmt: str = ".1f", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:{fmt}}{unit}"


def latency_rows(report: ProfileReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the latency table (one row per configuration)."""
    header = [
        "tile",
        "batch",
        "threads",
        "calls",
        "mean ms",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "min ms",
        "max ms",
        "CPU p50 ms",
        "stopped by",
    ]
    rows = []
    for c in report.configs:
        lat = c.latency
        rows.append(
            [
                f"{c.tile[0]}x{c.tile[1]}",
                str(c.batch),
                str(c.threads),
                str(lat.iterations),
                _num(lat.mean_ms),
                _num(lat.p50_ms),
                _num(lat.p90_ms),
                _num(lat.p99_ms),
                _num(lat.min_ms),
                _num(lat.max_ms),
                _num(lat.cpu_p50_ms),
                c.stop_reason,
            ]
        )
    return header, rows


def throughput_rows(report: ProfileReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the throughput / memory / peak-fraction table (one row per configuration)."""
    header = [
        "tile",
        "batch",
        "threads",
        "tiles/s",
        "MP/s",
        "s/km²",
        "GMACs/tile",
        "of FP32 peak (nominal / GEMM)",
        "peak RSS MiB (growth)",
        "device MiB",
        "W",
        "J/tile",
    ]
    rows = []
    for c in report.configs:
        thr, mem = c.throughput, c.memory
        rows.append(
            [
                f"{c.tile[0]}x{c.tile[1]}",
                str(c.batch),
                str(c.threads),
                _num(thr.tiles_per_second, ".2f"),
                _num(thr.megapixels_per_second, ".3f"),
                _num(thr.seconds_per_km2, ".2f"),
                _num(c.macs_per_tile and c.macs_per_tile / 1e9, ".3f"),
                f"{_num(c.fraction_of_nominal_peak and 100 * c.fraction_of_nominal_peak, '.1f', ' %')} / "
                f"{_num(c.fraction_of_measured_gemm and 100 * c.fraction_of_measured_gemm, '.1f', ' %')}",
                f"{mem.host_peak_mib:.0f} ({mem.host_growth_mib:+.0f})" if mem else "—",
                _num(mem.device_peak_mib if mem else None, ".0f"),
                _num(c.power_watts, ".2f"),
                _num(c.energy_joules_per_tile, ".3f"),
            ]
        )
    return header, rows


def part_rows(config: ConfigResult) -> list[list[str]]:
    total = sum(config.parts_ms.values()) or 1.0
    return [
        [part, f"{ms:.2f}", f"{100 * ms / total:.1f} %"] for part, ms in config.parts_ms.items()
    ]


def layer_rows(config: ConfigResult, count: int = TOP_LAYERS) -> list[list[str]]:
    from comix.profile.parts import part_of

    total = sum(layer.milliseconds for layer in config.layers or []) or 1.0
    return [
        [
            layer.name,
            layer.kind,
            part_of(layer.name, layer.kind),
            f"{layer.milliseconds:.2f}",
            f"{100 * layer.milliseconds / total:.1f} %",
        ]
        for layer in (config.layers or [])[:count]
    ]


def _rich(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def print_report(report: ProfileReport, console: Console, layers: int = TOP_LAYERS) -> None:
    console.print(
        f"[bold]{report.model}[/] — {report.backend} backend, {report.graph_kind or 'checkpoint'} "
        f"({report.model_name})",
        highlight=False,
    )
    console.print(f"machine: {describe(report.machine)}", highlight=False)
    console.print(_rich("latency per call", *latency_rows(report)))
    console.print(_rich("throughput (from the median), work and memory", *throughput_rows(report)))
    for config in report.configs:
        if config.parts_ms:
            console.print(
                _rich(
                    f"{config.label}: time per model part ({config.breakdown_note})",
                    ["part", "ms", "share"],
                    part_rows(config),
                )
            )
            console.print(
                _rich(
                    f"{config.label}: the {layers} slowest layers",
                    ["layer", "op", "part", "ms", "share"],
                    layer_rows(config, layers),
                )
            )
        elif config.breakdown_note:
            console.print(
                f"{config.label}: no breakdown ({config.breakdown_note})", highlight=False
            )
    if report.scene is not None:
        console.print(scene_line(report), highlight=False)


def scene_line(report: ProfileReport) -> str:
    s = report.scene
    area = (
        f", {s.km2:.3f} km² at {s.gsd_m:g} m GSD: {s.seconds_per_km2:.2f} s/km²"
        if s.km2
        else " (GSD unknown)"
    )
    return (
        f"whole scene {s.path}: {s.height}x{s.width} px, {s.tiles} tiles of {s.tile[0]}x{s.tile[1]} "
        f"(overlap {s.overlap}, batch {s.batch}) in {s.seconds:.2f} s{area}"
    )


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows],
    ]


def markdown(report: ProfileReport, heading: str = "#", layers: int = TOP_LAYERS) -> str:
    """The tables as Markdown (``profile.md``; the demo's report embeds it one level down)."""
    peak = report.peak
    lines = [
        f"{heading} Profile of `{report.model}`",
        "",
        f"{report.backend} backend, {report.graph_kind or 'checkpoint'} ({report.model_name}); "
        f"{report.tool}, {report.created}.",
        "",
        f"Machine: {describe(report.machine)}.",
        "",
        f"FP32 peak of one core: {peak.sentence()}. The fraction of peak is "
        "2 x counted MACs per tile / median latency per tile / (threads x peak).",
        "",
        "Latency per call:",
        "",
        *_markdown_table(*latency_rows(report)),
        "",
        "Throughput (from the median latency), work and memory:",
        "",
        *_markdown_table(*throughput_rows(report)),
        "",
    ]
    for config in report.configs:
        if config.parts_ms:
            lines += [
                f"{heading}# {config.label}: time per model part",
                "",
                f"{config.breakdown_note}.",
                "",
                *_markdown_table(["part", "ms", "share"], part_rows(config)),
                "",
                f"Slowest {layers} layers:",
                "",
                *_markdown_table(
                    ["layer", "op", "part", "ms", "share"], layer_rows(config, layers)
                ),
                "",
            ]
    if report.scene is not None:
        lines += [scene_line(report) + ".", ""]
    return "\n".join(lines)


def write_report(report: ProfileReport, folder: str | Path) -> dict[str, Path]:
    """Write ``profile.json``, ``profile.md`` and the plots into ``folder`` (which must exist); the plots
    need matplotlib (the full install) and are left out without it."""
    folder = Path(folder)
    written = {"json": folder / "profile.json", "markdown": folder / "profile.md"}
    write_text_atomic(written["json"], report.to_json())
    write_text_atomic(written["markdown"], markdown(report) + "\n")
    if importlib.util.find_spec("matplotlib") is None:
        return written
    written["histogram"] = plots.latency_histogram(report, folder / "latency_histogram.png")
    for key, drawn in (
        ("parts", plots.part_bars(report, folder / "parts.png")),
        ("sweep", plots.sweep_curves(report, folder / "sweep.png")),
    ):
        if drawn is not None:
            written[key] = drawn
    return written
