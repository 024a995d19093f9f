"""What tile borders do to SHIP's output: tiled whole-scene fusion against one full-scene pass.

    python tools/measure_fusion_tiles.py --checkpoint runs/compare_fusion --threads 1 \
        --plot docs/img/ship_tile_borders.png

SHIP's spatial interaction multiplies spectra, i.e. convolves circularly over each tile: a pixel near a tile's
border sees the opposite border's content, and the channel attention pools over the tile. For each Fourier
padding (reflect-padding the product's operands, applied to the trained weights) and each overlap, the tiled
result (SlidingWindow, blended) is compared with one pass over the whole scene (the same padding), and the
mean |difference| is reported by distance to the nearest interior tile border. The full pass's own quality
(QNR, and PSNR against the synthetic ideal MS) shows what the padding costs a model not trained with it.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from comix.data.synthetic import houston_like
from comix.model import load_checkpoint
from comix.runtime.agreement import border_lines
from comix.runtime.sliding_window import SlidingWindow
from comix.runtime.torch_backend import TorchBackend
from comix.ship.data.resample import bicubic_upsample, mtf_decimate
from comix.ship.data.sensors import SENSORS
from comix.ship.data.synthesis import pansharpen_scene
from comix.ship.model import ShipNet
from comix.ship.quality.common import psnr
from comix.ship.quality.pansharpen import full_resolution

BINS = ((0, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 10_000))


def border_distance(height: int, width: int, tile: int, overlap: int) -> np.ndarray:
    """(H, W) distance in pixels from each pixel centre to the nearest interior tile border line."""
    rows, cols = border_lines(height, width, tile, overlap)
    dist_r = np.min(
        np.abs(np.arange(height)[:, None] + 0.5 - np.asarray(rows or [1e9])[None]), axis=1
    )
    dist_c = np.min(
        np.abs(np.arange(width)[:, None] + 0.5 - np.asarray(cols or [1e9])[None]), axis=1
    )
    return np.minimum(dist_r[:, None], dist_c[None, :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", required=True, help="a trained ship_pansharpen checkpoint folder"
    )
    parser.add_argument("--size", type=int, default=512, help="scene size (PAN grid)")
    parser.add_argument("--seed", type=int, default=1000, help="held-out scene seed")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--overlaps", type=int, nargs="+", default=[0, 16, 32, 48])
    parser.add_argument("--paddings", type=int, nargs="+", default=[0, 8, 16])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_checkpoint(args.checkpoint)
    delivered = pansharpen_scene(houston_like(seed=args.seed, height=args.size, width=args.size))
    spec = SENSORS[delivered.sensor]
    lms = bicubic_upsample(delivered.ms, delivered.ratio)
    pan_low = mtf_decimate(delivered.pan, delivered.ratio, spec.gnyq_pan)
    print(
        f"machine: {platform.platform()}, {torch.get_num_threads()} thread(s); scene {args.size}x{args.size} "
        f"(full resolution), tile {args.tile}, checkpoint {args.checkpoint}"
    )
    header = (
        "| padding | overlap | "
        + " | ".join(f"{a}-{b if b < 10_000 else '…'} px" for a, b in BINS)
        + " | all | full pass QNR | full pass PSNR vs ideal |"
    )
    print(header)
    print("|---" * (len(BINS) + 5) + "|")
    curves = {}
    for padding in args.paddings:
        model = ShipNet(loaded.model.config.replace(fourier_padding=padding)).eval()
        model.load_state_dict(loaded.model.state_dict())
        backend = TorchBackend(model)
        start = time.perf_counter()
        with torch.inference_mode():
            full = model(torch.from_numpy(lms)[None], torch.from_numpy(delivered.pan)[None])[
                0
            ].numpy()
        seconds = time.perf_counter() - start
        quality = full_resolution(full, delivered.ms, delivered.pan, pan_low)["qnr"]
        reference_psnr = psnr(delivered.ideal, full, 1.0)
        for overlap in args.overlaps:
            tiled = SlidingWindow(backend, tile=args.tile, overlap=overlap, batch=4, labels=False)(
                lms, delivered.pan
            )
            error = np.abs(tiled.logits - full).max(axis=0)
            distance = border_distance(args.size, args.size, args.tile, overlap)
            means = [float(error[(distance >= a) & (distance < b)].mean()) for a, b in BINS]
            curves[(padding, overlap)] = means
            print(
                f"| {padding} | {overlap} | "
                + " | ".join(f"{m:.2e}" for m in means)
                + f" | {error.mean():.2e} | {quality:.4f} | {reference_psnr:.2f} dB |"
            )
        print(f"(full pass {seconds:.1f} s)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(
            1, len(args.paddings), figsize=(4.2 * len(args.paddings), 3.4), sharey=True
        )
        centres = [(a + min(b, 64)) / 2 for a, b in BINS]
        for axis, padding in zip(np.atleast_1d(axes), args.paddings):
            for overlap in args.overlaps:
                axis.semilogy(
                    centres, curves[(padding, overlap)], marker="o", label=f"overlap {overlap}"
                )
            axis.set_title(f"Fourier padding {padding} px")
            axis.set_xlabel("distance to nearest tile border (px)")
            axis.grid(True, which="both", alpha=0.3)
        np.atleast_1d(axes)[0].set_ylabel("mean |tiled - full pass|")
        np.atleast_1d(axes)[0].legend()
        figure.suptitle(f"SHIP pan-sharpening, tile {args.tile}: tiled vs one full pass")
        figure.tight_layout()
        figure.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
