"""Write a :class:`Scene` in the file formats of the public benchmarks, plus its description file,
so a synthetic demo goes through the same readers as real data.

Formats:

* ``geotiff`` (Houston 2013 style): ``hsi.tif`` (bands, georeferenced, wavelengths in band metadata),
  ``x.tif``, and train/test label rasters ``train.tif``/``test.tif`` (uint8, 0 = none); labels are
  their union.
* ``mat`` (Trento style): ``hsi.mat`` and ``x.mat`` (key ``data``, MATLAB order ``(H, W, C)``) and
  ``gt.mat`` with ``labels``, ``mask_train``, ``mask_test``; ``mat_version`` ``"5"`` or ``"7.3"``.
* ``envi``: ``hsi.img`` + ``hsi.img.hdr`` (bsq, wavelengths, map info), ``x.img``, ``labels.img``,
  ``train.img``, ``test.img``.
* ``npz``: one ``scene.npz`` with ``hsi`` (bands, H, W), ``x``, ``labels``, ``train``, ``test``.

Every file is written under a temporary name and renamed; the description is written last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.description import DatasetDescription, SourceSpec, SplitSpec, write_description
from comix.data.envi_io import write_envi
from comix.data.errors import DataError
from comix.data.geotiff_io import write_geotiff
from comix.data.mat_io import MAT_VERSIONS, write_mat
from comix.data.scene import Scene

WRITE_FORMATS = ("geotiff", "mat", "envi", "npz")
DESCRIPTION_NAME = "dataset.yaml"


def _label_dtype(scene: Scene):
    return np.uint8 if scene.num_classes < 255 else np.uint16


def check_write_options(fmt: str, mat_version: str = "5") -> None:
    """Refuse an unknown ``fmt`` (not in :data:`WRITE_FORMATS`) or ``mat_version`` (not "5"/"7.3") with a
    :class:`DataError`; callers run it before slow work such as generating a scene."""
    if fmt not in WRITE_FORMATS:
        raise DataError(f"write_scene: got format {fmt!r}, expected one of {list(WRITE_FORMATS)}")
    if mat_version not in MAT_VERSIONS:
        raise DataError(
            f"write_scene: got MAT version {mat_version!r}, expected one of {list(MAT_VERSIONS)}"
        )


def write_scene(
    scene: Scene,
    folder: str | Path,
    fmt: str = "geotiff",
    mat_version: str = "5",
    description_name: str = DESCRIPTION_NAME,
) -> Path:
    """Write ``scene`` into ``folder`` as ``fmt`` (see the module docstring). Returns the description path."""
    check_write_options(fmt, mat_version)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dtype = _label_dtype(scene)
    labels = scene.labels.astype(dtype)
    train = np.where(scene.train_mask, scene.labels, 0).astype(dtype)
    test = np.where(scene.test_mask, scene.labels, 0).astype(dtype)
    extra = (
        {"georef": scene.georef.to_dict()}
        if scene.georef is not None and fmt in ("mat", "npz")
        else {}
    )
    extra.update({k: v for k, v in scene.metadata.items() if isinstance(v, (str, int, float))})
    if fmt == "geotiff":
        write_geotiff(folder / "hsi.tif", scene.hsi, scene.georef, scene.wavelengths_nm)
        write_geotiff(folder / "x.tif", scene.x, scene.georef)
        write_geotiff(folder / "train.tif", train, scene.georef)
        write_geotiff(folder / "test.tif", test, scene.georef)
        hsi, x = SourceSpec(folder / "hsi.tif"), SourceSpec(folder / "x.tif")
        label_source = None
        split = SplitSpec(
            "masks", train=SourceSpec(folder / "train.tif"), test=SourceSpec(folder / "test.tif")
        )
    elif fmt == "mat":
        write_mat(folder / "hsi.mat", {"data": np.moveaxis(scene.hsi, 0, -1)}, mat_version)
        write_mat(folder / "x.mat", {"data": np.moveaxis(scene.x, 0, -1)}, mat_version)
        write_mat(
            folder / "gt.mat",
            {"labels": labels, "mask_train": train, "mask_test": test},
            mat_version,
        )
        hsi = SourceSpec(folder / "hsi.mat", "data", layout="HWC")
        x = SourceSpec(folder / "x.mat", "data", layout="HWC")
        label_source = SourceSpec(folder / "gt.mat", "labels")
        split = SplitSpec(
            "masks",
            train=SourceSpec(folder / "gt.mat", "mask_train"),
            test=SourceSpec(folder / "gt.mat", "mask_test"),
        )
    elif fmt == "envi":
        for name, array in (
            ("hsi", scene.hsi),
            ("x", scene.x),
            ("labels", labels),
            ("train", train),
            ("test", test),
        ):
            write_envi(
                folder / f"{name}.img",
                array,
                scene.wavelengths_nm if name == "hsi" else None,
                scene.georef,
            )
        hsi, x = SourceSpec(folder / "hsi.img.hdr"), SourceSpec(folder / "x.img.hdr")
        label_source = SourceSpec(folder / "labels.img.hdr")
        split = SplitSpec(
            "masks",
            train=SourceSpec(folder / "train.img.hdr"),
            test=SourceSpec(folder / "test.img.hdr"),
        )
    else:
        with atomic_path(folder / "scene.npz", make_parents=True) as temp:
            np.savez_compressed(
                temp, hsi=scene.hsi, x=scene.x, labels=labels, train=train, test=test
            )
        hsi = SourceSpec(folder / "scene.npz", "hsi", layout="CHW")
        x = SourceSpec(folder / "scene.npz", "x", layout="CHW")
        label_source = SourceSpec(folder / "scene.npz", "labels")
        split = SplitSpec(
            "masks",
            train=SourceSpec(folder / "scene.npz", "train"),
            test=SourceSpec(folder / "scene.npz", "test"),
        )
    description = DatasetDescription(
        path=folder / description_name,
        name=scene.name,
        hsi=hsi,
        x=(x,),
        labels=label_source,
        class_names=scene.class_names,
        label_values=tuple(range(1, scene.num_classes + 1)),
        unlabelled=0,
        split=split,
        wavelengths_nm=scene.wavelengths_nm,
        x_modality=scene.x_modality,
        x_channel_names=scene.x_channel_names,
        extra=extra,
    )
    return write_description(description)
