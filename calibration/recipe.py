"""What a calibrated graph is made with: precisions, targets, calibration methods and their defaults.

This module is the one place each calibration default is written; the command, the demo and the tests
refer to these names. The recipe of a finished graph (:class:`PrecisionRecipe`) is stored in the model
record (``ModelRecord.precision``, :mod:`comix.metadata`).

Targets (``--target``), because the fast INT8 form differs between runtimes:

* ``tensorrt`` — symmetric signed INT8 everywhere (zero point 0), per-channel weight scales, per-tensor
  activation scales, Q/DQ only on the inputs of Conv / MatMul / Gemm (where TensorRT fuses them), biases
  left in float (TensorRT folds them itself). Runs in TensorRT 10.x and 11 as a strongly typed network.
* ``cpu`` — the form ONNX Runtime's x86 kernels fuse: unsigned INT8 activations with a zero point,
  signed per-channel weights reduced to 7 bits (``reduce_range``: without VNNI, AVX2's u8*s8 pair sums
  saturate at 16 bits, which is what wrecked the classes in the issue's U8S8 trial), INT32 biases. Its
  speed pass (:mod:`comix.calibration.speed`) keeps float the node groups that run slower in INT8 on the
  calibrating CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PRECISIONS = ("fp16", "int8")
METHODS = ("entropy", "percentile", "max")
DEFAULT_METHOD = "percentile"
DEFAULT_PERCENTILE = 99.99
DEFAULT_TILES = 32
DEFAULT_SEED = 0
HISTOGRAM_BINS = 2048  # entropy and percentile histograms (TensorRT's calibrator uses 2048 too)
ENTROPY_QUANTIZED_BINS = 128  # int8 levels on one side of zero
FP16_MAX = 65504.0  # largest finite float16
FP16_HEADROOM = 0.5  # a tensor whose calibrated |max| passes FP16_MAX * this stays FP32


@dataclass(frozen=True)
class Int8Target:
    """The Q/DQ form one runtime fuses (see the module doc)."""

    name: str
    activation_type: str  # "int8" or "uint8"
    activation_symmetric: bool
    reduce_range: bool  # 7-bit weights
    quantize_bias: bool
    op_types: tuple[str, ...]
    description: str


TARGETS = {
    "tensorrt": Int8Target(
        "tensorrt",
        "int8",
        True,
        False,
        False,
        ("Conv", "MatMul", "Gemm"),
        "symmetric S8S8, Q/DQ on Conv/MatMul/Gemm inputs, float biases (TensorRT 10.x/11)",
    ),
    "cpu": Int8Target(
        "cpu",
        "uint8",
        False,
        True,
        True,
        ("Conv", "MatMul", "Gemm"),
        "U8S8 with 7-bit weights, INT32 biases: the QDQ form ONNX Runtime fuses on AVX2",
    ),
}
DEFAULT_TARGET = "tensorrt"


@dataclass
class PrecisionRecipe:
    """How a graph was made; stored as ``ModelRecord.precision`` (JSON) of the calibrated graph.

    ``kept_float`` lists the nodes left in FP32 (FP16 graph) or unquantised (INT8 graph), each
    ``{"node", "op_type", "reason"}``; ``fallback`` the nodes the ``--max-drop`` search moved back.
    """

    precision: str
    target: str
    method: str = ""
    tiles: int = 0
    tile_size: list[int] = field(default_factory=list)
    data_sha256: str = ""
    source_model_sha256: str = ""
    options: dict = field(default_factory=dict)
    kept_float: list[dict] = field(default_factory=list)
    fallback: list[str] = field(default_factory=list)
    tools: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)
