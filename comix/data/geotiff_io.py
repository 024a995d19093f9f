"""GeoTIFF rasters, band-first ``(C, H, W)``, with their georeference.

rasterio (GDAL) is used when installed; otherwise tifffile reads and writes the GeoTIFF tags
(ModelPixelScale, ModelTiepoint, GeoKeyDirectory) itself, which covers north-up rasters with an
EPSG-coded CRS. Band wavelengths, when a file carries them, are read from the GDAL band metadata
``wavelength`` (nm) that :func:`write_geotiff` writes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.errors import DataError
from comix.data.georef import GeoRef
from comix.data.windowed import Window, WindowedRaster, nodata_values
from comix.extras import missing_sentence

TAG_PIXEL_SCALE, TAG_TIEPOINT, TAG_GEOKEYS, TAG_GDAL_NODATA = 33550, 33922, 34735, 42113
GEOKEY_GEOGRAPHIC, GEOKEY_PROJECTED, GEOKEY_MODEL_TYPE, GEOKEY_RASTER_TYPE = 2048, 3072, 1024, 1025


def rasterio_available() -> bool:
    try:
        import rasterio  # noqa: F401
    except ImportError:
        return False
    return True


def read_geotiff(
    path: str | Path, backend: str = "auto"
) -> tuple[np.ndarray, GeoRef | None, np.ndarray | None]:
    """Read a (Geo)TIFF.

    Returns:
        ``(array (C, H, W), georef or None, wavelengths_nm (C,) or None)``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a GeoTIFF")
    if backend not in ("auto", "rasterio", "tifffile"):
        raise DataError(
            f"read_geotiff({path}): got backend {backend!r}, expected 'auto', 'rasterio' or 'tifffile'"
        )
    if backend == "rasterio" or (backend == "auto" and rasterio_available()):
        return _read_rasterio(path)
    return _read_tifffile(path)


def _read_rasterio(path: Path):
    import warnings

    import rasterio

    try:
        with warnings.catch_warnings():  # a plain TIFF is fine: georef is then None
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            dataset = rasterio.open(path)
        with dataset:
            array = dataset.read()
            georef = _georef_of(dataset)
            wavelengths = [
                dataset.tags(band).get("wavelength") for band in range(1, dataset.count + 1)
            ]
    except rasterio.errors.RasterioError as error:
        raise DataError(
            f"{path}: cannot read as GeoTIFF: {error} (truncated or corrupt file?)"
        ) from error
    return array, georef, _wavelengths_or_none(wavelengths)


def _georef_of(dataset) -> GeoRef | None:
    """The georeference of an open rasterio dataset (None for a plain TIFF)."""
    if dataset.crs is None and dataset.transform.is_identity:
        return None
    crs = None
    if dataset.crs is not None:
        epsg = dataset.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else dataset.crs.to_wkt()
    return GeoRef(tuple(dataset.transform)[:6], crs)


def _georef_profile(georef: GeoRef | None) -> dict:
    """rasterio profile entries (transform, crs) for a georeference."""
    if georef is None:
        return {}
    from affine import Affine

    profile = {"transform": Affine(*georef.transform)}
    if georef.crs is not None:
        profile["crs"] = georef.crs
    return profile


def _wavelengths_or_none(values) -> np.ndarray | None:
    if not values or any(v is None for v in values):
        return None
    return np.asarray([float(v) for v in values], dtype=np.float64)


def _read_tifffile(path: Path):
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            array = page.asarray()
            tags = {tag.code: tag.value for tag in page.tags.values()}
            contig = page.planarconfig == tifffile.PLANARCONFIG.CONTIG and page.samplesperpixel > 1
            metadata = page.tags.get(42112).value if 42112 in page.tags else None
    except Exception as error:  # tifffile raises TiffFileError, ValueError, struct.error...
        raise DataError(
            f"{path}: cannot read as TIFF: {error} (truncated or corrupt file?)"
        ) from error
    if array.ndim == 2:
        array = array[None]
    elif contig:
        array = np.moveaxis(array, -1, 0)
    return (
        np.ascontiguousarray(array),
        _georef_from_tags(tags),
        _wavelengths_from_gdal_xml(metadata, array.shape[0]),
    )


