"""Pictures people look at: class maps with a legend, confusion matrices, training curves
(matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path

# A fixed, distinguishable palette (RGB 0-255) for classes 1..K; index 0 = unlabelled (black).
_BASE_COLOURS = [
    (0, 0, 0),
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (219, 219, 141),
    (158, 218, 229),
]


def class_colours(num_classes: int) -> np.ndarray:
    """uint8 (num_classes + 1, 3): colour of label value 0..K (0 = unlabelled, black)."""
    colours = list(_BASE_COLOURS)
    rng = np.random.default_rng(7)
    while len(colours) < num_classes + 1:
        colours.append(tuple(int(v) for v in rng.integers(40, 256, 3)))
    return np.array(colours[: num_classes + 1], dtype=np.uint8)


def colourise(classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Label raster (H, W) with values 0..K -> RGB uint8 (H, W, 3)."""
    return class_colours(num_classes)[np.clip(classes, 0, num_classes)]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, dpi: int = 120, tight: bool = False) -> Path:
    """Write ``fig`` as a PNG through a temporary name (a failed write leaves nothing under the final name),
    then close it. ``tight``: crop to the drawn area (``bbox_inches="tight"``)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format="png", **({"bbox_inches": "tight"} if tight else {}))
    _pyplot().close(fig)
    return path


def save_class_map(
    classes: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    title: str = "",
    reference: np.ndarray | None = None,
    nodata_label: str | None = None,
) -> Path:
    """PNG of a class raster (H, W; 0..K) with a legend; with ``reference``, the two side by side;
    ``nodata_label`` names value 0 (black) in the legend (e.g. "no data")."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    num_classes = len(class_names)
    panels = [("prediction", classes)] + (
        [("reference (labelled pixels)", reference)] if reference is not None else []
    )
    height, width = classes.shape
    scale = 8.0 / max(height, width)
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(max(4.0, width * scale) * len(panels) + 2.5, max(3.0, height * scale) + 0.8),
        squeeze=False,
    )
    for ax, (name, raster) in zip(axes[0], panels):
        ax.imshow(colourise(raster, num_classes), interpolation="nearest")
        ax.set_title(name)
        ax.axis("off")
    colours = class_colours(num_classes) / 255.0
    handles = [
        Patch(color=colours[k], label=f"{k} {name}") for k, name in enumerate(class_names, start=1)
    ]
    if nodata_label:
        handles.append(Patch(facecolor=colours[0], edgecolor="0.5", label=f"0 {nodata_label}"))
    fig.legend(
        handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False
    )
    if title:
        fig.suptitle(title)
    path = save_figure(fig, path, tight=True)
    return path


def save_confusion_matrix(
    confusion: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """PNG of a row-normalised confusion matrix (rows = reference) with the counts written in."""
    plt = _pyplot()
    confusion = np.asarray(confusion)
    rows = confusion.sum(axis=1, keepdims=True)
    normalised = np.divide(
        confusion, rows, out=np.zeros(confusion.shape, dtype=float), where=rows > 0
    )
    size = 1.0 + 0.45 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for i in range(confusion.shape[0]):
        for j in range(confusion.shape[1]):
            if confusion[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(confusion[i, j])),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if normalised[i, j] > 0.5 else "black",
                )
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of the reference class")
    if title:
        ax.set_title(title)
    path = save_figure(fig, path, tight=True)
    return path


def save_training_curves(history: Sequence[dict], path: str | Path) -> Path:
    """PNG of loss and validation OA / mIoU against the step."""
    plt = _pyplot()
    fig, ax_loss = plt.subplots(figsize=(6, 3.5))
    steps = [h["step"] for h in history]
    ax_loss.plot(steps, [h["loss"] for h in history], "o-", color="tab:red", label="train loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    evaluated = [h for h in history if "overall_accuracy" in h]
    if evaluated:
        ax_score = ax_loss.twinx()
        ax_score.plot(
            [h["step"] for h in evaluated],
            [h["overall_accuracy"] for h in evaluated],
            "s-",
            color="tab:blue",
            label="val OA",
        )
        ax_score.plot(
            [h["step"] for h in evaluated],
            [h["mean_iou"] for h in evaluated],
            "^-",
            color="tab:green",
            label="val mIoU",
        )
        ax_score.set_ylim(0, 1)
        ax_score.set_ylabel("score")
        ax_score.legend(loc="lower right", fontsize=8)
    ax_loss.legend(loc="upper right", fontsize=8)
    path = save_figure(fig, path, tight=True)
    return path
