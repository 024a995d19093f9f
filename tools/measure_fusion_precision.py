"""Which fragile parts of a SHIP graph must stay FP32 in an FP16 graph: the measurement behind
``comix.ship.calibration.rules.FP16_GROUPS`` (docs/ship.md, "Precision").

    python tools/measure_fusion_precision.py runs/demo_pansharpen/model.onnx \
        --data runs/demo_pansharpen/data/test.h5 \
        --calibration-data runs/demo_pansharpen/data/train.h5 [--tiles 16] [--threads 1]

FP16 graphs of one FP32 graph, each scored on the held-out data against FP32 (the task's metrics, the budget
metric's loss, PSNR of the fused image against FP32's):

* ``all groups``: general FP16 rules + every candidate group; ``shipped rule``: the default groups;
* ``without <group>``: the same with one group released to FP16 (the general rules, including the calibrated
  range rule, still apply — so a row shows what the group adds beyond them);
* ``general rules only``: no fusion group.

On the CPU, ONNX Runtime runs FP16 nodes without an FP16 kernel in FP32 (storage rounding between nodes, FP32
arithmetic): the rows measure FP16 storage and range, not FP16 accumulation, which is a GPU matter.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import onnxruntime as ort

from comix.calibration.data import open_calibration_data
from comix.calibration.fp16 import convert_fp16, fp32_nodes
from comix.calibration.graph import load_fp32_model
from comix.calibration.statistics import collect_statistics
from comix.metadata import ModelRecord
from comix.runtime.ort_backend import OnnxRuntimeBackend
from comix.ship.calibration.accuracy import data_range_of, fidelity
from comix.ship.calibration.rules import FP16_DEFAULT_GROUPS, FP16_GROUPS, fusion_fp32_nodes
from comix.ship.train.evaluate import metric_deltas, score_fusion


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="FP32 SHIP graph (comix fusion export)")
    parser.add_argument(
        "--data", type=Path, required=True, help="held-out fusion data (.h5 or ir/vi folder)"
    )
    parser.add_argument(
        "--calibration-data", type=Path, help="data for the range statistics (default: --data)"
    )
    parser.add_argument("--tiles", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    model, _ = load_fp32_model(args.model)
    record = ModelRecord.read_onnx(model)
    source = open_calibration_data(model, record, args.data, args.calibration_data)
    tiles = source.tiles(args.tiles, None, 0)
    statistics = collect_statistics(model, tiles, "max", True, 100.0, [], threads=args.threads)
    reference = score_fusion(
        OnnxRuntimeBackend(args.model, threads=args.threads), source.scored, keep=True
    )
    configurations = {
        "all groups": tuple(FP16_GROUPS),
        "shipped rule (" + ", ".join(FP16_DEFAULT_GROUPS) + ")": FP16_DEFAULT_GROUPS,
    }
    configurations.update(
        {f"without {g}": tuple(x for x in FP16_GROUPS if x != g) for g in FP16_GROUPS}
    )
    configurations["general rules only"] = ()
    metric = source.budget_metric
    print(
        f"{record.model_name} ({record.task}, {args.model}); held-out {args.data}; "
        f"{len(tiles)} calibration tiles {tiles.tile_size[0]}x{tiles.tile_size[1]}; "
        f"ONNX Runtime {ort.__version__} CPU; "
        f"{platform.processor() or platform.machine()}"
    )
    names = list(reference.metrics)
    print(
        f"| FP16 graph | nodes kept FP32 | {metric} loss | PSNR vs FP32 (dB) | max \\|Δ\\| | "
        + " | ".join(f"Δ{n}" for n in names if n != metric)
        + " |"
    )
    print("|---|---|---|---|---|" + "---|" * (len(names) - 1))
    for label, groups in configurations.items():
        keep = fp32_nodes(model, statistics, fusion_fp32_nodes(model, groups))
        graph, _ = convert_fp16(model, keep)
        scores = score_fusion(
            OnnxRuntimeBackend(graph.SerializeToString(), threads=args.threads),
            source.scored,
            keep=True,
        )
        deltas = metric_deltas(scores.metrics, reference.metrics)
        close = fidelity(scores.fused, reference.fused, data_range_of(source.scored))
        print(
            f"| {label} | {len(keep)} | {deltas[metric]['loss']:+.4g} | {close['psnr_db']:.2f} | "
            f"{close['max_abs']:.3g} | "
            + " | ".join(f"{deltas[n]['change']:+.3g}" for n in names if n != metric)
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
