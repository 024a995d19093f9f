"""The dataset description file (YAML): which files hold the HSI, X and labels, and how to split.

Example (paths relative to the description file)::

    name: trento
    hsi: {path: Italy_hsi.mat, key: data, layout: HWC}
    x:                                   # one source or a list, stacked along channels
      path: Italy_lidar.mat
      key: data
    x_modality: lidar
    x_channel_names: [first_return, last_return]
    labels: {path: allgrd.mat, key: mask_test}
    wavelengths_nm: {start: 402.89, stop: 989.09, count: 63}   # or a list, or omitted (from the file)
    classes: [Apple trees, Buildings, Ground, Woods, Vineyard, Roads]
    label_values: [1, 2, 3, 4, 5, 6]      # raw value of each class (default 1..K)
    unlabelled: 0                         # raw value of unlabelled pixels (MUUFL: -1)
    split: {method: stratified, train_per_class: 100, seed: 0}   # or train_fraction: 0.1
    # split: {train: {path: tr.tif}, test: {path: te.tif}}      # given masks / label rasters
    georef: {transform: [2.5, 0, 268000, 0, -2.5, 3290500], crs: "EPSG:26915"}  # optional, for .mat/.npy

A source is ``{path, key?, format?, layout?}``; ``format`` is inferred from the suffix and ``layout``
(``HWC``/``CHW``/``HW``) defaults to ``HWC`` for .mat/.npy/.npz. ``labels`` may be omitted when the
split gives train and test label rasters (Houston 2013 style); labels are then their union.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from comix.data.errors import DataError
from comix.data.raster_io import FORMATS, LAYOUTS

SPLIT_METHODS = ("stratified", "masks")


@dataclass(frozen=True)
class SourceSpec:
    """One raster: file, variable key, format and stored axis layout."""

    path: Path
    key: str | None = None
    format: str | None = None
    layout: str | None = None


@dataclass(frozen=True)
class SplitSpec:
    """Train/test split: given masks (``train``/``test`` sources) or a seeded stratified draw."""

    method: str
    train: SourceSpec | None = None
    test: SourceSpec | None = None
    train_fraction: float | None = None
    train_per_class: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class DatasetDescription:
    """A parsed, validated description file (see the module docstring for the YAML form)."""

    path: Path
    name: str
    hsi: SourceSpec
    x: tuple[SourceSpec, ...]
    labels: SourceSpec | None
    class_names: tuple[str, ...]
    label_values: tuple[int, ...]
    unlabelled: int
    split: SplitSpec
    wavelengths_nm: np.ndarray | None = None
    x_modality: str = "lidar_dsm"
    x_channel_names: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def _fail(path: Path, message: str) -> DataError:
    return DataError(f"{path}: {message}")


def _source(raw, where: str, base: Path, desc_path: Path) -> SourceSpec:
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict) or "path" not in raw:
        raise _fail(
            desc_path, f"'{where}' is {raw!r}, expected a file path or a mapping with 'path'"
        )
    unknown = set(raw) - {"path", "key", "format", "layout"}
    if unknown:
        raise _fail(
            desc_path,
            f"'{where}' has unknown fields {sorted(unknown)}, expected path, key, format, layout",
        )
    fmt, layout = raw.get("format"), raw.get("layout")
    if fmt is not None and fmt not in FORMATS:
        raise _fail(desc_path, f"'{where}.format' is {fmt!r}, expected one of {list(FORMATS)}")
    if layout is not None and layout not in LAYOUTS:
        raise _fail(desc_path, f"'{where}.layout' is {layout!r}, expected one of {list(LAYOUTS)}")
    file_path = Path(str(raw["path"]))
    return SourceSpec(
        file_path if file_path.is_absolute() else base / file_path,
        None if raw.get("key") is None else str(raw["key"]),
        fmt,
        layout,
    )


def _wavelengths(raw, desc_path: Path) -> np.ndarray | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        try:
            return np.linspace(float(raw["start"]), float(raw["stop"]), int(raw["count"]))
        except (KeyError, TypeError, ValueError) as error:
            raise _fail(
                desc_path, f"'wavelengths_nm' is {raw!r}, expected a list or {{start, stop, count}}"
            ) from error
    try:
        return np.asarray([float(v) for v in raw], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _fail(
            desc_path, f"'wavelengths_nm' is {raw!r}, expected a list of numbers"
        ) from error


def _split(raw, base: Path, desc_path: Path) -> SplitSpec:
    raw = raw or {"method": "stratified", "train_fraction": 0.1}
    if not isinstance(raw, dict):
        raise _fail(desc_path, f"'split' is {raw!r}, expected a mapping")
    method = raw.get("method", "masks" if "train" in raw or "test" in raw else "stratified")
    if method not in SPLIT_METHODS:
        raise _fail(
            desc_path, f"'split.method' is {method!r}, expected one of {list(SPLIT_METHODS)}"
        )
    seed = int(raw.get("seed", 0))
    if method == "masks":
        if "test" not in raw:
            raise _fail(
                desc_path, "'split' with given masks needs at least 'test' (and usually 'train')"
            )
        train = _source(raw["train"], "split.train", base, desc_path) if "train" in raw else None
        return SplitSpec(
            "masks", train, _source(raw["test"], "split.test", base, desc_path), seed=seed
        )
    fraction, per_class = raw.get("train_fraction"), raw.get("train_per_class")
    if (fraction is None) == (per_class is None):
        raise _fail(
            desc_path,
            f"stratified 'split' got train_fraction={fraction!r}, train_per_class={per_class!r}; "
            "expected exactly one of them",
        )
    if fraction is not None and not 0.0 < float(fraction) < 1.0:
        raise _fail(
            desc_path, f"'split.train_fraction' is {fraction!r}, expected a number in (0, 1)"
        )
    if per_class is not None and int(per_class) < 1:
        raise _fail(
            desc_path, f"'split.train_per_class' is {per_class!r}, expected an integer >= 1"
        )
    return SplitSpec(
        "stratified",
        train_fraction=None if fraction is None else float(fraction),
        train_per_class=None if per_class is None else int(per_class),
        seed=seed,
    )


def parse_description(data: dict, desc_path: Path) -> DatasetDescription:
    """Validate a loaded YAML mapping; relative paths are resolved against ``desc_path``'s folder."""
    desc_path = Path(desc_path)
    base = desc_path.parent
    if not isinstance(data, dict):
        raise _fail(desc_path, f"top level is a {type(data).__name__}, expected a mapping")
    for required in ("hsi", "x", "classes"):
        if required not in data:
            raise _fail(
                desc_path,
                f"missing field '{required}', expected hsi, x, classes (and labels or split masks)",
            )
    classes = data["classes"]
    if not isinstance(classes, list) or not classes:
        raise _fail(
            desc_path, f"'classes' is {classes!r}, expected a non-empty list of class names"
        )
    values = data.get("label_values", list(range(1, len(classes) + 1)))
    if not isinstance(values, list) or len(values) != len(classes):
        raise _fail(
            desc_path,
            f"'label_values' has {len(values) if isinstance(values, list) else values!r} entries, "
            f"expected one raw value per class ({len(classes)})",
        )
    unlabelled = int(data.get("unlabelled", 0))
    if unlabelled in values:
        raise _fail(
            desc_path,
            f"unlabelled value {unlabelled} is also a class value in label_values {values}",
        )
    x_raw = data["x"] if isinstance(data["x"], list) else [data["x"]]
    split = _split(data.get("split"), base, desc_path)
    labels = (
        _source(data["labels"], "labels", base, desc_path)
        if data.get("labels") is not None
        else None
    )
    if labels is None and (split.method != "masks" or split.train is None):
        raise _fail(
            desc_path,
            "no 'labels' source, expected one unless 'split' gives both train and test rasters",
        )
    known = {
        "name",
        "hsi",
        "x",
        "labels",
        "classes",
        "label_values",
        "unlabelled",
        "split",
        "wavelengths_nm",
        "x_modality",
        "x_channel_names",
    }
    return DatasetDescription(
        path=desc_path,
        name=str(data.get("name", desc_path.stem)),
        hsi=_source(data["hsi"], "hsi", base, desc_path),
        x=tuple(_source(item, f"x[{i}]", base, desc_path) for i, item in enumerate(x_raw)),
        labels=labels,
        class_names=tuple(str(c) for c in classes),
        label_values=tuple(int(v) for v in values),
        unlabelled=unlabelled,
        split=split,
        wavelengths_nm=_wavelengths(data.get("wavelengths_nm"), desc_path),
        x_modality=str(data.get("x_modality", "lidar_dsm")),
        x_channel_names=tuple(str(c) for c in data.get("x_channel_names", ())),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_description(path: str | Path) -> DatasetDescription:
    """Read and validate a YAML description file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: description file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise DataError(f"{path}: not valid YAML: {error}") from error
    return parse_description(data, path)


def description_to_dict(description: DatasetDescription) -> dict:
    """Plain mapping for YAML, paths relative to the description file's folder when possible."""
    base = description.path.parent

    def source(spec: SourceSpec) -> dict:
        try:
            rel = spec.path.relative_to(base)
        except ValueError:
            rel = spec.path
        out = {"path": rel.as_posix()}
        out.update(
            {
                k: v
                for k, v in (("key", spec.key), ("format", spec.format), ("layout", spec.layout))
                if v
            }
        )
        return out

    split = description.split
    split_out: dict = {"method": split.method, "seed": split.seed}
    if split.method == "masks":
        if split.train is not None:
            split_out["train"] = source(split.train)
        split_out["test"] = source(split.test)
    elif split.train_fraction is not None:
        split_out["train_fraction"] = split.train_fraction
    else:
        split_out["train_per_class"] = split.train_per_class
    out = {
        "name": description.name,
        "hsi": source(description.hsi),
        "x": [source(s) for s in description.x]
        if len(description.x) > 1
        else source(description.x[0]),
        "x_modality": description.x_modality,
    }
    if description.x_channel_names:
        out["x_channel_names"] = list(description.x_channel_names)
    if description.labels is not None:
        out["labels"] = source(description.labels)
    if description.wavelengths_nm is not None:
        out["wavelengths_nm"] = [round(float(w), 4) for w in description.wavelengths_nm]
    out.update(
        {
            "classes": list(description.class_names),
            "label_values": list(description.label_values),
            "unlabelled": description.unlabelled,
            "split": split_out,
        }
    )
    out.update(description.extra)
    return out


def write_description(description: DatasetDescription) -> Path:
    """Write ``description`` as YAML to ``description.path``; atomic (temp name + rename)."""
    import yaml

    from comix.atomic import atomic_path

    with atomic_path(description.path, make_parents=True) as temp:
        text = yaml.safe_dump(
            description_to_dict(description), sort_keys=False, width=120, default_flow_style=None
        )
        temp.write_text(text)
    return description.path
