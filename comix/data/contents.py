"""What a dataset or a raster file holds, as plain dataclasses with a printable ``summary()``.

:func:`describe_path` is what ``comix data inspect`` shows: for a dataset description (``.yaml``) the
loaded scene (:class:`DatasetContents`); for a ``.mat``/``.npz`` file without a key every variable
(:class:`KeyedFileContents`); for one raster its shape, value range, wavelengths, georeference and, when
it looks like a label raster, its value counts (:class:`RasterContents`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.georef import GeoRef

# more distinct values than this and an integer array is not shown as label counts
COUNT_LIMIT = 64


@dataclass(frozen=True)
class ArrayContents:
    """One array's shape, dtype and value range, and its value counts when it looks like labels.

    Attributes:
        shape: the shape as stored.
        dtype: the numpy dtype as text (``"float32"``, ``"uint8"``, ``">f4"`` ...).
        value_range: ``(nanmin, nanmax)``; ``None`` for an empty or non-numeric array.
        value_counts: ``((value, count), ...)`` in ascending value order for an integer-valued array with
            at most :data:`COUNT_LIMIT` distinct values; ``None`` otherwise or when not counted.
    """

    shape: tuple[int, ...]
    dtype: str
    value_range: tuple[float, float] | None
    value_counts: tuple[tuple[int, int], ...] | None = None

    @classmethod
    def of(cls, array: np.ndarray, count_values: bool = False) -> ArrayContents:
        """Describe ``array`` (any shape); ``count_values`` also counts the values of label-like arrays."""
        numeric = (
            array.size and array.dtype.kind in "biuf"
        )  # strings (allowed in .npz) have no range
        value_range = (float(np.nanmin(array)), float(np.nanmax(array))) if numeric else None
        return cls(
            tuple(int(n) for n in array.shape),
            str(array.dtype),
            value_range,
            _value_counts(array) if count_values else None,
        )

    def describe(self) -> str:
        """``shape (63, 40, 64) float32, values -0.0463..0.838`` (one line)."""
        text = f"shape {self.shape} {self.dtype}"
        if self.value_range is not None:
            text += f", values {self.value_range[0]:.6g}..{self.value_range[1]:.6g}"
        return text


def _value_counts(array: np.ndarray) -> tuple[tuple[int, int], ...] | None:
    """Counts of each value of an integer-valued array (floats holding whole numbers count too)."""
    integral = array.dtype.kind in "biu" or (
        array.dtype.kind == "f" and bool(np.all(np.mod(array, 1) == 0))
    )
    if not integral:
        return None
    values, counts = np.unique(array, return_counts=True)
    if values.size > COUNT_LIMIT:
        return None
    return tuple((int(v), int(c)) for v, c in zip(values, counts))


@dataclass(frozen=True)
class RasterContents:
    """One raster read from a file (a ``.mat``/``.npz`` variable named by ``key``).

    Attributes:
        path: the file; key: the variable, or ``None``; fmt: one of ``comix.data.FORMATS``.
        layout: axis layout of ``array.shape`` (``"CHW"``, ``"HWC"`` or ``"HW"``).
        array: shape, dtype, value range and label value counts.
        wavelengths_nm: band centres ``(bands,)`` when the file carries them, else ``None``.
        georef: the file's georeference, or ``None``.
    """

    path: Path
    key: str | None
    fmt: str
    layout: str
    array: ArrayContents
    wavelengths_nm: tuple[float, ...] | None
    georef: GeoRef | None

    def summary(self) -> str:
        name = f"{self.path}[{self.key}]" if self.key else str(self.path)
        lines = [f"{name}: {self.fmt}, layout {self.layout}, {self.array.describe()}"]
        if self.wavelengths_nm is not None:
            wavelengths = self.wavelengths_nm
            lines.append(
                f"  wavelengths {wavelengths[0]:.2f}..{wavelengths[-1]:.2f} nm ({len(wavelengths)} bands)"
            )
        lines.append(f"  georef: {self.georef}")
        if self.array.value_counts is not None:
            lines.append(
                "  value counts: " + " ".join(f"{v}:{c}" for v, c in self.array.value_counts)
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class KeyContents:
    """One variable of a ``.mat``/``.npz`` file: its contents, or why it is not a numeric array."""

    key: str
    array: ArrayContents | None
    problem: str | None = None


@dataclass(frozen=True)
class KeyedFileContents:
    """A ``.mat``/``.npz`` file read without a key: every top-level variable, in file order."""

    path: Path
    fmt: str
    entries: tuple[KeyContents, ...]

    @property
    def keys(self) -> list[str]:
        return [entry.key for entry in self.entries]

    def summary(self) -> str:
        lines = [f"{self.path}: {self.fmt} file with keys {self.keys}"]
        for entry in self.entries:
            shown = (
                entry.array.describe()
                if entry.array is not None
                else f"not a numeric array ({entry.problem})"
            )
            lines.append(f"  {entry.key}: {shown}")
        return "\n".join(lines)


@dataclass(frozen=True)
class DatasetContents:
    """A loaded scene in numbers: size, bands, X channels, georeference and per-class pixel counts.

    Attributes:
        name, height, width, bands: the scene's name and ``hsi`` shape ``(bands, height, width)``.
        wavelength_range: ``(first, last)`` band centre in nm, or ``None``.
        hsi_range, x_range: ``(min, max)`` of the HSI cube and of the X raster.
        x_modality, x_channel_names: what the X raster is, one name per channel.
        crs: the georeference's CRS, or ``None``.
        class_names: the ``K`` classes in label order.
        labelled, train, test: pixel counts per label value ``0..K`` (``K + 1`` each; ``0`` = unlabelled),
            over all pixels, the train mask and the test mask.
    """

    name: str
    height: int
    width: int
    bands: int
    wavelength_range: tuple[float, float] | None
    hsi_range: tuple[float, float]
    x_modality: str
    x_channel_names: tuple[str, ...]
    x_range: tuple[float, float]
    crs: str | None
    class_names: tuple[str, ...]
    labelled: tuple[int, ...]
    train: tuple[int, ...]
    test: tuple[int, ...]

    @classmethod
    def of(cls, scene) -> DatasetContents:
        """From a :class:`~comix.data.scene.Scene`."""

        def counts(mask=None) -> tuple[int, ...]:
            return tuple(int(n) for n in scene.class_counts(mask))

        wavelengths = scene.wavelengths_nm
        return cls(
            name=scene.name,
            height=scene.height,
            width=scene.width,
            bands=scene.num_bands,
            wavelength_range=None
            if wavelengths is None
            else (float(wavelengths[0]), float(wavelengths[-1])),
            hsi_range=(float(scene.hsi.min()), float(scene.hsi.max())),
            x_modality=scene.x_modality,
            x_channel_names=tuple(scene.x_channel_names),
            x_range=(float(scene.x.min()), float(scene.x.max())),
            crs=scene.georef.crs if scene.georef else None,
            class_names=tuple(scene.class_names),
            labelled=counts(),
            train=counts(scene.train_mask),
            test=counts(scene.test_mask),
        )

    def summary(self) -> str:
        """A few lines: shapes, bands, value ranges, and a per-class table of labelled/train/test pixels."""
        band_range = (
            ""
            if self.wavelength_range is None
            else f", {self.wavelength_range[0]:.1f}-{self.wavelength_range[1]:.1f} nm"
        )
        lines = [
            f"scene {self.name}: H x W = {self.height} x {self.width}",
            f"  hsi {self.bands} bands{band_range}, values {self.hsi_range[0]:.4g}..{self.hsi_range[1]:.4g}",
            f"  x ({self.x_modality}) {len(self.x_channel_names)} channel(s) {list(self.x_channel_names)}, "
            f"values {self.x_range[0]:.4g}..{self.x_range[1]:.4g}",
            f"  georef: {self.crs if self.crs else 'none'}",
        ]
        lines.append(f"  {'class':<22}{'labelled':>10}{'train':>8}{'test':>8}")
        for k, name in enumerate(self.class_names, start=1):
            lines.append(
                f"  {k:>2} {name:<19}{self.labelled[k]:>10}{self.train[k]:>8}{self.test[k]:>8}"
            )
        lines.append(f"  unlabelled pixels: {self.labelled[0]}")
        return "\n".join(lines)


def describe_raster(
    path: str | Path, key: str | None = None, layout: str | None = None, fmt: str | None = None
) -> RasterContents | KeyedFileContents:
    """One raster file; a ``.mat``/``.npz`` file without ``key`` gives every variable instead.

    ``layout`` is the stored axis order of a ``.mat``/``.npy``/``.npz`` array (see
    :func:`~comix.data.raster_io.read_raster`). Raises :class:`DataError` for a file that cannot be read.
    """
    from comix.data.mat_io import list_mat_keys
    from comix.data.numpy_io import list_npz_keys
    from comix.data.raster_io import infer_format, read_raster

    path = Path(path)
    fmt = fmt or infer_format(path)
    if fmt in ("mat", "npz") and key is None:
        entries = []
        for name in list_mat_keys(path) if fmt == "mat" else list_npz_keys(path):
            try:
                entries.append(
                    KeyContents(name, ArrayContents.of(read_raster(path, key=name, fmt=fmt).array))
                )
            except DataError as error:  # e.g. a struct or a string: listed, not fatal
                entries.append(KeyContents(name, None, str(error)))
        return KeyedFileContents(path, fmt, tuple(entries))
    raster = read_raster(path, key=key, fmt=fmt, layout=layout)
    wavelengths = (
        None if raster.wavelengths_nm is None else tuple(float(w) for w in raster.wavelengths_nm)
    )
    return RasterContents(
        path,
        key,
        fmt,
        raster.layout,
        ArrayContents.of(raster.array, count_values=True),
        wavelengths,
        raster.georef,
    )


def describe_path(
    path: str | Path, key: str | None = None, layout: str | None = None
) -> DatasetContents | RasterContents | KeyedFileContents:
    """A dataset description (``.yaml``/``.yml``: the scene it loads) or a raster file
    (:func:`describe_raster`).

    Raises:
        DataError: the file cannot be read, or ``key``/``layout`` given with a dataset description (they
            apply to a single file; the description names its own keys and layouts).
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        if key is not None or layout is not None:
            raise DataError(
                f"{path}: got a key or layout with a dataset description, expected them only for a "
                "single raster file (the description names its own keys and layouts)"
            )
        from comix.data.loader import load_scene

        return DatasetContents.of(load_scene(path))
    return describe_raster(path, key, layout)
