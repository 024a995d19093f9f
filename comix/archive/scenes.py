"""Which scenes an archive run segments: from a folder, a glob or a manifest.

``list_scenes(SOURCE)`` returns :class:`SceneSpec` (name, HSI file, X file(s)) in a stable order:

* a manifest ``.csv``: header ``name,hsi,x`` plus optional ``hsi_key,x_key,layout,nodata`` columns;
* a manifest ``.yaml`` / ``.yml`` with ``scenes:`` — a list of ``{name, hsi, x, hsi_key, x_key, layout,
  nodata}`` or ``{dataset: path/to/dataset.yaml}``; a dataset description (``comix data make-scene``'s
  ``dataset.yaml``) is a manifest of one scene;
* a folder: each ``*/dataset.yaml`` one level down is a scene, and so is each pair of files
  ``NAME<hsi suffix>.EXT`` + ``NAME<x suffix>.EXT`` in it (``pair=("_hsi", "_x")`` by default);
* a glob (``"archive/*/dataset.yaml"``, ``"flights/*_hsi.tif"``): every match, a description or the HSI
  file of a pair.

Relative paths in a manifest are relative to the manifest. Names must be unique (they name the products).
"""

from __future__ import annotations

import csv
import glob
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from comix.data.description import load_description
from comix.data.errors import DataError
from comix.data.raster_io import infer_format
from comix.errors import BadInputError
from comix.runtime.scene_source import RasterRef

DEFAULT_PAIR = ("_hsi", "_x")
DESCRIPTION_NAMES = ("dataset.yaml", "dataset.yml")
CSV_COLUMNS = ("name", "hsi", "x", "hsi_key", "x_key", "layout", "nodata")


class SceneListError(BadInputError):
    """A scene source (folder, glob, manifest) cannot be read; the message says what and what was expected."""


@dataclass
class SceneSpec:
    """One scene of an archive: its name (names the products), HSI file, X file(s) (stacked along C),
    and a nodata value for files that declare none."""

    name: str
    hsi: RasterRef
    x: list[RasterRef]
    nodata: float | None = None
    origin: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "hsi": self.hsi.to_dict(),
            "x": [ref.to_dict() for ref in self.x],
            "nodata": self.nodata,
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SceneSpec:
        return cls(
            data["name"],
            RasterRef(**data["hsi"]),
            [RasterRef(**ref) for ref in data["x"]],
            data.get("nodata"),
            data.get("origin", ""),
        )

    def input_files(self) -> list[Path]:
        """The files this scene reads (an ENVI header's data file included)."""
        files = []
        for ref in [self.hsi, *self.x]:
            path = Path(ref.path)
            files.append(path)
            if path.suffix.lower() == ".hdr" and path.with_suffix("").is_file():
                files.append(path.with_suffix(""))
        return files


