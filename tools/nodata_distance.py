"""How far a nodata hole reaches: classes that change, by distance from the hole, with a trained model.

    python tools/nodata_distance.py --model runs/demo/model.onnx --scene runs/demo/scene/dataset.yaml \
        --threads 1 --output docs/nodata_distance.json --png docs/nodata_distance.png

The issue's case, on crops of the scene: a 90 x 150 crop gets a 15 x 20 hole in its middle, written by
rasterio as (1) a NaN hole in a GeoTIFF, (2) -9999 with the GeoTIFF nodata tag, (3) -9999 in an ENVI file
with ``data ignore value = -9999`` (the X raster stays whole). Each is segmented by ``comix infer``'s code
path (:func:`comix.runtime.segment.segment_source`, default tile/overlap, every product written) and
compared with the crop without the hole. Also measured, on the same crops:

* the ``mean`` fill instead of the default ``nearest``;
* two *real* contents of the hole (the crop's own pixels 40 columns away, and the crop's pixels mirrored
  across the hole): scenes with no nodata at all that equal the nodata scene outside the hole. A pixel whose
  class differs between such scenes cannot get "the class without the region" from any method that sees
  only the nodata scene: the rule is unattainable there (it would have to give two classes at once);
* a wider piece of the scene (``--wide``, 349 x 640 by default, tiles of 128): pixels whose every covering
  tile is clear of the hole, which must be bit-for-bit unchanged.

Checks printed and stored: the hole is nodata in every product (class raster and ``.npy`` 0, probabilities
NaN, JSON nodata count), the three encodings give identical products, and no nodata value reaches the
model. Prints tables; writes JSON and a PNG of the changed fraction by distance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

CROP = (90, 150)
HOLE = (15, 20)
BINS = [
    (10, 20),
    (20, 40),
    (40, 80),
    (80, 10_000),
]  # distance from the hole, px (Euclidean), [lo, hi)
NODATA = -9999.0


def distance_from(hole: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.distance_transform_edt(~hole)


def changed_by_distance(classes: np.ndarray, reference: np.ndarray, distance: np.ndarray) -> dict:
    """Changed pixels / pixels per distance bin (and ">= 10" overall)."""
    out = {}
    for lo, hi in [*BINS, (10, 10_000)]:
        ring = (distance >= lo) & (distance < hi)
        key = f">={lo}" if hi == 10_000 else f"{lo}-{hi - 1}"
        out[key] = [int((classes[ring] != reference[ring]).sum()), int(ring.sum())]
    return out


def add_counts(total: dict, counts: dict) -> None:
    for key, (changed, pixels) in counts.items():
        old = total.setdefault(key, [0, 0])
        old[0] += changed
        old[1] += pixels


def write_inputs(
    folder: Path, hsi: np.ndarray, x: np.ndarray, hole: np.ndarray, georef
) -> dict[str, Path]:
    """The crop's X raster and its HSI cube clean and with the hole in each encoding; returns the paths."""
    import rasterio

    from comix.data.envi_io import write_envi

    profile = {
        "driver": "GTiff",
        "height": hsi.shape[1],
        "width": hsi.shape[2],
        "dtype": "float32",
        "crs": georef.crs,
        "transform": rasterio.Affine(*georef.transform[:6]),
    }
    paths = {}

    def tif(name: str, array: np.ndarray, nodata=None) -> Path:
        path = folder / f"{name}.tif"
        with rasterio.open(path, "w", count=array.shape[0], nodata=nodata, **profile) as dataset:
            dataset.write(array)
        return path

    paths["x"] = tif("x", x)
    paths["clean"] = tif("hsi_clean", hsi)
    holed = hsi.copy()
    holed[:, hole] = np.nan
    paths["nan"] = tif("hsi_nan", holed)
    holed[:, hole] = NODATA
    paths["geotiff -9999"] = tif("hsi_9999", holed, nodata=NODATA)
    write_envi(folder / "hsi_envi.img", holed, ignore_value=NODATA)
    paths["envi ignore"] = folder / "hsi_envi.img"
    return paths


def check_products(run, hole: np.ndarray) -> list[str]:
    """Problems with the hole in the products written (empty: nodata everywhere it should be)."""
    import rasterio

    problems = []
    with rasterio.open(run.paths["classes_tif"]) as dataset:
        if dataset.nodata != 0 or (dataset.read(1)[hole] != 0).any():
            problems.append("class GeoTIFF")
    if (np.load(run.paths["classes_npy"])[hole] != 0).any():
        problems.append("class .npy")
    with rasterio.open(run.paths["probabilities"]) as dataset:
        if not np.isnan(dataset.read()[:, hole]).all():
            problems.append("probabilities")
    if json.loads(Path(run.paths["summary"]).read_text())["nodata_pixels"] != int(hole.sum()):
        problems.append("summary count")
    return problems


class Watch:
    """A backend wrapper that records whether any non-finite or nodata value reached the model."""

    def __init__(self, backend) -> None:
        self.backend, self.bad = backend, 0

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def run(self, hsi, x):
        self.bad += int((~np.isfinite(hsi)).sum() + (hsi == NODATA).sum() + (~np.isfinite(x)).sum())
        return self.backend.run(hsi, x)


