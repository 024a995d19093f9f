"""Hand-built ONNX graphs with SHIP's fragile parts (no exporter: milliseconds), and tiny SHIP exports (slow).

``spectral_layernorm_graph``: inputs ``ms`` (1, 4, 8, 8) and ``pan`` (1, 1, 8, 8); a real-matrix
Fourier product (MatMul with constant bases, a complex-free product), a decomposed LayerNorm, a
Softmax over channels, the affine coupling's Exp and a learned-looking 1x1 Conv — each node named
after what it is, so tests can name the expected sets independently of the recogniser.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from comix.metadata import ModelRecord

SPECTRAL = ["fwd_ms", "fwd_pan", "product", "inverse"]
LAYERNORM = ["ln_mean", "ln_centre", "ln_square", "ln_var", "ln_eps", "ln_sqrt", "ln_div"]


def _constant(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def spectral_layernorm_graph(task: str = "fusion-pansharpen") -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    n = np.arange(8)
    basis = np.cos(2 * np.pi * np.outer(n, n) / 8)
    nodes = [
        helper.make_node("Conv", ["ms", "w_in"], ["feat"], name="conv_in"),
        helper.make_node("Conv", ["pan", "w_pan"], ["guide"], name="conv_pan"),
        helper.make_node("MatMul", ["feat", "basis"], ["spec_ms"], name="fwd_ms"),
        helper.make_node("MatMul", ["guide", "basis"], ["spec_pan"], name="fwd_pan"),
        helper.make_node("Mul", ["spec_ms", "spec_pan"], ["spec"], name="product"),
        helper.make_node("MatMul", ["spec", "basis_inv"], ["spatial"], name="inverse"),
        helper.make_node("ReduceMean", ["spatial"], ["mean"], name="ln_mean", axes=[1]),
        helper.make_node("Sub", ["spatial", "mean"], ["centred"], name="ln_centre"),
        helper.make_node("Pow", ["centred", "two"], ["squared"], name="ln_square"),
        helper.make_node("ReduceMean", ["squared"], ["variance"], name="ln_var", axes=[1]),
        helper.make_node("Add", ["variance", "eps"], ["variance_eps"], name="ln_eps"),
        helper.make_node("Sqrt", ["variance_eps"], ["std"], name="ln_sqrt"),
        helper.make_node("Div", ["centred", "std"], ["normed"], name="ln_div"),
        helper.make_node("Mul", ["normed", "guide"], ["gated"], name="gate"),
        helper.make_node("Softmax", ["gated"], ["attention"], name="softmax", axis=1),
        helper.make_node("Exp", ["attention"], ["scale"], name="coupling_exp"),
        helper.make_node("Mul", ["feat", "scale"], ["coupled"], name="coupling_mul"),
        helper.make_node("Conv", ["coupled", "w_out"], ["detail"], name="conv_out"),
        helper.make_node("Add", ["ms", "detail"], ["fused"], name="residual"),
    ]
    initializers = [
        _constant("w_in", rng.normal(0, 0.5, (4, 4, 1, 1))),
        _constant("w_pan", rng.normal(0, 0.5, (4, 1, 1, 1))),
        _constant("w_out", rng.normal(0, 0.1, (4, 4, 1, 1))),
        _constant("basis", basis),
        _constant("basis_inv", basis / 8),
        _constant("two", 2.0),
        _constant("eps", 1e-5),
    ]
    graph = helper.make_graph(
        nodes,
        "toy_ship",
        [
            helper.make_tensor_value_info("ms", TensorProto.FLOAT, [1, 4, 8, 8]),
            helper.make_tensor_value_info("pan", TensorProto.FLOAT, [1, 1, 8, 8]),
        ],
        [helper.make_tensor_value_info("fused", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    ModelRecord(
        model_name="toy_ship",
        task=task,
        config={"primary_channels": 4, "data_range": 2047.0},
        hsi_bands=4,
        x_channels=1,
    ).write_onnx(model)
    return model


def overflowing_chain() -> onnx.ModelProto:
    """``x * 300 * 300 / 90000``: the intermediate (~9e4 x |x|) passes FP16's 65 504; the result is x."""
    nodes = [
        helper.make_node("Mul", ["x", "k"], ["a"], name="up1"),
        helper.make_node("Mul", ["a", "k"], ["b"], name="up2"),
        helper.make_node("Div", ["b", "k2"], ["c"], name="down"),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "chain",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4]),
            helper.make_tensor_value_info("g", TensorProto.FLOAT, [1, 1, 4, 4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])],
        [_constant("k", 300.0), _constant("k2", 90000.0)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def export_tiny_ship(folder: Path, variant: str, lowering: str, tile: int) -> Path:
    """A tiny SHIP (fixed seed, random weights; data range of its data) exported static at ``tile``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from fusion_helpers import tiny_ship

    from comix.model import save_checkpoint
    from comix.ship.export import FusionExportOptions, export_fusion_checkpoint

    model = tiny_ship(variant, data_range=2047.0 if variant == "ship_pansharpen" else 1.0)
    save_checkpoint(model, folder / f"{variant}_checkpoint", variant=variant)
    output = folder / f"{variant}_{lowering}.onnx"
    export_fusion_checkpoint(
        folder / f"{variant}_checkpoint",
        output,
        FusionExportOptions(lowering=lowering, dynamic=False, tile=(tile, tile), validate=False),
    )
    return output
