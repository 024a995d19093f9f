"""Infrared-visible image pairs in folders, the way IR-VIS fusion sets are shared
(TNO, RoadScene, MSRS, M3FD)::

    root/ir/00001.png   root/vi/00001.png     (also Ir/Vis, IR/VI, infrared/visible; PNG, JPEG, BMP, TIFF)
    root/mask/00001.png (optional: thermal-target masks, non-zero = target)

Pairs are matched by file stem; 8-bit images are scaled by 1/255 and 16-bit ones by 1/65535. Every problem
is one :class:`~comix.data.errors.DataError` naming the folder or file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.errors import DataError
from comix.ship.data.pairs import IrVisSet

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
INFRARED_NAMES = ("ir", "Ir", "IR", "infrared", "Infrared", "thermal")
VISIBLE_NAMES = ("vi", "Vi", "VI", "vis", "Vis", "VIS", "visible", "Visible")
MASK_NAMES = ("mask", "masks", "mask_ir", "Mask")


def _find(root: Path, names: tuple[str, ...], what: str, required: bool = True) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    if required:
        raise DataError(
            f"{root}: no {what} folder, expected one of {list(names)} with the {what} images"
        )
    return None


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def read_image(path: Path) -> np.ndarray:
    """float32 (C, H, W) in [0, 1]: gray -> C = 1, RGB(A) -> C = 3 (alpha dropped)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image)
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{path}: not a readable image ({type(error).__name__}); expected PNG/JPEG/BMP/TIFF"
        ) from None
    if array.dtype == np.uint8:
        scaled = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16 or array.dtype == np.int32 and array.max(initial=0) > 255:
        scaled = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        scaled = array.astype(np.float32)
    else:
        scaled = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    if scaled.ndim == 2:
        return scaled[None]
    if scaled.ndim == 3 and scaled.shape[2] in (3, 4):
        return np.ascontiguousarray(scaled[..., :3].transpose(2, 0, 1))
    raise DataError(f"{path}: got image shape {array.shape}, expected gray (H, W) or RGB (H, W, 3)")


def read_image_pairs(root: str | os.PathLike, gray_visible: bool = False) -> IrVisSet:
    """All pairs under ``root`` (module doc). ``gray_visible`` converts RGB visible images to luminance."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder, expected a folder with ir/ and vi/ subfolders of image pairs"
        )
    ir_folder = _find(root, INFRARED_NAMES, "infrared")
    vis_folder = _find(root, VISIBLE_NAMES, "visible")
    mask_folder = _find(root, MASK_NAMES, "mask", required=False)
    ir_files, vis_files = _images(ir_folder), _images(vis_folder)
    if not ir_files:
        raise DataError(f"{ir_folder}: no images, expected files ending in {list(IMAGE_SUFFIXES)}")
    unmatched = sorted(set(ir_files) ^ set(vis_files))
    if unmatched:
        raise DataError(
            f"{root}: {len(unmatched)} image(s) without a partner (e.g. {unmatched[:3]}); expected the same "
            f"file names in {ir_folder.name}/ and {vis_folder.name}/"
        )
    mask_files = _images(mask_folder) if mask_folder is not None else {}
    if mask_folder is not None and set(mask_files) != set(ir_files):
        raise DataError(
            f"{mask_folder}: got masks for {len(mask_files)} of {len(ir_files)} pairs, expected one per pair"
        )
    visible, infrared, masks, names = [], [], [], []
    for stem in sorted(ir_files):
        ir = read_image(ir_files[stem])
        vis = read_image(vis_files[stem])
        if ir.shape[0] == 3:
            ir = ir.mean(
                axis=0, keepdims=True
            )  # some sets store the thermal image as 3 equal channels
        if gray_visible and vis.shape[0] == 3:
            vis = np.tensordot(np.asarray([0.299, 0.587, 0.114], np.float32), vis, axes=1)[None]
        if vis.shape[1:] != ir.shape[1:]:
            raise DataError(
                f"{root}: {stem}: got visible {vis.shape[1]}x{vis.shape[2]} and infrared "
                f"{ir.shape[1]}x{ir.shape[2]} pixels, expected registered images of one size"
            )
        visible.append(vis)
        infrared.append(ir)
        names.append(stem)
        if mask_files:
            mask = read_image(mask_files[stem])[:1]
            if mask.shape != ir.shape:
                raise DataError(
                    f"{mask_files[stem]}: got {mask.shape[1]}x{mask.shape[2]}, expected the infrared "
                    f"image's {ir.shape[1]}x{ir.shape[2]}"
                )
            masks.append((mask > 0).astype(np.float32))
    return IrVisSet(visible, infrared, masks or None, names, root.name)


def write_image(path: Path, image: np.ndarray) -> None:
    """(C, H, W) in [0, 1] -> an 8-bit PNG (gray or RGB), written atomically."""
    from PIL import Image

    array = np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    with atomic_path(path) as temp:
        Image.fromarray(array).save(temp, format="PNG")


def write_image_pairs(root: str | os.PathLike, pairs: IrVisSet) -> Path:
    """Write ``pairs`` as ``root/ir``, ``root/vi`` (and ``root/mask``) 8-bit PNGs named after the pairs."""
    root = Path(root)
    for folder in ("ir", "vi") + (("mask",) if pairs.masks is not None else ()):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(pairs.names):
        write_image(root / "ir" / f"{name}.png", pairs.infrared[index])
        write_image(root / "vi" / f"{name}.png", pairs.visible[index])
        if pairs.masks is not None:
            write_image(root / "mask" / f"{name}.png", pairs.masks[index])
    return root