def _wavelengths_from_gdal_xml(metadata, count: int) -> np.ndarray | None:
    """Per-band ``wavelength`` items of a GDAL_METADATA XML string (``<Item name=.. sample=..>``)."""
    if not isinstance(metadata, str) or "wavelength" not in metadata:
        return None
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(metadata)
    except ElementTree.ParseError:
        return None
    values: list = [None] * count
    for item in root.iter("Item"):
        sample = item.get("sample")
        if item.get("name") == "wavelength" and sample is not None and int(sample) < count:
            values[int(sample)] = item.text
    return _wavelengths_or_none(values)


def _georef_from_tags(tags: dict) -> GeoRef | None:
    if TAG_PIXEL_SCALE not in tags or TAG_TIEPOINT not in tags:
        return None
    scale_x, scale_y = tags[TAG_PIXEL_SCALE][:2]
    col, row, _, map_x, map_y, _ = tags[TAG_TIEPOINT][:6]
    transform = (scale_x, 0.0, map_x - col * scale_x, 0.0, -scale_y, map_y + row * scale_y)
    crs = None
    keys = tags.get(TAG_GEOKEYS)
    if keys is not None:
        keys = list(keys)
        for index in range(4, len(keys), 4):
            key_id, location, _, value = keys[index : index + 4]
            if (
                key_id in (GEOKEY_PROJECTED, GEOKEY_GEOGRAPHIC)
                and location == 0
                and 0 < value < 32767
            ):
                crs = f"EPSG:{value}"
    return GeoRef(transform, crs)


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    georef: GeoRef | None = None,
    wavelengths_nm: np.ndarray | None = None,
    backend: str = "auto",
    nodata: float | None = None,
) -> Path:
    """Write ``array`` (C, H, W) or (H, W) as a band-interleaved GeoTIFF; atomic (temp name + rename).
    ``nodata`` is written as the GeoTIFF nodata tag (GDAL_NODATA)."""
    path = Path(path)
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise DataError(
            f"write_geotiff({path}): got array shape {array.shape}, expected (C, H, W) or (H, W)"
        )
    if wavelengths_nm is not None and len(wavelengths_nm) != array.shape[0]:
        raise DataError(
            f"write_geotiff({path}): got {len(wavelengths_nm)} wavelengths for {array.shape[0]} bands"
        )
    use_rasterio = backend == "rasterio" or (backend == "auto" and rasterio_available())
    with atomic_path(path, make_parents=True) as temp:
        if use_rasterio:
            _write_rasterio(temp, array, georef, wavelengths_nm, nodata)
        else:
            _write_tifffile(temp, array, georef, wavelengths_nm, nodata)
    return path


def _write_rasterio(
    path: Path, array: np.ndarray, georef: GeoRef | None, wavelengths_nm, nodata=None
) -> None:
    import rasterio

    profile = {
        "driver": "GTiff",
        "height": array.shape[1],
        "width": array.shape[2],
        "count": array.shape[0],
        "dtype": array.dtype.name,
        "interleave": "band",
        "tiled": False,
    }
    if _worth_compressing(array):
        profile["compress"] = "deflate"
    if nodata is not None:
        profile["nodata"] = nodata
    profile.update(_georef_profile(georef))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        dataset = rasterio.open(path, "w", **profile)
    with dataset:
        dataset.write(array)
        if wavelengths_nm is not None:
            for band, wavelength in enumerate(wavelengths_nm, start=1):
                dataset.update_tags(band, wavelength=f"{float(wavelength):.4f}")


