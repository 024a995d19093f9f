"""SHIP vs the classic methods on held-out synthetic data, trained on the CPU in a few minutes.

    python tools/compare_fusion_baselines.py --task pansharpen --threads 1
    python tools/compare_fusion_baselines.py --task irvis --threads 1 --steps 900
    python tools/compare_fusion_baselines.py --task irvis --threads 1 --loss-weight max_l1=10 \
        --loss-weight ssim=0

Makes Houston-like scenes (training seeds 0.., held-out seeds 1000..), the task's data (Wald's protocol /
thermal band), trains a SHIP variant (default width 8 for the CPU budget), scores it and the
baselines with the same tiling and metrics, and prints a Markdown table with the machine, the
command and the seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from comix.runtime.torch_backend import TorchBackend
from comix.ship.data.make import FusionDataPlan, make_irvis_sets, make_pansharpen_sets
from comix.ship.train.baselines import baselines_for
from comix.ship.train.evaluate import higher_is_better, score_fusion
from comix.ship.train.recipe import IRVIS_LOSS_WEIGHTS, PANSHARPEN_LOSS_WEIGHTS, FusionRecipe
from comix.ship.train.trainer import FusionTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("pansharpen", "irvis"), default="pansharpen")
    parser.add_argument("--variant", default=None, help="default: ship_pansharpen / ship_irvis")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--train-scenes", type=int, default=2)
    parser.add_argument("--test-scenes", type=int, default=1)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="runs/compare_fusion")
    parser.add_argument(
        "--loss-weight",
        action="append",
        default=[],
        metavar="TERM=WEIGHT",
        help="a training loss weight (repeatable; default: the task's, comix.ship.train.recipe)",
    )
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    plan = FusionDataPlan(
        task=args.task,
        size=args.size,
        train_scenes=args.train_scenes,
        test_scenes=args.test_scenes,
        seed=args.seed,
        patch=64,
    )
    sets = make_pansharpen_sets(plan) if args.task == "pansharpen" else make_irvis_sets(plan)
    data_seconds = time.perf_counter() - start
    train, test = sets["train"], sets["test"]
    variant = args.variant or ("ship_pansharpen" if args.task == "pansharpen" else "ship_irvis")
    weights = {}
    for item in args.loss_weight:
        term, _, value = item.partition("=")
        weights[term] = float(value)
    if weights:  # a partial list completes from the defaults: each run names only what it changes
        weights = {
            **(PANSHARPEN_LOSS_WEIGHTS if args.task == "pansharpen" else IRVIS_LOSS_WEIGHTS),
            **weights,
        }
    recipe = FusionRecipe(
        variant=variant,
        steps=args.steps,
        batch_size=args.batch_size,
        patch=args.patch,
        seed=args.seed,
        eval_every=args.steps,
        model_overrides={"width": args.width},
        loss_weights=weights,
    )
    result = FusionTrainer(train, None, recipe, args.output).fit()
    from comix.model import load_checkpoint

    backend = TorchBackend(load_checkpoint(args.output).model)
    task = backend.info.task
    rows = {
        f"{variant} (width {args.width}, {args.steps} steps)": score_fusion(backend, test).metrics
    }
    channels = int(backend.info.config["primary_channels"])
    for name, baseline in baselines_for(task, channels).items():
        rows[name] = score_fusion(baseline, test).metrics
    extra = {}
    if "test_full" in sets:
        extra = {
            name: score_fusion(runner, sets["test_full"]).metrics
            for name, runner in {"model": backend, **baselines_for(task, channels)}.items()
        }
    names = list(next(iter(rows.values())))
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch thread(s); data {data_seconds:.0f} s, "
        f"training {result.seconds:.0f} s"
    )
    print(
        "| method | "
        + " | ".join(f"{n} {'↑' if higher_is_better(n) else '↓'}" for n in names)
        + " |"
    )
    print("|---|" + "---|" * len(names))
    for method, metrics in rows.items():
        print(f"| {method} | " + " | ".join(f"{metrics[n]:.4f}" for n in names) + " |")
    if extra:
        full_names = list(next(iter(extra.values())))
        print("\nfull resolution (no reference; truth_* = against the synthetic ideal MS):")
        print("| method | " + " | ".join(full_names) + " |")
        print("|---|" + "---|" * len(full_names))
        for method, metrics in extra.items():
            print(f"| {method} | " + " | ".join(f"{metrics[n]:.4f}" for n in full_names) + " |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "args": vars(args),
                    "reduced": rows,
                    "full": extra,
                    "data_seconds": data_seconds,
                    "train_seconds": result.seconds,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
