"""``comix demo``: scene -> train -> evaluate -> export -> ONNX Runtime inference, in one report folder."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    output: Path = typer.Option(Path("runs/demo"), "--output", "-o", help="Report folder (created)."),
    height: int = typer.Option(349, min=64, help="Scene height in pixels (default: Houston 2013's 349)."),
    width: int = typer.Option(1905, min=64, help="Scene width in pixels (default: Houston 2013's 1905)."),
    steps: int = typer.Option(300, min=2, help="Training steps (more = better model, longer demo)."),
    seed: int = typer.Option(0, help="Seed of the scene, the model init and the training."),
    threads: int = typer.Option(0, min=0, help="CPU threads for PyTorch and ONNX Runtime (0 = default)."),
) -> None:
    """Run the whole toolchain on a CPU in a few minutes: synthetic Houston-like scene, train comix_t,
    evaluate, export to ONNX, segment the scene with ONNX Runtime; writes OUTPUT/report.md.

    On a shared or busy machine pass --threads 1: two PyTorch threads next to other busy processes
    run many times slower than one."""
    from comix.demo import DemoOptions, run_demo

    run_demo(DemoOptions(output=output, height=height, width=width, steps=steps, seed=seed, threads=threads))
