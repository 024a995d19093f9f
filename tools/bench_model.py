"""Benchmark the CoMiX variants on this CPU: parameters, MACs per tile (counted), forward time.

    python tools/bench_model.py [--size 128 128] [--bands 144] [--x-channels 1] [--threads 1]
                                [--train-step]      # also time comix_t forward+backward at batch 8, 64x64

Forward time: median over repeats at batch 1, eval mode, no autograd, after one warm-up run
(comix_b gets fewer repeats: its 3-D DCNs take seconds per forward on a CPU).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table

from comix.model import build_model, count_macs, list_variants

REPEATS = {"comix_t": 5, "comix_s": 3, "comix_b": 1}


def time_forward(model, hsi, x, repeats: int) -> list[float]:
    """Seconds per forward (batch as given), after one warm-up call."""
    times = []
    with torch.no_grad():
        model(hsi, x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(hsi, x)
            times.append(time.perf_counter() - start)
    return times


def time_train_step(
    name: str, bands: int, x_channels: int, batch: int, size: int, steps: int
) -> tuple[list[float], list[float]]:
    """(wall seconds, process CPU seconds) per AdamW step (forward, cross-entropy, backward, update),
    after one warm-up step. CPU time is what the step costs when other work shares the cores."""
    model = build_model(name, bands=bands, x_channels=x_channels).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-5, weight_decay=0.01)
    hsi, x = torch.randn(batch, bands, size, size), torch.randn(batch, x_channels, size, size)
    labels = torch.randint(0, model.config.classes, (batch, size, size))
    times, cpu_times = [], []
    for step in range(steps + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.cross_entropy(model(hsi, x), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    parser.add_argument("--bands", type=int, default=144)
    parser.add_argument("--x-channels", type=int, default=1)
    # One thread by default: on a shared 2-core machine two OpenMP threads wait on each other at every op
    # and the timings become noise (comix_t: 97 ms quiet vs 3.5 s under load with 2 threads).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=list_variants("segmentation"))
    parser.add_argument(
        "--train-step", action="store_true", help="also time a comix_t train step (batch 8, 64x64)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    height, width = args.size
    console = Console()
    table = Table(
        title=f"CoMiX variants: {args.bands} bands + {args.x_channels} X channel(s), {height}x{width} tile, "
        f"batch 1, {args.threads} CPU thread(s), torch {torch.__version__}"
    )
    for column in (
        "variant",
        "parameters",
        "GMACs/tile",
        "of which DCN sampling",
        "forward ms (median)",
        "repeats",
    ):
        table.add_column(column, justify="right")
    for name in sorted(args.variants, key=lambda n: list(REPEATS).index(n) if n in REPEATS else 99):
        model = build_model(name, bands=args.bands, x_channels=args.x_channels).eval()
        hsi, x = (
            torch.randn(1, args.bands, height, width),
            torch.randn(1, args.x_channels, height, width),
        )
        macs = count_macs(model, hsi, x)
        times = time_forward(model, hsi, x, REPEATS.get(name, 3))
        params = sum(p.numel() for p in model.parameters())
        table.add_row(
            name,
            f"{params / 1e6:.2f} M",
            f"{macs.total / 1e9:.2f}",
            f"{macs.dcn_sampling / 1e9:.3f}",
            f"{statistics.median(times) * 1e3:.0f}",
            str(len(times)),
        )
    console.print(table)
    if args.train_step:
        times, cpu = time_train_step(
            "comix_t", args.bands, args.x_channels, batch=8, size=64, steps=5
        )
        console.print(
            f"comix_t train step (batch 8, 64x64, {args.bands} bands, AdamW): wall median "
            f"{statistics.median(times):.2f} s (min {min(times):.2f} s), CPU median "
            f"{statistics.median(cpu):.2f} s over {len(times)} steps"
        )


if __name__ == "__main__":
    main()
