"""Write the products of a whole-scene run, all or nothing.

From ``-o seg.tif``: ``seg.tif`` (class raster, label values 1..K, uint8, GeoTIFF with the input's
georeference/CRS when known), ``seg.npy`` (same raster), ``seg.png`` (colours + legend),
``seg.json`` (summary: class areas, timing, settings) and, when asked, ``seg.probabilities.tif``
(float32 (K, H, W) softmax). ``-o seg.npy`` writes the .npy instead of the GeoTIFF.

Every file is written under a temporary name first; only when all are written are they renamed onto
their final names, so a failure leaves none of them (and no temp files) behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from comix.atomic import check_parent
from comix.runtime.errors import RuntimeInputError
from comix.runtime.sliding_window import SceneResult

RASTER_SUFFIXES = (".tif", ".tiff", ".npy")


def output_paths(output: str | os.PathLike, probabilities: bool) -> dict[str, Path]:
    """Final path of each product; raises a clear error for a missing folder or an unknown suffix."""
    output = Path(output)
    if output.suffix.lower() not in RASTER_SUFFIXES:
        raise RuntimeInputError(f"output {output}: got suffix {output.suffix!r}, "
                                f"expected one of {list(RASTER_SUFFIXES)}")
    try:
        check_parent(output)
    except FileNotFoundError as error:
        raise RuntimeInputError(str(error)) from None
    stem = output.with_suffix("")
    paths = {"classes_npy": stem.with_suffix(".npy"), "png": stem.with_suffix(".png"),
             "summary": stem.with_suffix(".json")}
    if output.suffix.lower() != ".npy":
        paths["classes_tif"] = output
    if probabilities:
        paths["probabilities"] = Path(f"{stem}.probabilities{'.npy' if output.suffix.lower() == '.npy' else '.tif'}")
    return paths


class StagedFiles:
    """Temp files beside their final names; ``commit()`` renames them all, ``discard()`` removes them."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []

    def temp_for(self, final: Path) -> Path:
        handle, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=final.parent)
        os.close(handle)
        self.staged.append((Path(name), final))
        return Path(name)

    def commit(self) -> None:
        for temp, final in self.staged:
            os.replace(temp, final)
        self.staged.clear()

    def discard(self) -> None:
        for temp, _ in self.staged:
            temp.unlink(missing_ok=True)
        self.staged.clear()


def class_areas(classes: np.ndarray, class_names: Sequence[str], pixel_area: float | None) -> list[dict]:
    """Per class: label value, name, pixel count, fraction of the scene, area in map units^2 if known."""
    counts = np.bincount(classes.ravel(), minlength=len(class_names) + 1)
    total = max(int(classes.size), 1)
    rows = []
    for label, name in enumerate(class_names, start=1):
        row = {"label": label, "name": name, "pixels": int(counts[label]), "fraction": int(counts[label]) / total}
        if pixel_area is not None:
            row["area_map_units2"] = int(counts[label]) * pixel_area
        rows.append(row)
    return rows


def _write_geotiff(path: Path, array: np.ndarray, georef) -> None:
    from comix.data.geotiff_io import write_geotiff

    write_geotiff(path, array, georef=georef)


def write_products(result: SceneResult, output: str | os.PathLike, class_names: Sequence[str], georef=None,
                   probabilities: bool = False, summary: dict | None = None) -> dict[str, Path]:
    """Write every product (see module doc) all-or-nothing; returns the final paths."""
    paths = output_paths(output, probabilities)
    classes = result.classes
    num_classes = result.logits.shape[0]
    names = list(class_names) if len(class_names) == num_classes else [f"class_{k}" for k in range(1, num_classes + 1)]
    staged = StagedFiles()
    try:
        with open(staged.temp_for(paths["classes_npy"]), "wb") as handle:
            np.save(handle, classes)
        if "classes_tif" in paths:
            _write_geotiff(staged.temp_for(paths["classes_tif"]), classes, georef)
        if "probabilities" in paths:
            temp = staged.temp_for(paths["probabilities"])
            probs = result.probabilities()
            if temp.suffix == ".npy":
                with open(temp, "wb") as handle:
                    np.save(handle, probs)
            else:
                _write_geotiff(temp, probs, georef)
        from comix.viz import save_class_map

        save_class_map(classes, names, staged.temp_for(paths["png"]), title=Path(output).stem)
        pixel_area = None
        if georef is not None:
            width, height = georef.pixel_size
            pixel_area = width * height
        document = dict(summary or {})
        document.update({
            "scene": {"height": int(classes.shape[0]), "width": int(classes.shape[1])},
            "classes": class_areas(classes, names, pixel_area),
            "crs": getattr(georef, "crs", None),
            "tiles": result.tiles, "batches": result.batches,
            "timing": {"inference_seconds": result.seconds, "backend_seconds": result.backend_seconds,
                       **result.timing},
            "outputs": {key: str(path) for key, path in paths.items()},
        })
        staged.temp_for(paths["summary"]).write_text(json.dumps(document, indent=2))
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    return paths