def crops_of(height: int, width: int, count: int) -> list[tuple[int, int]]:
    rows = [max(0, (height - CROP[0]) // 4), max(0, 3 * (height - CROP[0]) // 4)]
    cols = np.linspace(0, width - CROP[1], count).astype(int)
    return [(rows[i % 2], int(c)) for i, c in enumerate(cols)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("runs/demo/model.onnx"))
    parser.add_argument("--scene", type=Path, default=Path("runs/demo/scene/dataset.yaml"))
    parser.add_argument("--crops", type=int, default=8)
    parser.add_argument(
        "--wide", type=int, default=640, help="width of the wide check (0: skip it)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=Path("nodata_distance.json"))
    parser.add_argument("--png", type=Path, default=Path("nodata_distance.png"))
    args = parser.parse_args(argv)

    from comix.data.loader import load_scene
    from comix.runtime.segment import open_backend, open_scene, segment_scene, segment_source

    scene = load_scene(args.scene)
    backend = Watch(open_backend(args.model, threads=args.threads))
    hole = np.zeros(CROP, bool)
    top, left = (CROP[0] - HOLE[0]) // 2, (CROP[1] - HOLE[1]) // 2
    hole[top : top + HOLE[0], left : left + HOLE[1]] = True
    distance = distance_from(hole)
    cases = [
        "nan",
        "geotiff -9999",
        "envi ignore",
        "mean fill",
        "real content: shifted",
        "real content: mirrored",
    ]
    totals: dict[str, dict] = {case: {} for case in cases}
    problems, encodings_equal, per_crop = [], True, []
    start = time.perf_counter()
    for number, (row, col) in enumerate(crops_of(scene.height, scene.width, args.crops)):
        hsi = np.ascontiguousarray(
            scene.hsi[:, row : row + CROP[0], col : col + CROP[1]], dtype=np.float32
        )
        x = np.ascontiguousarray(
            scene.x[:, row : row + CROP[0], col : col + CROP[1]], dtype=np.float32
        )
        a, b, c, d, e, f = scene.georef.transform
        georef = type(scene.georef)(
            (a, b, c + a * col + b * row, d, e, f + d * col + e * row), scene.georef.crs
        )
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            paths = write_inputs(folder, hsi, x, hole, georef)
            runs = {}
            for case, fill in (
                ("clean", "nearest"),
                ("nan", "nearest"),
                ("geotiff -9999", "nearest"),
                ("envi ignore", "nearest"),
                ("mean fill", "mean"),
            ):
                out = folder / case.replace(" ", "_")
                out.mkdir()
                with open_scene(
                    paths["nan" if case == "mean fill" else case], paths["x"]
                ) as source:
                    runs[case] = segment_source(
                        backend,
                        source,
                        out / "seg.tif",
                        probabilities=True,
                        keep_in_memory=True,
                        nodata_fill=fill,
                    )
            reference = runs["clean"].result.classes
            for case in ("nan", "geotiff -9999", "envi ignore", "mean fill"):
                problems += [f"crop {number} {case}: {p}" for p in check_products(runs[case], hole)]
                add_counts(
                    totals[case],
                    changed_by_distance(runs[case].result.classes, reference, distance),
                )
            first = runs["nan"].result.logits
            encodings_equal &= all(
                np.array_equal(runs[c].result.logits, first, equal_nan=True)
                for c in ("geotiff -9999", "envi ignore")
            )
            shifted = hsi.copy()
            source_cols = (
                slice(left - 40, left - 40 + HOLE[1])
                if left >= 40
                else slice(left + 40, left + 40 + HOLE[1])
            )
            shifted[:, top : top + HOLE[0], left : left + HOLE[1]] = hsi[
                :, top : top + HOLE[0], source_cols
            ]
            mirrored = hsi.copy()
            mirrored[:, top : top + HOLE[0], left : left + HOLE[1]] = hsi[
                :, top : top + HOLE[0], left : left + HOLE[1]
            ][:, ::-1, ::-1]
            for case, cube in (
                ("real content: shifted", shifted),
                ("real content: mirrored", mirrored),
            ):
                other = segment_scene(
                    backend, cube, x, folder / f"{case.split(': ')[1]}.tif"
                ).result.classes
                add_counts(totals[case], changed_by_distance(other, reference, distance))
            per_crop.append(
                {
                    "row": row,
                    "col": col,
                    **{
                        case: changed_by_distance(runs[case].result.classes, reference, distance)[
                            ">=10"
                        ]
                        for case in ("nan", "mean fill")
                    },
                }
            )
        print(
            f"crop {number} at ({row}, {col}): nearest {per_crop[-1]['nan']}, "
            f"mean {per_crop[-1]['mean fill']} changed / pixels >= 10 px from the hole "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    wide = wide_check(backend, scene, args.wide) if args.wide else None
    document = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
        },
        "date": time.strftime("%Y-%m-%d"),
        "model": str(args.model),
        "scene": str(args.scene),
        "crop": CROP,
        "hole": HOLE,
        "crops": per_crop,
        "changed_by_distance": totals,
        "encodings_identical": bool(encodings_equal),
        "hole_nodata_in_every_product": not problems,
        "problems": problems,
        "nodata_values_reaching_the_model": backend.bad,
        "wide": wide,
    }
    print_tables(document)
    args.output.write_text(json.dumps(document, indent=2))
    plot(document, args.png)


def wide_check(backend, scene, width: int) -> dict:
    """A 15 x 20 hole in a ``scene.height x width`` piece: changed classes by distance, split by whether a
    pixel has a covering tile that touches the hole; logits of the others must be bit-for-bit unchanged."""
    from comix.runtime import SlidingWindow

    hsi = np.ascontiguousarray(scene.hsi[:, :, :width], dtype=np.float32)
    x = np.ascontiguousarray(scene.x[:, :, :width], dtype=np.float32)
    window = SlidingWindow(backend)
    clean = window(hsi, x)
    plan = window.plan(hsi.shape[1], width)
    hole = np.zeros(hsi.shape[1:], bool)
    top, left = hsi.shape[1] // 2 - HOLE[0] // 2, width // 2 - HOLE[1] // 2
    hole[top : top + HOLE[0], left : left + HOLE[1]] = True
    holed = hsi.copy()
    holed[:, hole] = np.nan
    result = window(holed, x)
    th, tw = plan.tile
    touched = np.zeros_like(hole)
    for tile in plan.grid.tiles():
        if hole[tile.top : tile.top + th, tile.left : tile.left + tw].any():
            touched[tile.top : tile.top + th, tile.left : tile.left + tw] = True
    distance = distance_from(hole)
    far = ~touched
    return {
        "shape": list(hsi.shape[1:]),
        "hole_at": [top, left],
        "tile": list(plan.tile),
        "overlap": plan.grid.overlap,
        "pixels_under_hole_tiles": int(touched.sum()),
        "pixels_clear": int(far.sum()),
        # pixels clear of the hole's tiles get distance -1: in no bin, so the counts are of hole-tile pixels
        "changed_under_hole_tiles": changed_by_distance(
            result.classes, clean.classes, np.where(touched, distance, -1.0)
        ),
        "clear_logits_identical": bool(np.array_equal(result.logits[:, far], clean.logits[:, far])),
        "clear_changed_classes": int((result.classes[far] != clean.classes[far]).sum()),
        "min_distance_of_clear_pixels": float(distance[far].min()) if far.any() else None,
    }


def print_tables(document: dict) -> None:
    keys = [f"{lo}-{hi - 1}" if hi != 10_000 else f">={lo}" for lo, hi in BINS] + [">=10"]
    print(
        "\n| case | "
        + " | ".join(f"{k} px" for k in keys)
        + " |\n"
        + "|---" * (len(keys) + 1)
        + "|"
    )
    rows = dict(document["changed_by_distance"])
    if document["wide"]:
        rows[f"wide {document['wide']['shape']}, under hole tiles"] = document["wide"][
            "changed_under_hole_tiles"
        ]
    for case, counts in rows.items():
        print(f"| {case} | " + " | ".join(_cell(*counts[k]) for k in keys) + " |")
    print(
        f"\nencodings identical: {document['encodings_identical']}; hole nodata in every product: "
        f"{document['hole_nodata_in_every_product']}; nodata values reaching the model: "
        f"{document['nodata_values_reaching_the_model']}"
    )
    if document["wide"]:
        wide = document["wide"]
        print(
            f"wide {wide['shape']}: pixels clear of hole tiles {wide['pixels_clear']} (nearest "
            f"{wide['min_distance_of_clear_pixels']:.0f} px from the hole): logits identical "
            f"{wide['clear_logits_identical']}, classes changed {wide['clear_changed_classes']}; "
            f"under hole tiles >= 10 px: {wide['changed_under_hole_tiles']['>=10']}"
        )


def _cell(changed: int, pixels: int) -> str:
    return f"{100 * changed / pixels:.2f} % ({changed} / {pixels})" if pixels else "— (no pixel)"


def plot(document: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [f"{lo}-{hi - 1}" if hi != 10_000 else f">={lo}" for lo, hi in BINS]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    styles = {
        "nan": "o-",
        "geotiff -9999": "x--",
        "envi ignore": "+:",
        "mean fill": "s-",
        "real content: shifted": "^-.",
        "real content: mirrored": "v-.",
    }
    for case, counts in document["changed_by_distance"].items():
        ax.plot(
            keys,
            [100 * counts[k][0] / counts[k][1] if counts[k][1] else np.nan for k in keys],
            styles[case],
            label=case,
        )
    ax.set_xlabel("distance from the 15 x 20 hole (px)")
    ax.set_ylabel("pixels whose class changed (%)")
    ax.set_title(
        f"nodata hole in {len(document['crops'])} crops of {CROP[0]} x {CROP[1]}: trained comix_t"
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
