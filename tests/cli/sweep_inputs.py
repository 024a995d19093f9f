"""Tiny hand-made inputs for the bad-input sweep (made once per session in about a second).

Everything is small enough that a command reaches its checks at once: a 6-band 24 x 24 GeoTIFF scene with
its dataset description, X rasters that do not fit it (moved 12.5 km, another size, another CRS), an all-NaN
scene, an 8-band scene, the same scene as ``.npy`` arrays, a two-node ONNX "segmentation model" (Concat +
1x1 Conv, with a model record), the same as a SHIP fusion model, two IR-VIS PNG pairs, a graph with a node
of an unknown custom domain, and files that are not what they claim (a PNG and an empty file named
``.onnx``, a broken checkpoint).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comix.data.georef import GeoRef
from comix.data.geotiff_io import write_geotiff
from comix.data.scene import Scene
from comix.data.scene_writer import write_scene
from comix.metadata import ModelRecord
from comix.tasks import FUSION_PANSHARPEN, SEGMENTATION

BANDS, X_CHANNELS, CLASSES, SIZE = 6, 1, 4, 24
CLASS_NAMES = ["water", "trees", "roofs", "roads"]
WEST, NORTH, PIXEL, CRS = 268000.0, 3290500.0, 2.5, "EPSG:26915"
GEOREF = GeoRef.from_origin(WEST, NORTH, PIXEL, PIXEL, CRS)


def _scene(bands: int = BANDS, seed: int = 0, fill: float | None = None) -> Scene:
    """A 24 x 24 scene whose labels cover four quadrants; every other labelled pixel is held out."""
    rng = np.random.default_rng(seed)
    hsi = rng.uniform(0.0, 1.0, (bands, SIZE, SIZE)).astype(np.float32)
    if fill is not None:
        hsi[:] = fill
    x = rng.uniform(0.0, 30.0, (X_CHANNELS, SIZE, SIZE)).astype(np.float32)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    labels = (1 + (rows >= SIZE // 2) * 2 + (cols >= SIZE // 2)).astype(np.int64)
    test = (rows + cols) % 2 == 0
    return Scene(
        hsi=hsi,
        x=x,
        labels=labels,
        class_names=tuple(CLASS_NAMES),
        train_mask=~test,
        test_mask=test,
        wavelengths_nm=np.linspace(450.0, 950.0, bands),
        x_channel_names=("dsm",),
        georef=GEOREF,
        name="sweep",
    )


def _description_with_x(source: Path, x_path: Path, target: Path) -> Path:
    """A copy of ``source``'s dataset.yaml with the same HSI and masks and ``x_path`` as its X raster."""
    target.mkdir()
    text = source.read_text()
    for name in ("hsi.tif", "train.tif", "test.tif"):
        text = text.replace(f"path: {name}", f"path: {source.parent / name}")
    text = text.replace("path: x.tif", f"path: {x_path}")
    (target / "dataset.yaml").write_text(text)
    return target / "dataset.yaml"


def _onnx_model(
    path: Path, task: str = SEGMENTATION, foreign_domain: bool = False, seed: int = 0
) -> Path:
    """hsi (N, 6, H, W) + x (N, 1, H, W) -> Concat -> 1x1 Conv -> logits (N, 4, H, W), with a record; with
    ``foreign_domain`` the Conv's output goes through a ``com.example::Mystery`` node first; ``seed`` draws
    the weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 0.3, (CLASSES, BANDS + X_CHANNELS, 1, 1)).astype(np.float32)
    bias = np.zeros(CLASSES, np.float32)
    conv_out = "mixed" if foreign_domain else "logits"
    nodes = [
        helper.make_node("Concat", ["hsi", "x"], ["both"], axis=1),
        helper.make_node("Conv", ["both", "weight", "bias"], [conv_out], kernel_shape=[1, 1]),
    ]
    opsets = [helper.make_opsetid("", 17)]
    if foreign_domain:
        nodes.append(helper.make_node("Mystery", ["mixed"], ["logits"], domain="com.example"))
        opsets.append(helper.make_opsetid("com.example", 1))

    def value(name: str, channels: int):
        return helper.make_tensor_value_info(
            name, TensorProto.FLOAT, ["batch", channels, "height", "width"]
        )

    graph = helper.make_graph(
        nodes,
        "sweep",
        [value("hsi", BANDS), value("x", X_CHANNELS)],
        [value("logits", CLASSES)],
        [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9
    fusion = task != SEGMENTATION
    ModelRecord(
        model_name="sweep_ship" if fusion else "sweep",
        task=task,
        config={"primary_channels": BANDS, "guide_channels": X_CHANNELS} if fusion else {},
        class_names=[] if fusion else CLASS_NAMES,
        class_colors=[] if fusion else [[0, 0, 255], [0, 128, 0], [200, 0, 0], [90, 90, 90]],
        hsi_bands=BANDS,
        x_channels=X_CHANNELS,
        graph_kind="portable",
    ).write_onnx(model)
    onnx.save(model, str(path))
    return path


def make_inputs(folder: Path) -> Path:
    """Write every input of the sweep into ``folder`` (see the module doc); returns ``folder``."""
    scene = _scene()
    description = write_scene(scene, folder / "scene")
    write_scene(_scene(bands=8, seed=1), folder / "scene8")
    write_scene(_scene(fill=np.nan), folder / "nan_scene")
    moved = GeoRef.from_origin(WEST + 12500.0, NORTH, PIXEL, PIXEL, CRS)
    write_geotiff(folder / "x_moved.tif", scene.x, moved)
    write_geotiff(folder / "x_small.tif", scene.x[:, :20], GEOREF)
    write_geotiff(folder / "x_utm.tif", scene.x, GeoRef(GEOREF.transform, "EPSG:32615"))
    _description_with_x(description, folder / "x_moved.tif", folder / "moved")
    cube = folder / "cube"
    cube.mkdir()
    np.save(cube / "hsi.npy", np.moveaxis(scene.hsi, 0, -1))  # HWC
    np.save(cube / "x.npy", np.moveaxis(scene.x, 0, -1))
    _onnx_model(folder / "model.onnx")
    _onnx_model(folder / "other.onnx", seed=1)  # the same model with other weights: other classes
    _onnx_model(folder / "ship.onnx", task=FUSION_PANSHARPEN)
    _onnx_model(folder / "foreign.onnx", foreign_domain=True)
    _onnx_model(
        folder / "net.trt.onnx"
    )  # named like the graph `comix build` writes beside net.engine
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (folder / "empty.onnx").write_bytes(b"")
    (folder / "notes.txt").write_text("not a dataset\n")
    (folder / "garbage.yaml").write_text("hsi: [unclosed\n")
    broken = folder / "broken_ckpt"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    (broken / "model.safetensors").write_bytes(b"\0" * 64)
    (folder / "fake_tensorrt").mkdir()  # a folder without include/NvInfer.h
    _irvis_pairs(folder / "irvis")
    return folder


def _irvis_pairs(folder: Path) -> None:
    """Two 32 x 32 infrared / visible PNG pairs (``ir/``, ``vi/``), as ``comix fusion`` reads them."""
    from PIL import Image

    rng = np.random.default_rng(2)
    for kind, channels in (("ir", None), ("vi", 3)):
        (folder / kind).mkdir(parents=True)
        for index in range(2):
            shape = (32, 32) if channels is None else (32, 32, channels)
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / kind / f"{index:05d}.png")