def list_scenes(source: str | Path, pair: tuple[str, str] = DEFAULT_PAIR) -> list[SceneSpec]:
    """The scenes named by ``source`` (see the module doc); :class:`SceneListError` when there are none."""
    text = str(source)
    path = Path(text)
    if path.is_dir():
        scenes = _from_folder(path, pair)
        what = f"folder {path}"
    elif path.is_file():
        scenes = _from_manifest(path)
        what = f"manifest {path}"
    elif glob.has_magic(text):
        scenes = _from_matches(sorted(Path(m) for m in glob.glob(text, recursive=True)), pair)
        what = f"glob {text!r}"
    else:
        raise SceneListError(
            f"--scenes {text}: got no such file or folder, expected a folder, a glob or a "
            "manifest (.csv / .yaml)"
        )
    if not scenes:
        raise SceneListError(
            f"{what}: got no scenes, expected */dataset.yaml files or file pairs NAME{pair[0]}.EXT + "
            f"NAME{pair[1]}.EXT (or a manifest listing them)"
        )
    names = [scene.name for scene in scenes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SceneListError(
            f"{what}: scene names {duplicates} appear more than once, expected unique names "
            "(they name the products; give names in a manifest)"
        )
    return scenes


def _from_folder(folder: Path, pair: tuple[str, str]) -> list[SceneSpec]:
    descriptions = [p for name in DESCRIPTION_NAMES for p in sorted(folder.glob(f"*/{name}"))]
    descriptions += [folder / name for name in DESCRIPTION_NAMES if (folder / name).is_file()]
    return [_from_description(p) for p in descriptions] + _pairs(sorted(folder.iterdir()), pair)


def _from_matches(matches: list[Path], pair: tuple[str, str]) -> list[SceneSpec]:
    scenes = [_from_description(p) for p in matches if p.name in DESCRIPTION_NAMES]
    return scenes + _pairs(
        [p for p in matches if p.name not in DESCRIPTION_NAMES], pair, require_x=True
    )


def _pairs(files: list[Path], pair: tuple[str, str], require_x: bool = False) -> list[SceneSpec]:
    hsi_suffix, x_suffix = pair
    scenes = []
    for path in files:
        if not path.is_file() or not path.stem.endswith(hsi_suffix) or not _is_raster(path):
            continue
        name = path.stem[: -len(hsi_suffix)] if hsi_suffix else path.stem
        candidates = [path.with_name(f"{name}{x_suffix}{path.suffix}")]
        candidates += sorted(path.parent.glob(f"{glob.escape(name)}{glob.escape(x_suffix)}.*"))
        x_path = next((c for c in candidates if c.is_file() and _is_raster(c)), None)
        if x_path is None:
            if require_x:
                raise SceneListError(
                    f"{path}: no X file {name}{x_suffix}.* beside it, expected one per HSI file"
                )
            continue
        scenes.append(
            SceneSpec(
                name or path.parent.name,
                RasterRef(str(path)),
                [RasterRef(str(x_path))],
                origin=str(path.parent),
            )
        )
    return scenes


def _is_raster(path: Path) -> bool:
    try:
        infer_format(path)
    except DataError:
        return False
    return (
        path.suffix.lower() not in (".img", ".dat", ".raw", ".bsq", ".bil", ".bip")
        or not path.with_name(path.name + ".hdr").is_file()
    )  # ENVI: the header names the scene


def _from_description(path: Path) -> SceneSpec:
    try:
        description = load_description(path)
    except DataError as error:
        raise SceneListError(str(error)) from None
    hsi = description.hsi
    return SceneSpec(
        description.name or path.parent.name,
        RasterRef(str(hsi.path), hsi.key, hsi.layout),
        [RasterRef(str(s.path), s.key, s.layout) for s in description.x],
        origin=str(path),
    )


def _from_manifest(path: Path) -> list[SceneSpec]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_csv(path)
    if suffix in (".yaml", ".yml"):
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise SceneListError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
        if isinstance(document, dict) and "hsi" in document and "scenes" not in document:
            return [_from_description(path)]
        if not isinstance(document, dict) or not isinstance(document.get("scenes"), list):
            raise SceneListError(
                f"{path}: got {type(document).__name__} without a 'scenes' list, expected "
                "'scenes: [{name, hsi, x}, ...]' or a dataset description"
            )
        return [_from_entry(entry, path, index) for index, entry in enumerate(document["scenes"])]
    raise SceneListError(
        f"--scenes {path}: got a file with suffix {suffix!r}, expected a manifest (.csv, .yaml) "
        "or a folder or glob"
    )


def _from_csv(path: Path) -> list[SceneSpec]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("hsi", "x") if c not in columns]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if missing or unknown:
            raise SceneListError(
                f"{path}: got columns {columns}, expected 'hsi' and 'x' and optionally "
                f"{[c for c in CSV_COLUMNS if c not in ('hsi', 'x')]}"
            )
        return [
            _from_entry(
                {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if v},
                path,
                index,
            )
            for index, row in enumerate(reader)
        ]


def _from_entry(entry, manifest: Path, index: int) -> SceneSpec:
    where = f"{manifest}: scene {index + 1}"
    if not isinstance(entry, dict):
        raise SceneListError(
            f"{where}: got {type(entry).__name__}, expected a mapping with hsi and x"
        )
    if "dataset" in entry:
        return _from_description(_resolve(entry["dataset"], manifest))
    for key in ("hsi", "x"):
        if not entry.get(key):
            raise SceneListError(f"{where}: no '{key}', expected the {key.upper()} file")
    hsi = _resolve(entry["hsi"], manifest)
    x_items = entry["x"] if isinstance(entry["x"], list) else [entry["x"]]
    nodata = entry.get("nodata")
    try:
        nodata = None if nodata in (None, "") else float(nodata)
    except (TypeError, ValueError):
        raise SceneListError(f"{where}: nodata {nodata!r}, expected a number") from None
    layout = entry.get("layout")
    name = str(entry.get("name") or hsi.stem)
    return SceneSpec(
        name,
        RasterRef(str(hsi), entry.get("hsi_key"), layout),
        [RasterRef(str(_resolve(item, manifest)), entry.get("x_key"), layout) for item in x_items],
        nodata,
        origin=f"{manifest}:{index + 1}",
    )


def _resolve(value, manifest: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else manifest.parent / path