def _write_tifffile(
    path: Path, array: np.ndarray, georef: GeoRef | None, wavelengths_nm, nodata=None
) -> None:
    import tifffile

    extratags = []
    if nodata is not None:
        extratags.append((TAG_GDAL_NODATA, "s", 0, repr(float(nodata)), True))
    if georef is not None:
        a, b, c, d, e, f = georef.transform
        if b != 0.0 or d != 0.0:
            raise DataError(
                f"write_geotiff({path}): rotated transform {georef.transform} needs rasterio, "
                "expected a north-up transform (b = d = 0) for the tifffile writer"
            )
        extratags.append((TAG_PIXEL_SCALE, "d", 3, (abs(a), abs(e), 0.0), True))
        extratags.append((TAG_TIEPOINT, "d", 6, (0.0, 0.0, 0.0, c, f, 0.0), True))
        keys = [1, 1, 0, 2, GEOKEY_MODEL_TYPE, 0, 1, 1, GEOKEY_RASTER_TYPE, 0, 1, 1]
        if georef.crs and georef.crs.upper().startswith("EPSG:"):
            code = int(georef.crs.split(":")[1])
            geographic = code in (4326, 4269, 4258)
            keys[3] = 3
            keys[6] = 2 if geographic else 1
            keys += [GEOKEY_GEOGRAPHIC if geographic else GEOKEY_PROJECTED, 0, 1, code]
        extratags.append((TAG_GEOKEYS, "H", len(keys), tuple(keys), True))
    metadata_xml = None
    if wavelengths_nm is not None:
        items = "".join(
            f'<Item name="wavelength" sample="{i}">{float(w):.4f}</Item>'
            for i, w in enumerate(wavelengths_nm)
        )
        metadata_xml = f"<GDALMetadata>{items}</GDALMetadata>"
        extratags.append((42112, "s", 0, metadata_xml, True))
    single = array.shape[0] == 1
    tifffile.imwrite(
        path,
        array[0] if single else array,
        planarconfig=None if single else "separate",
        extratags=extratags,
        compression="zlib" if _worth_compressing(array) else None,
        photometric="minisblack",
        metadata=None,
    )


def _worth_compressing(array: np.ndarray) -> bool:
    """Label rasters compress well; noisy float cubes barely do and are slow to deflate."""
    return array.dtype.kind in "biu"


# ---------------------------------------------------------------------------------------------------------
# Windowed reading and block writing (scenes larger than memory)

GDAL_CACHE_BYTES = 64 << 20  # GDAL's block cache during a streamed run (its default is 5 % of RAM)


def bounded_gdal_cache(cache_bytes: int = GDAL_CACHE_BYTES):
    """Context manager: GDAL's block cache capped at ``cache_bytes`` while it is active, so reading and
    writing a scene window by window keeps a bounded working set (GDAL would otherwise keep up to 5 % of RAM
    of decoded blocks). Without rasterio (a runtime-only install) there is no GDAL cache to bound."""
    if not rasterio_available():
        return contextlib.nullcontext()
    import rasterio

    return rasterio.Env(GDAL_CACHEMAX=int(cache_bytes))


class GeoTiffRaster(WindowedRaster):
    """A GeoTIFF read window by window through rasterio (GDAL).

    Nodata: the GeoTIFF nodata tag (per band, as GDAL reports it) and, where the file has one, its
    internal mask or alpha band (GDAL's per-dataset mask), on top of NaN / Inf.
    """

    def __init__(self, path: str | Path) -> None:
        import warnings

        import rasterio

        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found, expected a GeoTIFF")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                self.dataset = rasterio.open(self.path)
        except rasterio.errors.RasterioError as error:
            raise DataError(
                f"{self.path}: cannot read as GeoTIFF: {error} (truncated or corrupt file?)"
            ) from None
        dataset = self.dataset
        self.shape = (dataset.count, dataset.height, dataset.width)
        self.dtype = np.dtype(dataset.dtypes[0])
        self.georef = _georef_of(dataset)
        self.wavelengths_nm = _wavelengths_or_none(
            [dataset.tags(b).get("wavelength") for b in range(1, dataset.count + 1)]
        )
        declared = [v for v in dataset.nodatavals if v is not None]
        self.nodata = nodata_values(*declared)
        self.nodata_sources = (f"GeoTIFF nodata tag {declared[0]}",) if declared else ()
        flags = {flag for band in dataset.mask_flag_enums for flag in band}
        from rasterio.enums import MaskFlags

        self.has_mask = bool(flags & {MaskFlags.per_dataset, MaskFlags.alpha})
        if self.has_mask:
            self.nodata_sources = (*self.nodata_sources, "GeoTIFF mask")

    def _window(self, window: Window):
        from rasterio.windows import Window as RioWindow

        return RioWindow(window.col, window.row, window.width, window.height)

    def _read(self, window: Window) -> np.ndarray:
        import rasterio

        try:
            return self.dataset.read(window=self._window(window))
        except rasterio.errors.RasterioError as error:
            detail = str(error.__cause__ or error).strip().splitlines()[0]
            raise DataError(
                f"{self.path}: cannot read {window}: {detail} (truncated or corrupt file?)"
            ) from None

    def _mask(self, window: Window) -> np.ndarray | None:
        if not self.has_mask:
            return None
        return self.dataset.read_masks(1, window=self._window(window)) > 0

    def close(self) -> None:
        self.dataset.close()


