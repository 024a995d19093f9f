"""Write the products of a whole-scene fusion run, all or nothing (the image counterpart of
:mod:`comix.runtime.outputs`).

From ``-o fused.tif``: ``fused.tif`` (float32 GeoTIFF, C bands, the input's georeference when known),
``fused.png`` (an 8-bit quick-look: RGB of three chosen bands, or gray, 2-98 % stretch) and ``fused.json``
(summary: size, timing, settings, band statistics). ``-o fused.npy`` writes the ``.npy`` instead of the
GeoTIFF. Every file is written under a temporary name and renamed only when all are written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from comix.atomic import check_parent
from comix.runtime.errors import RuntimeInputError
from comix.runtime.outputs import StagedFiles
from comix.runtime.sliding_window import SceneResult

IMAGE_SUFFIXES = (".tif", ".tiff", ".npy")


def image_output_paths(output: str | os.PathLike) -> dict[str, Path]:
    """Final path of each product; raises a clear error for a missing folder or an unknown suffix."""
    output = Path(output)
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        raise RuntimeInputError(
            f"output {output}: got suffix {output.suffix!r}, expected one of {list(IMAGE_SUFFIXES)}"
        )
    try:
        check_parent(output)
    except FileNotFoundError as error:
        raise RuntimeInputError(str(error)) from None
    stem = output.with_suffix("")
    key = "image_npy" if output.suffix.lower() == ".npy" else "image_tif"
    return {key: output, "png": stem.with_suffix(".png"), "summary": stem.with_suffix(".json")}


def quicklook(image: np.ndarray, rgb_bands: tuple[int, int, int] | None) -> np.ndarray:
    """uint8 (H, W, 3) or (H, W) picture of a (C, H, W) image: chosen bands, 2-98 % stretch per band."""
    bands = image[list(rgb_bands)] if rgb_bands is not None and image.shape[0] >= 3 else image[:1]
    low = np.percentile(bands, 2, axis=(1, 2), keepdims=True)
    high = np.percentile(bands, 98, axis=(1, 2), keepdims=True)
    stretched = np.clip((bands - low) / np.maximum(high - low, 1e-12), 0.0, 1.0)
    picture = np.rint(stretched * 255).astype(np.uint8)
    return picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0)


def write_image_products(
    result: SceneResult,
    output: str | os.PathLike,
    georef=None,
    summary: dict | None = None,
    data_range: float = 1.0,
    rgb_bands: tuple[int, int, int] | None = None,
) -> dict[str, Path]:
    """Write every product (module doc) all-or-nothing; returns the final paths."""
    from PIL import Image

    paths = image_output_paths(output)
    image = result.logits
    staged = StagedFiles()
    with staged.all_or_nothing():
        if "image_npy" in paths:
            with open(staged.temp_for(paths["image_npy"]), "wb") as handle:
                np.save(handle, image)
        else:
            from comix.data.geotiff_io import write_geotiff

            write_geotiff(
                staged.temp_for(paths["image_tif"]), image.astype(np.float32), georef=georef
            )
        Image.fromarray(quicklook(image, rgb_bands)).save(
            staged.temp_for(paths["png"]), format="PNG"
        )
        document = dict(summary or {})
        document.update(
            {
                "scene": {
                    "bands": int(image.shape[0]),
                    "height": int(image.shape[1]),
                    "width": int(image.shape[2]),
                },
                "data_range": data_range,
                "bands": [
                    {
                        "band": b,
                        "min": float(image[b].min()),
                        "max": float(image[b].max()),
                        "mean": float(image[b].mean()),
                    }
                    for b in range(image.shape[0])
                ],
                "crs": getattr(georef, "crs", None),
                "tiles": result.tiles,
                "batches": result.batches,
                "timing": {
                    "inference_seconds": result.seconds,
                    "backend_seconds": result.backend_seconds,
                    **result.timing,
                },
                "outputs": {key: str(path) for key, path in paths.items()},
            }
        )
        staged.temp_for(paths["summary"]).write_text(json.dumps(document, indent=2))
    return paths
