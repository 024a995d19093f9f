"""Profile pictures (matplotlib, Agg, written atomically): latency histogram, time per model part, sweep
curves. Each function takes a :class:`~comix.profile.result.ProfileReport` and a PNG path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comix.profile.machine import describe
from comix.profile.result import ProfileReport
from comix.viz import save_figure

MAX_SERIES = 8  # more configurations than this are drawn only in the sweep plot


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(report: ProfileReport, what: str) -> str:
    return (
        f"{report.model_name or Path(report.model).name} "
        f"({report.backend}, {report.graph_kind or 'checkpoint'}): {what}\n"
        f"{describe(report.machine)}"
    )


def latency_histogram(report: ProfileReport, path: str | Path) -> Path:
    """Per configuration a step histogram of per-call latency, with its median (dashed) and p99 (dotted)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    configs = report.configs[:MAX_SERIES]
    every = np.concatenate([c.latency.samples_ms for c in configs])
    bins = np.linspace(every.min(), every.max(), 40) if every.max() > every.min() else 10
    for index, config in enumerate(configs):
        colour = f"C{index}"
        ax.hist(
            config.latency.samples_ms,
            bins=bins,
            histtype="step",
            linewidth=1.5,
            color=colour,
            label=f"{config.label}: p50 {config.latency.p50_ms:.1f} ms, p99 {config.latency.p99_ms:.1f} ms "
            f"(n={config.latency.iterations})",
        )
        ax.axvline(config.latency.p50_ms, color=colour, linestyle="--", linewidth=1)
        ax.axvline(config.latency.p99_ms, color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel("latency per call (ms)")
    ax.set_ylabel("calls")
    ax.set_title(_title(report, "latency per call"), fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, path, tight=True)


def part_bars(report: ProfileReport, path: str | Path) -> Path | None:
    """Horizontal bars: milliseconds per model part, one bar per configuration; None without a breakdown."""
    configs = [c for c in report.configs if c.parts_ms][:MAX_SERIES]
    if not configs:
        return None
    plt = _pyplot()
    parts = list(dict.fromkeys(part for c in configs for part in c.parts_ms))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(parts) * max(1, len(configs) / 2) + 1.5))
    height = 0.8 / len(configs)
    y = np.arange(len(parts))
    for index, config in enumerate(configs):
        values = [config.parts_ms.get(part, 0.0) for part in parts]
        total = sum(config.parts_ms.values())
        ax.barh(
            y + index * height,
            values,
            height=height,
            color=f"C{index}",
            label=f"{config.label} (sum {total:.1f} ms)",
        )
        for yi, value in zip(y + index * height, values):
            if value > 0:
                ax.text(value, yi, f" {value:.1f} ({value / total:.0%})", va="center", fontsize=7)
    ax.set_yticks(y + height * (len(configs) - 1) / 2)
    ax.set_yticklabels(parts, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per call (profiled)")
    ax.set_title(_title(report, "where the time goes"), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path, tight=True)


def sweep_curves(report: ProfileReport, path: str | Path) -> Path | None:
    """Median latency per tile and megapixels/s against each swept quantity (tile pixels, batch, threads);
    None when a single configuration was measured."""
    configs = report.configs
    quantities = {
        "tile": (lambda c: c.tile[0] * c.tile[1], lambda c: f"{c.tile[0]}x{c.tile[1]}"),
        "batch": (lambda c: c.batch, lambda c: str(c.batch)),
        "threads": (lambda c: c.threads, lambda c: str(c.threads)),
    }
    swept = [name for name, (key, _) in quantities.items() if len({key(c) for c in configs}) > 1]
    if not swept:
        return None
    plt = _pyplot()
    fig, grid = plt.subplots(2, len(swept), figsize=(4.5 * len(swept), 6.5), squeeze=False)
    for column, name in enumerate(swept):
        key = quantities[name][0]
        lines: dict[str, list] = {}  # one line per value of the other quantities
        for c in configs:
            rest = ", ".join(
                f"{other} {show(c)}" for other, (_, show) in quantities.items() if other != name
            )
            lines.setdefault(rest, []).append(c)
        for index, (rest, series) in enumerate(lines.items()):
            series.sort(key=key)
            xs = [key(c) for c in series]
            colour = f"C{index % 10}"
            grid[0][column].plot(
                xs, [c.latency.p50_ms / c.batch for c in series], "o-", color=colour, label=rest
            )
            grid[1][column].plot(
                xs,
                [c.throughput.megapixels_per_second for c in series],
                "o-",
                color=colour,
                label=rest,
            )
        grid[0][column].set_ylabel("median ms per tile")
        grid[1][column].set_ylabel("megapixels / s")
        for row in (0, 1):
            grid[row][column].set_xlabel("tile pixels (H x W)" if name == "tile" else name)
            grid[row][column].grid(alpha=0.3)
        grid[0][column].legend(fontsize=6)
    fig.suptitle(_title(report, "sweep"), fontsize=9)
    return save_figure(fig, path, tight=True)