def open_geotiff(path: str | Path) -> GeoTiffRaster:
    """A :class:`GeoTiffRaster` for ``path`` (clear :class:`DataError` for a missing or corrupt file, or
    when rasterio, the ``geo`` extra, is not installed)."""
    if not rasterio_available():
        raise DataError(
            missing_sentence("rasterio", f"reading the GeoTIFF {path}")
            + "; or give the scene as ENVI or .npy"
        )
    return GeoTiffRaster(path)


BLOCK = 256  # px, TIFF tile side of the products; the runtime's strips start on multiples of it


class GeoTiffBlockWriter:
    """Write a (C, H, W) GeoTIFF block by block: tiled (``block`` px), deflate-compressed,
    BigTIFF when needed, georeferenced, with a nodata tag. The caller names the path (a temporary one:
    atomicity is the caller's, see ``comix.runtime.outputs``).

        writer = GeoTiffBlockWriter(path, 1, H, W, "uint8", georef, nodata=0)
        writer.write(row, block (C, h, w), col); ...; writer.close()
    """

    def __init__(
        self,
        path: str | Path,
        count: int,
        height: int,
        width: int,
        dtype,
        georef: GeoRef | None,
        nodata: float | None = None,
        block: int = BLOCK,
        compress: str = "deflate",
    ) -> None:
        import warnings

        import rasterio

        self.path = Path(path)
        dtype = np.dtype(dtype)
        profile = {
            "driver": "GTiff",
            "count": count,
            "height": height,
            "width": width,
            "dtype": dtype.name,
            "compress": compress,
            "BIGTIFF": "IF_SAFER",
            "interleave": "band",
        }
        if (
            height >= 16 and width >= 16
        ):  # TIFF tiles are multiples of 16; tiny rasters stay striped
            size = min(block, 16 * max(1, min(height, width) // 16))
            profile.update(tiled=True, blockxsize=size, blockysize=size)
        if dtype.kind == "f":
            profile["predictor"] = 3  # floating-point predictor: probabilities compress ~2x better
        elif dtype.kind in "iu":
            profile["predictor"] = 2
        if nodata is not None:
            profile["nodata"] = nodata
        profile.update(_georef_profile(georef))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            self.dataset = rasterio.open(self.path, "w", **profile)
        self.count, self.width = count, width

    def write(self, row: int, block: np.ndarray, col: int = 0) -> None:
        """``block`` (C, h, w) or (h, w) for rows ``row .. row + h`` and columns ``col .. col + w``.
        Blocks whose edges fall on the TIFF tile grid (:data:`BLOCK` px) write each tile once;
        others make GDAL merge and rewrite partly written tiles."""
        from rasterio.windows import Window as RioWindow

        block = block[None] if block.ndim == 2 else block
        self.dataset.write(block, window=RioWindow(col, row, block.shape[2], block.shape[1]))

    def close(self) -> None:
        self.dataset.close()


COG_RESAMPLING = {"classes": "MODE", "continuous": "AVERAGE"}


def copy_as_cog(
    source: str | Path, destination: str | Path, resampling: str = "MODE", block: int = 512
) -> Path:
    """Copy a GeoTIFF to a Cloud-Optimized GeoTIFF (GDAL's COG driver: tiles, deflate, internal overviews
    computed with ``resampling`` — MODE for classes, AVERAGE for continuous values; nodata respected)."""
    import rasterio.shutil

    rasterio.shutil.copy(
        str(source),
        str(destination),
        driver="COG",
        COMPRESS="DEFLATE",
        BLOCKSIZE=block,
        OVERVIEW_RESAMPLING=resampling,
        BIGTIFF="IF_SAFER",
    )
    return Path(destination)
