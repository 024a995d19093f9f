"""Results of ``tools/check_scene_inference.py`` for people: the machine, one rich table of every check,
and the |tiled - full pass| logit maps of the seam check as a PNG."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

MIB = 1024 * 1024


def machine_info(threads: int) -> dict:
    """CPU model, logical cores, the threads used, library versions."""
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "threads": threads or "library default",
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }


def print_report(report: dict) -> None:
    """All results as one rich table (section, check, value, expected)."""
    from rich.console import Console
    from rich.table import Table

    m, s = report["machine"], report["settings"]
    table = Table(
        title=f"Scene-scale checks: {s['height']}x{s['width']} x {s['bands']} bands + DSM, "
        f"{s['graph']} graph, tile {s['tile']}, overlap {s['overlap']}, batch {s['batch']} | "
        f"{m['cpu']}, {m['logical_cores']} logical cores, {m['threads']} thread(s), "
        f"torch {m['torch']}, "
        f"onnxruntime {m['onnxruntime']}"
    )
    for column in ("check", "measured", "expected"):
        table.add_column(column)
    if "export_seconds" in report:
        table.add_row("export (dynamic, validated)", f"{report['export_seconds']:.0f} s", "")
    a = report.get("backends")
    if a:
        table.add_row(
            f"(a) ORT vs PyTorch, {a['tiles']} tiles: pixels with different class",
            f"{a['differing_pixels']} of {a['pixels']}",
            "0",
        )
        table.add_row(
            "(a) ORT vs PyTorch: max abs logit difference",
            f"{a['max_abs_logit_diff']:.2e}",
            "<= 1e-4",
        )
        table.add_row(
            "(a) seconds ORT / PyTorch",
            f"{a['onnxruntime_seconds']:.1f} / {a['torch_seconds']:.1f}",
            "",
        )
    b = report.get("seams")
    if b:
        band = s["band_px"]
        for overlap, st in b["overlaps"].items():
            label = f"(b) {b['height']}x{b['width']} tiled (overlap {overlap}, {st['tiles']} tiles) vs one full pass"
            table.add_row(
                f"{label}: class agreement all",
                f"{st['all']['agreement']:.2%}",
                "< 100 % (FFM global context)",
            )
            table.add_row(
                f"    within +-{band} px of tile borders / elsewhere",
                f"{st['border_band']['agreement']:.2%} / {st['elsewhere']['agreement']:.2%}",
                "border ~ elsewhere (no seams)" if int(overlap) else "(no blending: for contrast)",
            )
            table.add_row(
                "    mean |dlogit| border / elsewhere",
                f"{st['border_band']['mean_logit_diff']:.3f} / {st['elsewhere']['mean_logit_diff']:.3f}",
                "",
            )
        first = next(iter(b["overlaps"].values()))
        table.add_row(
            "(b) full pass: classes predicted / largest class share / median top-2 logit margin",
            f"{first['classes_predicted']} / {first['largest_class_fraction']:.0%} / "
            f"{first['median_top2_margin']:.3f}",
            "",
        )
        if b.get("png"):
            table.add_row("(b) |tiled - full| map", b["png"], "look for lines at tile borders")
    for row in report.get("memory", []):
        table.add_row(
            f"(c) {row['height']}x{row['width']} ({row['tiles']} tiles): peak RSS (VmHWM) - inputs - outputs",
            f"{row['working_set'] / MIB:.1f} MiB (peak {row['peak_rss'] / MIB:.0f}, "
            f"in {row['input_bytes'] / MIB:.0f}, out {row['output_bytes'] / MIB:.0f})",
            "about equal for every width",
        )
    Console(width=220).print(table)


def save_seam_png(maps: dict, stats: dict, tile: int, band: int, path: Path) -> Path:
    """One panel per overlap: (H, W) max |tiled - full| logit map on a shared colour scale, interior tile
    borders marked as ticks on the axes only (the map itself is left unmarked so seams show on their own)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from comix.atomic import atomic_path

    overlaps = list(maps)
    height, width = next(iter(maps.values())).shape
    vmax = float(max(np.percentile(m, 99.5) for m in maps.values())) or 1.0
    panel_width = min(14.0, max(6.0, width / 40))
    fig, axes = plt.subplots(
        len(overlaps),
        1,
        squeeze=False,
        layout="constrained",
        figsize=(panel_width + 1.5, len(overlaps) * (1.2 + panel_width * height / width)),
    )
    for axis, overlap in zip(axes[:, 0], overlaps):
        image = axis.imshow(maps[overlap], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        st = stats[overlap]
        axis.set_xticks(st["border_cols"])
        axis.set_yticks(st["border_rows"])
        axis.tick_params(labelsize=6, length=6, colors="tab:blue")
        axis.set_title(
            f"max over classes |tiled - full pass| logits: tile {tile}, overlap {overlap} "
            f"({'blended' if overlap else 'no blending'}), ticks = tile borders\nclass agreement "
            f"within +-{band} px of borders {st['border_band']['agreement']:.2%}, elsewhere "
            f"{st['elsewhere']['agreement']:.2%}",
            fontsize=8,
        )
        fig.colorbar(image, ax=axis, fraction=0.02, pad=0.01)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
