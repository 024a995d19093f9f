"""The products of a segmented scene, written block by block and all or nothing.

From ``-o seg.tif``: ``seg.tif`` (class raster, label values 1..K, 0 = no data with the GeoTIFF nodata tag
0; uint8; tiled, deflate-compressed, BigTIFF when needed, the input's georeference/CRS; with ``cog`` a
Cloud-Optimized GeoTIFF with overviews), ``seg.npy`` (same raster), ``seg.png`` (colours + legend, nodata
black; a preview at most :data:`PREVIEW_MAX_PIXELS` on its long side; only with matplotlib, the full
install), ``seg.json`` (summary: class areas, nodata counts, timing, settings) and, when asked,
``seg.probabilities.tif`` (float32 (K, H, W) softmax, NaN = no data). ``-o seg.npy`` writes the .npy
instead of the GeoTIFF.

:class:`ClassProducts` is the :class:`~comix.runtime.streaming.BlockSink` that writes them: argmax to
classes is this product writer's business, not the streaming engine's. Every file is written under a
temporary name beside its final one (:class:`StagedFiles`); only when all are written are they renamed
onto their final names, so a failure leaves none of them (and no temporary files) behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from comix.atomic import check_parent, named_for_user, temp_beside
from comix.extras import missing_sentence
from comix.runtime.errors import RuntimeInputError
from comix.runtime.sliding_window import NODATA_LABEL, label_raster, softmax
from comix.runtime.streaming import BlockSink

RASTER_SUFFIXES = (".tif", ".tiff", ".npy")
PREVIEW_MAX_PIXELS = 2048
NODATA_NAME = "no data"


def output_paths(output: str | os.PathLike, probabilities: bool) -> dict[str, Path]:
    """Final path of each product; raises a clear error for a missing folder or an unknown suffix."""
    output = Path(output)
    if output.suffix.lower() not in RASTER_SUFFIXES:
        raise RuntimeInputError(
            f"output {output}: got suffix {output.suffix!r}, "
            f"expected one of {list(RASTER_SUFFIXES)}"
        )
    try:
        check_parent(output)
    except FileNotFoundError as error:
        raise RuntimeInputError(str(error)) from None
    if output.suffix.lower() != ".npy" and importlib.util.find_spec("rasterio") is None:
        raise RuntimeInputError(
            missing_sentence("rasterio", f"writing the GeoTIFF {output}") + "; or write -o NAME.npy"
        )
    stem = output.with_suffix("")
    paths = {"classes_npy": stem.with_suffix(".npy"), "summary": stem.with_suffix(".json")}
    if importlib.util.find_spec("matplotlib") is not None:  # the quick-look needs the full install
        paths["png"] = stem.with_suffix(".png")
    if output.suffix.lower() != ".npy":
        paths["classes_tif"] = output
    if probabilities:
        paths["probabilities"] = Path(
            f"{stem}.probabilities{'.npy' if output.suffix.lower() == '.npy' else '.tif'}"
        )
    return paths


class StagedFiles:
    """Temp files beside their final names; ``commit()`` renames them all, ``discard()`` removes them.

    Temporary names are ``.<final stem>.<random><suffix>`` (so a folder's stale ones can be recognised)."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []
        self.scratch: list[Path] = []

    def temp_for(self, final: Path) -> Path:
        temp = temp_beside(final)
        self.staged.append((temp, final))
        return temp

    def scratch_for(self, final: Path) -> Path:
        """A temporary file beside ``final`` that is removed at commit or discard (an intermediate)."""
        temp = temp_beside(final, suffix=f".part{final.suffix}")
        self.scratch.append(temp)
        return temp

    def named_for_user(self, error: BaseException) -> BaseException:
        """``error`` naming the final products instead of their temporary files (:func:`named_for_user`)."""
        return named_for_user(error, dict(self.staged))

    def commit(self) -> None:
        for path in self.scratch:
            path.unlink(missing_ok=True)
        for temp, final in self.staged:
            os.replace(temp, final)
        self.staged.clear()
        self.scratch.clear()

    def discard(self) -> None:
        for temp in [t for t, _ in self.staged] + self.scratch:
            temp.unlink(missing_ok=True)
        self.staged.clear()
        self.scratch.clear()

    @contextlib.contextmanager
    def all_or_nothing(self, abort: Callable[[], None] | None = None) -> Iterator[StagedFiles]:
        """Commit when the block ends; when it (or the commit) fails, ``abort`` (default :meth:`discard`)
        and re-raise, an error about a temporary file naming its final product instead."""
        try:
            yield self
            self.commit()
        except BaseException as error:
            renamed = self.named_for_user(error)
            (abort or self.discard)()
            if renamed is not error:
                raise renamed from None
            raise


def class_areas(
    counts: np.ndarray, class_names: Sequence[str], pixel_area: float | None
) -> list[dict]:
    """Per class: label value, name, pixel count, fraction of the valid pixels, area in map units^2 if known.

    ``counts`` is a bincount of label values (index 0 = nodata, not a class)."""
    total = max(int(counts[1:].sum()), 1)
    rows = []
    for label, name in enumerate(class_names, start=1):
        pixels = int(counts[label]) if label < counts.size else 0
        row = {"label": label, "name": name, "pixels": pixels, "fraction": pixels / total}
        if pixel_area is not None:
            row["area_map_units2"] = pixels * pixel_area
        rows.append(row)
    return rows


class ClassProducts(BlockSink):
    """Class products of one scene (see the module doc) from blended logits, block by block.

    ``staged`` owns the temporary files; the caller commits or discards it after :meth:`finish`. Takes column
    blocks (a scene planned in strips): every writer writes rectangles.
    """

    column_blocks = True

    def __init__(
        self,
        paths: dict[str, Path],
        staged: StagedFiles,
        class_names: Sequence[str],
        title: str = "",
        cog: bool = False,
    ) -> None:
        self.paths, self.staged, self.class_names = paths, staged, list(class_names)
        self.title, self.cog = title, cog
        self.writers: dict[str, object] = {}
        self.geotiffs: dict[
            str, tuple[Path, Path, str]
        ] = {}  # key -> (written, staged final, COG resampling)

    def begin(self, height: int, width: int, channels: int, georef=None) -> None:
        from comix.data.geotiff_io import COG_RESAMPLING, GeoTiffBlockWriter
        from comix.data.numpy_io import NpyBlockWriter

        if len(self.class_names) != channels:
            self.class_names = [f"class_{k}" for k in range(1, channels + 1)]
        self.height, self.width, self.channels, self.georef = height, width, channels, georef
        dtype = np.uint8 if channels < 255 else np.uint16
        self.counts = np.zeros(channels + 1, dtype=np.int64)
        self.step = max(1, -(-max(height, width) // PREVIEW_MAX_PIXELS))
        self.preview = np.zeros((-(-height // self.step), -(-width // self.step)), dtype=dtype)
        self.writers["classes_npy"] = NpyBlockWriter(
            self.staged.temp_for(self.paths["classes_npy"]), (height, width), dtype
        )
        for key, count, kind, nodata, dtype_ in (
            ("classes_tif", 1, "classes", NODATA_LABEL, dtype),
            ("probabilities", channels, "continuous", float("nan"), np.float32),
        ):
            if key not in self.paths:
                continue
            final = self.staged.temp_for(self.paths[key])
            if final.suffix == ".npy":  # (K, H, W) probabilities as .npy
                self.writers[key] = NpyBlockWriter(final, (channels, height, width), np.float32)
                continue
            written = self.staged.scratch_for(self.paths[key]) if self.cog else final
            self.geotiffs[key] = (written, final, COG_RESAMPLING[kind])
            self.writers[key] = GeoTiffBlockWriter(
                written, count, height, width, dtype_, georef, nodata=nodata
            )

    def write(self, row: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        self.write_block(row, 0, outputs, valid)

    def write_block(self, row: int, col: int, outputs: np.ndarray, valid: np.ndarray) -> None:
        classes = label_raster(outputs, valid=valid)
        self.counts += np.bincount(classes.ravel(), minlength=self.channels + 1)
        for key in ("classes_npy", "classes_tif"):
            if key in self.writers:
                self.writers[key].write(row, classes, col)
        if "probabilities" in self.writers:
            self.writers["probabilities"].write(row, softmax(outputs), col)
        top, left = (
            -row % self.step,
            -col % self.step,
        )  # first row / column of this block on the preview grid
        picked = classes[top :: self.step, left :: self.step]
        first_row, first_col = (row + top) // self.step, (col + left) // self.step
        self.preview[
            first_row : first_row + picked.shape[0], first_col : first_col + picked.shape[1]
        ] = picked

    def finish(self) -> dict:
        from comix.data.geotiff_io import copy_as_cog

        self._close_writers()
        for written, final, resampling in self.geotiffs.values():
            if written != final:
                copy_as_cog(written, final, resampling)
        nodata = int(self.counts[NODATA_LABEL])
        if "png" in self.paths:
            from comix.viz import save_class_map

            save_class_map(
                self.preview,
                self.class_names,
                self.staged.temp_for(self.paths["png"]),
                title=self.title,
                nodata_label=NODATA_NAME if nodata else None,
            )
        pixel_area = None
        if self.georef is not None:
            width, height = self.georef.pixel_size
            pixel_area = width * height
        return {
            "scene": {"height": self.height, "width": self.width},
            "classes": class_areas(self.counts, self.class_names, pixel_area),
            "nodata_pixels": nodata,
            "png_step": self.step,
            "geotiff": {
                "layout": "COG with overviews" if self.cog else "tiled, deflate",
                "nodata": NODATA_LABEL,
            },
        }

    def _close_writers(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()

    def abort(self) -> None:
        try:
            self._close_writers()
        finally:
            self.staged.discard()
