"""comix_t against per-pixel random forests on a synthetic Houston-like scene, under a CPU time budget.

Measures the project requirement: on a Houston-like scene (144 bands + DSM, 11 classes), comix_t trained on
a CPU in <= 10 minutes should reach a held-out OA at least 5 points above a per-pixel spectral classifier
trained on the same training pixels, and HSI+X should beat HSI alone.

Methods, all scored on the scene's held-out ``test_mask`` pixels with the same metrics
(:mod:`comix.train.metrics`: OA, AA, Cohen's kappa, mIoU):

1. random forest, spectra only (per pixel)         -- the baseline of the requirement
2. random forest, spectra + DSM height (per pixel)  -- context (features from ``tools/data_baseline.py``)
   random forest, spectra + DSM averaged over 5x5 + local height -- context: crude hand-made spatial features
3. comix_t, HSI + X (DSM)
4. comix_t, HSI only (``recipe.modalities="hsi"``: X replaced by zeros in training and evaluation)

Each comix_t run is stopped by wall clock: training runs in chunks of ``Trainer.fit(stop_after=k)`` and
no new chunk starts past ``--budget-seconds`` (the clock starts before the model is built and includes
checkpoint saves; chunks are sized from the measured step time and shrink towards the deadline, so the
overrun is a few steps unless the machine slows down sharply).
If the recipe's schedule (``TrainRecipe.steps``) finishes first, training ends there. The test pixels
are used only for the final score (``eval_every`` is set past the end of the schedule).

Wall-clock numbers depend on the load of the machine: the CPU model, thread count and load averages
(before, during and after each run) are printed and written to the JSON.

Usage:
    python tools/compare_baselines.py [--seed 0] [--height 349 --width 1905] [--budget-seconds 600]
        [--threads 2] [--output results.json] [--steps N] [--skip-hsi-only] [--skip-model]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier

from comix.data.synthetic import houston_like
from comix.runtime.torch_backend import TorchBackend
from comix.train.baselines import pixel_features
from comix.train.evaluate import evaluate_scene
from comix.train.metrics import segmentation_metrics
from comix.train.recipe import TrainRecipe
from comix.train.trainer import Trainer

CHUNK_SECONDS = 15.0  # longest fit() chunk (a progress line and a budget check after each)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def auto_threads() -> int:
    """Logical CPUs not already busy (1-minute load average), between 1 and 8."""
    load = load_average()
    busy = int(load[0]) if load else 0
    return max(1, min(8, (os.cpu_count() or 1) - busy))


def machine_info(threads: int) -> dict:
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def metrics_row(name: str, metrics, seconds: float, **extra) -> dict:
    return {
        "method": name,
        "overall_accuracy": metrics.overall_accuracy,
        "average_accuracy": metrics.average_accuracy,
        "kappa": metrics.kappa,
        "mean_iou": metrics.mean_iou,
        "per_class_accuracy": metrics.per_class_accuracy,
        "per_class_iou": metrics.per_class_iou,
        "test_pixels": metrics.pixels,
        "train_seconds": seconds,
        **extra,
    }


# ---------------------------------------------------------------------------------------------- baselines
def random_forests(scene, args) -> list[dict]:
    """Random forests on the training pixels, scored on the test pixels: per-pixel spectra;
    per-pixel spectra + DSM; and, for context, spectra + DSM averaged over 5 x 5 plus the DSM's
    height above its 21 x 21 minimum (a crude hand-made spatial feature set). Features:
    :func:`comix.train.baselines.pixel_features`."""
    labels = scene.labels.reshape(-1)
    train_idx = np.flatnonzero(scene.train_mask.reshape(-1))
    if args.rf_max_train and train_idx.size > args.rf_max_train:
        rng = np.random.default_rng(args.seed)
        train_idx = np.sort(rng.choice(train_idx, args.rf_max_train, replace=False))
    test_idx = np.flatnonzero(scene.test_mask.reshape(-1))
    rows = []
    for name, spatial, with_dsm in (
        ("RF spectral (per pixel)", False, False),
        ("RF spectral+DSM (per pixel)", False, True),
        ("RF spectral+DSM 5x5 + height", True, True),
    ):
        log(f"{name}: {args.trees} trees on {train_idx.size} training pixels ...")
        load_before = load_average()
        start = time.perf_counter()
        features = pixel_features(scene, spatial=spatial, with_dsm=with_dsm)
        forest = RandomForestClassifier(
            n_estimators=args.trees, n_jobs=args.threads, random_state=args.seed
        )
        forest.fit(features[train_idx], labels[train_idx])
        seconds = time.perf_counter() - start
        predicted = forest.predict(features[test_idx])
        metrics = segmentation_metrics(labels[test_idx], predicted, scene.num_classes)
        rows.append(
            metrics_row(
                name,
                metrics,
                seconds,
                train_pixels=int(train_idx.size),
                features=features.shape[1],
                load_before=load_before,
                load_after=load_average(),
            )
        )
        log(f"{name}: OA {metrics.overall_accuracy:.1%}  ({seconds:.1f} s)")
    return rows


# ---------------------------------------------------------------------------------------------- comix_t
def train_comix(scene, modalities: str, args, folder: Path) -> dict:
    """Train ``args.variant`` with ``modalities`` for at most ``args.budget_seconds`` of wall clock;
    score it."""
    label = f"{args.variant} {'HSI+X' if modalities == 'hsi+x' else 'HSI only'}"
    overrides = {"variant": args.variant, "modalities": modalities, "seed": args.seed}
    if args.steps is not None:
        overrides["steps"] = (
            args.steps
        )  # the warm-up follows: the recipe's default fraction of the steps
    steps = overrides.get("steps", TrainRecipe.steps)
    overrides["eval_every"] = (
        steps + 1
    )  # no scoring on the test pixels while training (fit still scores the end)
    recipe = TrainRecipe(**overrides)
    log(
        f"{label}: recipe steps={recipe.steps} batch={recipe.batch_size} tile={recipe.tile} lr={recipe.lr:g} "
        f"warmup={recipe.warmup_steps} class_balanced={recipe.class_balanced}; "
        f"budget {args.budget_seconds:.0f} s"
    )

    load_before = load_average()
    loads = []
    start = time.perf_counter()
    trainer = Trainer(scene, recipe, folder, show_progress=False)
    deadline = start + args.budget_seconds
    step_seconds = None  # running estimate
    stopped_by = "schedule"
    while trainer.step < recipe.steps:
        now = time.perf_counter()
        remaining = deadline - now
        if remaining <= 0:
            stopped_by = "time budget"
            break
        if step_seconds is None:
            chunk = 3  # first chunk: measure
        else:
            if remaining < step_seconds:
                stopped_by = "time budget"
                break
            # chunks shrink towards the deadline, so a slowdown (load) overruns it by little
            chunk = max(1, int(min(CHUNK_SECONDS, 0.5 * remaining) / step_seconds))
        first = trainer.step
        chunk_start = time.perf_counter()
        trainer.fit(stop_after=trainer.step + chunk)
        done = trainer.step - first
        per_step = (time.perf_counter() - chunk_start) / max(done, 1)
        step_seconds = per_step if step_seconds is None else 0.5 * step_seconds + 0.5 * per_step
        loads.append(load_average()[0] if load_average() else float("nan"))
        loss = float(np.mean(trainer.recent_losses)) if trainer.recent_losses else float("nan")
        log(
            f"{label}: step {trainer.step}/{recipe.steps}  loss {loss:.3f}  {per_step:.2f} s/step  "
            f"elapsed {time.perf_counter() - start:.0f}/{args.budget_seconds:.0f} s  load {loads[-1]:.1f}"
        )
    train_seconds = time.perf_counter() - start
    log(
        f"{label}: stopped by {stopped_by} at step {trainer.step}/{recipe.steps} "
        f"after {train_seconds:.0f} s; evaluating on the test pixels ..."
    )

    eval_start = time.perf_counter()
    metrics, _ = evaluate_scene(
        TorchBackend(trainer.model),
        scene,
        tile=recipe.eval_tile,
        overlap=recipe.eval_overlap,
        zero_x=modalities == "hsi",
    )
    eval_seconds = time.perf_counter() - eval_start
    log(f"{label}: OA {metrics.overall_accuracy:.1%}  (evaluation {eval_seconds:.0f} s)")
    return metrics_row(
        label,
        metrics,
        train_seconds,
        steps_done=trainer.step,
        steps_planned=recipe.steps,
        stopped_by=stopped_by,
        mean_step_seconds=train_seconds / max(trainer.step, 1),
        eval_seconds=eval_seconds,
        recipe=recipe.to_dict(),
        load_before=load_before,
        load_1min_during_mean=float(np.nanmean(loads)) if loads else None,
        load_after=load_average(),
        final_loss=float(np.mean(trainer.recent_losses)) if trainer.recent_losses else None,
    )


# ---------------------------------------------------------------------------------------------- report
def print_table(rows: list[dict]) -> None:
    print()
    header = f"{'method':<30}{'OA':>8}{'AA':>8}{'kappa':>8}{'mIoU':>8}{'train s':>9}  notes"
    print(header)
    print("-" * len(header))
    for row in rows:
        if "steps_done" in row:
            notes = f"{row['steps_done']}/{row['steps_planned']} steps ({row['stopped_by']})"
        else:
            notes = f"{row['train_pixels']} train px, {row['features']} features"
        print(
            f"{row['method']:<30}{row['overall_accuracy']:>8.1%}{row['average_accuracy']:>8.1%}"
            f"{row['kappa']:>8.3f}{row['mean_iou']:>8.3f}{row['train_seconds']:>9.0f}  {notes}"
        )
    print()


def check_requirement(rows: list[dict], variant: str) -> dict:
    by_name = {row["method"]: row for row in rows}
    rf = by_name.get("RF spectral (per pixel)")
    fused = by_name.get(f"{variant} HSI+X")
    hsi = by_name.get(f"{variant} HSI only")
    verdict = {}
    if rf and fused:
        margin = 100 * (fused["overall_accuracy"] - rf["overall_accuracy"])
        verdict["margin_over_spectral_rf_points"] = margin
        verdict["beats_spectral_rf_by_5_points"] = margin >= 5.0
        print(
            f"{variant} HSI+X - RF spectral: {margin:+.1f} OA points (required >= +5.0): "
            f"{'PASS' if margin >= 5.0 else 'FAIL'}"
        )
    if fused and hsi:
        margin = 100 * (fused["overall_accuracy"] - hsi["overall_accuracy"])
        verdict["margin_fused_over_hsi_points"] = margin
        verdict["fused_beats_hsi_only"] = margin > 0
        print(
            f"{variant} HSI+X - HSI only: {margin:+.1f} OA points (required > 0): "
            f"{'PASS' if margin > 0 else 'FAIL'}"
        )
    if fused:
        within = fused["train_seconds"] <= 600.0
        verdict["fused_trained_within_10_minutes"] = within
        print(
            f"{variant} HSI+X trained in {fused['train_seconds']:.0f} s of wall clock (required <= 600 s): "
            f"{'PASS' if within else 'FAIL'}"
        )
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="scene, forest and training seed")
    parser.add_argument("--height", type=int, default=349, help="scene height (Houston 2013: 349)")
    parser.add_argument("--width", type=int, default=1905, help="scene width (Houston 2013: 1905)")
    parser.add_argument(
        "--budget-seconds", type=float, default=600.0, help="wall-clock limit per comix_t run"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch / forest threads; 0 (default) = auto: logical CPUs minus the integer part of "
        "the 1-minute load average, at least 1, at most 8 (oversubscribed OpenMP threads make "
        "a training step several times slower on a shared machine)",
    )
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--variant", default="comix_t")
    parser.add_argument(
        "--steps", type=int, default=None, help="override TrainRecipe.steps (default: recipe's)"
    )
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument(
        "--rf-max-train", type=int, default=0, help="cap on forest training pixels (0 = all)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="checkpoint folders (default: a temp folder)"
    )
    parser.add_argument("--skip-model", action="store_true", help="forests only")
    parser.add_argument("--skip-hsi-only", action="store_true", help="no HSI-only ablation")
    args = parser.parse_args()

    if args.threads <= 0:
        args.threads = auto_threads()
    torch.set_num_threads(args.threads)
    machine = machine_info(args.threads)
    log(
        f"machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, {args.threads} threads, "
        f"torch {machine['torch']}; load average {load_average()}"
    )

    start = time.perf_counter()
    scene = houston_like(seed=args.seed, height=args.height, width=args.width).scene
    train_counts, test_counts = (
        scene.class_counts(scene.train_mask)[1:],
        scene.class_counts(scene.test_mask)[1:],
    )
    log(
        f"scene {scene.name}: {scene.height} x {scene.width}, {scene.num_bands} bands + X "
        f"{list(scene.x_channel_names)}, {scene.num_classes} classes; {train_counts.sum()} train / "
        f"{test_counts.sum()} test pixels; "
        f"generated in {time.perf_counter() - start:.1f} s"
    )

    rows = random_forests(scene, args)
    if not args.skip_model:
        with tempfile.TemporaryDirectory(prefix="compare_baselines_") as temporary:
            work = args.work_dir or Path(temporary)
            modalities = ["hsi+x"] + ([] if args.skip_hsi_only else ["hsi"])
            for modality in modalities:
                rows.append(
                    train_comix(
                        scene, modality, args, work / f"{args.variant}_{modality.replace('+', '_')}"
                    )
                )

    print(
        f"scene {scene.name} ({scene.height} x {scene.width}), test pixels {test_counts.sum()}; "
        f"machine {machine['cpu_model']}, {args.threads} threads; load average now {load_average()}"
    )
    print_table(rows)
    verdict = check_requirement(rows, args.variant)
    if args.output:
        document = {
            "scene": {
                "name": scene.name,
                "height": scene.height,
                "width": scene.width,
                "bands": scene.num_bands,
                "x_channels": list(scene.x_channel_names),
                "classes": list(scene.class_names),
                "train_pixels": train_counts.tolist(),
                "test_pixels": test_counts.tolist(),
            },
            "machine": machine,
            "budget_seconds": args.budget_seconds,
            "seed": args.seed,
            "results": rows,
            "requirement": verdict,
            "load_average_end": load_average(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2, default=str))
        log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
