"""Helpers for archive tests: a manifest of small GeoTIFF scenes, one corrupt (a uniquely named module:
``from conftest import`` would pick whichever conftest is first on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from runtime_helpers import export_tiny, make_scene  # noqa: F401

from comix.data.georef import GeoRef
from comix.data.geotiff_io import write_geotiff

GEOREF = GeoRef.from_origin(271000.0, 3290000.0, 2.5, 2.5, crs="EPSG:32615")
CORRUPT = "s2"


def write_archive(folder: Path, count: int = 5, size: tuple[int, int] = (40, 52)) -> Path:
    """``count`` scenes ``s0..`` (H = size[0] + 3 * index, W = size[1]) as NAME_hsi.tif + NAME_x.tif (s2
    truncated) and a manifest.csv naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["name,hsi,x"]
    for index in range(count):
        hsi, x = make_scene(size[0] + 3 * index, size[1], seed=index)
        write_geotiff(folder / f"s{index}_hsi.tif", hsi, GEOREF)
        write_geotiff(folder / f"s{index}_x.tif", x, GEOREF)
        rows.append(f"s{index},s{index}_hsi.tif,s{index}_x.tif")
    corrupt = folder / f"{CORRUPT}_hsi.tif"
    corrupt.write_bytes(corrupt.read_bytes()[:4000])
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder / "manifest.csv"
