"""Whole-scene inference: tiles in batches through a :class:`Backend`, logits blended without seams.

``SlidingWindow(backend, tile=(128, 128), overlap=48, batch=4)(hsi (bands, H, W), x (C, H, W))`` (defaults in
:mod:`comix.runtime.defaults`)
returns a :class:`SceneResult` with the blended logits (K, H, W) and the class raster (H, W) as label
values ``1..K`` (logit channel k is label k + 1; 0 is kept for "no data", as in the training labels).
With ``labels=False`` (image outputs: fusion) the blended output is the result and no class raster is made.

Memory: besides the scene itself and the (K, H, W) result, the working set is one batch of tiles
(inputs, logits, window) plus a tile-sized padded copy only when the scene is smaller than one tile,
so it is bounded by ``batch * tile``, not by the scene.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from comix.runtime.backend import Backend
from comix.runtime.defaults import resolve_window
from comix.runtime.errors import RuntimeInputError
from comix.runtime.tiling import DEFAULT_FLOOR, Tile, TileGrid

ProgressCallback = Callable[[int, int], None]  # (tiles done, tiles total)


@dataclass
class SceneResult:
    """logits (K, H, W) float32 blended (the image itself for an image model); classes (H, W) uint8/uint16 label
    values 1..K, or None when the window was asked for no labels."""

    logits: np.ndarray
    classes: np.ndarray | None
    tiles: int
    batches: int
    seconds: float
    backend_seconds: float
    timing: dict = field(default_factory=dict)

    def probabilities(self) -> np.ndarray:
        """Softmax over classes, (K, H, W) float32, computed 64 rows at a time (bounded temporaries)."""
        probs = np.empty_like(self.logits)
        for row in range(0, self.logits.shape[1], 64):
            block = self.logits[:, row:row + 64]
            shifted = np.exp(block - block.max(axis=0, keepdims=True))
            probs[:, row:row + 64] = shifted / shifted.sum(axis=0, keepdims=True)
        return probs


def _pad_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """(C, h, w) -> (C, max(h, height), max(w, width)) with edge values (only for scenes under one tile)."""
    pad_h, pad_w = max(0, height - array.shape[1]), max(0, width - array.shape[2])
    if pad_h == 0 and pad_w == 0:
        return array
    return np.pad(array, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")


def label_raster(logits: np.ndarray, block: int = 64) -> np.ndarray:
    """(K, H, W) logits -> (H, W) label values ``argmax + 1`` (uint8, uint16 past 254 classes), computed in
    ``block`` x ``block`` pieces so the int64 argmax temporaries do not grow with the scene."""
    dtype = np.uint8 if logits.shape[0] < 255 else np.uint16
    classes = np.empty(logits.shape[1:], dtype=dtype)
    for row in range(0, logits.shape[1], block):
        for col in range(0, logits.shape[2], block):
            piece = logits[:, row:row + block, col:col + block]
            classes[row:row + block, col:col + block] = piece.argmax(axis=0) + 1
    return classes


class SlidingWindow:
    """Tiled, batched, blended inference over a whole scene (see the module docstring)."""

    def __init__(self, backend: Backend, tile: tuple[int, int] | int | None = None, overlap: int | None = None,
                 batch: int | None = None, margin: int | None = None, floor: float = DEFAULT_FLOOR,
                 progress: ProgressCallback | None = None, labels: bool = True) -> None:
        """``tile``/``overlap``/``batch`` None: the model's fixed sizes, else :mod:`comix.runtime.defaults`."""
        tile, overlap, batch = resolve_window(backend.info, tile, overlap, batch)
        fixed = backend.info.tile
        if fixed is not None and tuple(fixed) != tile:
            raise RuntimeInputError(f"tile: got {tile[0]}x{tile[1]}, expected {fixed[0]}x{fixed[1]} because the model "
                                    "was exported with static shapes (re-export with --dynamic for other tiles)")
        if min(tile) < 1 or not 0 <= overlap < min(tile):
            raise RuntimeInputError(f"tile/overlap: got tile {tile[0]}x{tile[1]} and overlap {overlap}, expected "
                                    "tile sizes >= 1 and 0 <= overlap < the smaller tile size")
        if batch < 1:
            raise RuntimeInputError(f"batch: got {batch}, expected >= 1")
        if backend.info.max_batch is not None and batch != backend.info.max_batch:
            raise RuntimeInputError(f"batch: got {batch}, expected {backend.info.max_batch} because the model was "
                                    "exported with a static batch")
        self.backend = backend
        self.tile = tile
        self.overlap = overlap
        self.batch = batch
        self.margin = margin
        self.floor = floor
        self.progress = progress
        self.labels = labels

    def tile_for(self, height: int, width: int) -> tuple[int, int]:
        """The tile used on a (height, width) scene: a dynamic-shape model gets at most the scene size
        (no padding needed); a static one always gets its fixed tile (small scenes are edge-padded)."""
        if self.backend.info.tile is not None:
            return self.tile
        return min(self.tile[0], height), min(self.tile[1], width)

    def __call__(self, hsi: np.ndarray, x: np.ndarray) -> SceneResult:
        """hsi (bands, H, W), x (C, H, W) raw float values -> :class:`SceneResult`."""
        self.backend.check_scene(hsi, x)
        start = time.perf_counter()
        height, width = hsi.shape[1:]
        th, tw = self.tile_for(height, width)
        grid = TileGrid(height, width, th, tw, min(self.overlap, max(0, min(th, tw) - 1)), self.margin, self.floor)
        hsi = _pad_to(hsi, th, tw)
        x = _pad_to(x, th, tw)
        tiles = grid.tiles()
        accumulated: np.ndarray | None = None
        weights = np.zeros((grid.padded_height, grid.padded_width), dtype=np.float32)
        backend_seconds, batches = 0.0, 0
        full = self.backend.info.max_batch is not None
        for first in range(0, len(tiles), self.batch):
            chunk = tiles[first:first + self.batch]
            count = len(chunk)
            size = self.batch if full else count  # a static-batch model always gets a full batch
            hsi_batch = np.zeros((size, hsi.shape[0], th, tw), dtype=np.float32)
            x_batch = np.zeros((size, x.shape[0], th, tw), dtype=np.float32)
            for i, tile in enumerate(chunk):
                hsi_batch[i] = hsi[:, tile.top:tile.top + th, tile.left:tile.left + tw]
                x_batch[i] = x[:, tile.top:tile.top + th, tile.left:tile.left + tw]
            t0 = time.perf_counter()
            logits = self.backend.run(hsi_batch, x_batch)
            backend_seconds += time.perf_counter() - t0
            batches += 1
            if logits.ndim != 4 or logits.shape[0] != size or logits.shape[2:] != (th, tw):
                raise RuntimeInputError(f"backend output: got shape {logits.shape}, "
                                        f"expected ({size}, classes, {th}, {tw})")
            if accumulated is None:
                accumulated = np.zeros((logits.shape[1], grid.padded_height, grid.padded_width), dtype=np.float32)
            for i, tile in enumerate(chunk):
                self._accumulate(accumulated, weights, logits[i], grid.window(tile), tile)
            if self.progress is not None:
                self.progress(first + count, len(tiles))
        logits = accumulated[:, :height, :width]
        logits /= weights[None, :height, :width]
        classes = label_raster(logits) if self.labels else None
        seconds = time.perf_counter() - start
        return SceneResult(logits, classes, len(tiles), batches, seconds, backend_seconds,
                           {"tiles_per_second": len(tiles) / seconds if seconds else 0.0})

    @staticmethod
    def _accumulate(accumulated: np.ndarray, weights: np.ndarray, logits: np.ndarray, window: np.ndarray,
                    tile: Tile) -> None:
        th, tw = window.shape
        accumulated[:, tile.top:tile.top + th, tile.left:tile.left + tw] += logits * window
        weights[tile.top:tile.top + th, tile.left:tile.left + tw] += window
