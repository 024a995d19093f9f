"""``comix demo``: scene -> train -> evaluate -> export -> ONNX Runtime inference, in one report folder."""

from __future__ import annotations

from pathlib import Path

import typer

from comix.cli.options import threads_option
from comix.errors import BadInputError

DEFAULT_OUTPUT = Path("runs/demo")
DEFAULT_STEPS = 300


def demo(
    output: Path = typer.Option(
        DEFAULT_OUTPUT, "--output", "-o", help="Report folder (created; fusion: runs/demo_<task>)."
    ),
    height: int = typer.Option(
        349, min=64, help="Scene height in pixels (default: Houston 2013's 349)."
    ),
    width: int = typer.Option(
        1905, min=64, help="Scene width in pixels (default: Houston 2013's 1905)."
    ),
    steps: int = typer.Option(
        DEFAULT_STEPS, min=2, help="Training steps (more = better model, longer demo)."
    ),
    seed: int = typer.Option(0, help="Seed of the scene, the model init and the training."),
    threads: int = threads_option(
        "CPU threads for PyTorch and ONNX Runtime", runtime="each library"
    ),
    task: str = typer.Option(
        "segmentation",
        "--task",
        help="segmentation (CoMiX, the default), or pansharpen / "
        "irvis: SHIP image fusion (data, training vs classic methods, export, ONNX Runtime).",
    ),
) -> None:
    """Run the whole toolchain on a CPU in a few minutes: synthetic Houston-like scene, train comix_t,
    evaluate, export to ONNX, segment the scene with ONNX Runtime; writes OUTPUT/report.md. With --task
    pansharpen or irvis: the same for SHIP image fusion (512 x 512 scenes; --height/--width are not used).

    On a shared or busy machine pass --threads 1: two PyTorch threads next to other busy processes
    run many times slower than one."""
    if task in ("pansharpen", "irvis"):
        from comix.ship.demo import FusionDemoOptions, run_fusion_demo

        folder = output if output != DEFAULT_OUTPUT else Path(f"runs/demo_{task}")
        run_fusion_demo(
            FusionDemoOptions(task=task, output=folder, steps=steps, seed=seed, threads=threads)
        )
        return
    if task != "segmentation":
        raise BadInputError(f"--task: got {task!r}, expected segmentation, pansharpen or irvis")
    from comix.demo import DemoOptions, run_demo

    run_demo(
        DemoOptions(
            output=output, height=height, width=width, steps=steps, seed=seed, threads=threads
        )
    )
