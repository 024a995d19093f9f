"""Trento-like rural land cover (1 m pixels): parcels of apple orchards, vineyards, woods and open
ground, farm roads between them, and a few buildings.

Class ids follow :data:`RURAL_CLASSES` (1-based), the Trento benchmark's order. Whole parcels carry
their class, as in the benchmark's ground truth: the grass between orchard rows is labelled Apple
trees and the soil between vine rows Vineyard, so those classes are told apart by their row pattern
and height (spatial context, LiDAR), not by a single pixel's spectrum.
"""

from __future__ import annotations

import numpy as np

from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.fields import unit_field

RURAL_CLASSES = ("Apple trees", "Buildings", "Ground", "Woods", "Vineyard", "Roads")
APPLE, BUILDINGS, GROUND, WOODS, VINEYARD, ROADS = range(1, len(RURAL_CLASSES) + 1)


def _ground(canvas: Canvas, rng, where, grass_share: float) -> None:
    """Open ground: a patchwork of grass, dry grass and bare soil."""
    shape = canvas.classes[where].shape
    field = unit_field(rng, shape[0], shape[1], 12.0)
    canvas.paint(where, None, GROUND, "grass_stressed")
    canvas.paint_material(where, field < grass_share, "grass")
    canvas.paint_material(where, field > 0.85, "soil")


def _rows(shape, spacing: int, vertical: bool, phase: int) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (((xx if vertical else yy) + phase) % spacing) == 0


def _vineyard(canvas: Canvas, rng, where) -> None:
    shape = canvas.classes[where].shape
    canvas.paint(where, None, VINEYARD, "soil" if rng.random() < 0.5 else "grass_stressed", 0.0)
    rows = _rows(shape, int(rng.integers(2, 4)), rng.random() < 0.5, int(rng.integers(0, 3)))
    heights = (rng.uniform(1.4, 2.0) * rng.uniform(0.85, 1.1, size=shape)).astype(np.float32)
    canvas.height[where] = np.where(rows, heights, canvas.height[where])
    canvas.paint_material(where, rows, "vine")


def _orchard(canvas: Canvas, rng, where, top: int, left: int) -> None:
    shape = canvas.classes[where].shape
    canvas.paint(where, None, APPLE, "grass", 0.0)
    spacing_row, spacing_tree = int(rng.integers(4, 6)), int(rng.integers(3, 5))
    vertical = rng.random() < 0.5
    crown_height = rng.uniform(2.8, 4.2)
    extent_a, extent_b = (shape[1], shape[0]) if vertical else (shape[0], shape[1])
    inside = np.zeros(canvas.shape, dtype=bool)
    inside[where] = True
    for a in range(1, extent_a - 1, spacing_row):
        for b in range(1, extent_b - 1, spacing_tree):
            y, x = (b, a) if vertical else (a, b)
            if rng.random() < 0.92:
                canvas.paint_crown(
                    top + y + rng.normal(0, 0.3),
                    left + x + rng.normal(0, 0.3),
                    rng.uniform(1.1, 1.7),
                    crown_height * rng.uniform(0.85, 1.1),
                    APPLE,
                    "canopy",
                    rng,
                    only_over=inside,
                )


def _woods(canvas: Canvas, rng, where, top: int, left: int) -> None:
    shape = canvas.classes[where].shape
    canvas.paint(where, None, WOODS, "grass_stressed", 0.0)
    inside = np.zeros(canvas.shape, dtype=bool)
    inside[where] = True
    for _ in range(int(shape[0] * shape[1] / 9)):
        canvas.paint_crown(
            top + rng.uniform(0, shape[0]),
            left + rng.uniform(0, shape[1]),
            rng.uniform(2.0, 4.5),
            rng.uniform(12.0, 26.0),
            WOODS,
            "canopy",
            rng,
            only_over=inside,
        )


def _farmstead(canvas: Canvas, rng, where, top: int, left: int) -> None:
    _ground(canvas, rng, where, grass_share=0.5)
    shape = canvas.classes[where].shape
    for _ in range(int(rng.integers(1, 4))):
        box_h = int(rng.integers(8, max(9, min(22, shape[0] - 2))))
        box_w = int(rng.integers(8, max(9, min(26, shape[1] - 2))))
        y = top + int(rng.integers(0, max(1, shape[0] - box_h)))
        x = left + int(rng.integers(0, max(1, shape[1] - box_w)))
        eave = rng.uniform(5.0, 9.0)
        profile = 1.0 - np.abs(np.linspace(-1.0, 1.0, box_h))
        roof = (
            (eave + rng.uniform(1.5, 4.0) * profile)[:, None]
            .repeat(box_w, axis=1)
            .astype(np.float32)
        )
        canvas.paint_rect(
            y, x, box_h, box_w, BUILDINGS, "shingle" if rng.random() < 0.6 else "concrete", roof
        )
        if rng.random() < 0.5:  # a paved yard
            canvas.paint_rect(y + box_h, x, int(rng.integers(3, 7)), box_w, ROADS, "paved", 0.0)


def _cuts(rng, extent: int, low: int, high: int) -> list[int]:
    cuts, position = [0], 0
    while position < extent:
        position += int(rng.integers(low, high))
        cuts.append(min(position, extent))
    return cuts


def rural_layout(height: int, width: int, rng: np.random.Generator) -> Canvas:
    """Paint a Trento-like scene; see the module docstring. Returns the filled :class:`Canvas`."""
    canvas = Canvas(height, width)
    columns = _cuts(rng, width, 35, 90)
    kinds = ("vineyard", "orchard", "ground", "woods", "farm")
    weights = np.array([0.3, 0.3, 0.14, 0.14, 0.12])
    woods_side = unit_field(rng, height, width, 150.0)
    for left, right in zip(columns[:-1], columns[1:]):
        for top, bottom in zip(*(lambda c: (c[:-1], c[1:]))(_cuts(rng, height, 25, 70))):
            where = np.s_[top:bottom, left:right]
            bias = weights.copy()
            bias[3] *= 3.0 * woods_side[(top + bottom) // 2, (left + right) // 2]
            kind = kinds[rng.choice(len(kinds), p=bias / bias.sum())]
            if kind == "vineyard":
                _vineyard(canvas, rng, where)
            elif kind == "orchard":
                _orchard(canvas, rng, where, top, left)
            elif kind == "ground":
                _ground(canvas, rng, where, grass_share=0.6)
            elif kind == "woods":
                _woods(canvas, rng, where, top, left)
            else:
                _farmstead(canvas, rng, where, top, left)
    # farm roads along some parcel edges, and one main road across
    for column in columns[1:-1]:
        if rng.random() < 0.6:
            surface = "paved" if rng.random() < 0.7 else "gravel"
            canvas.paint_rect(0, column - 2, height, int(rng.integers(3, 6)), ROADS, surface)
    main_row = int(height * rng.uniform(0.3, 0.7))
    canvas.paint_rect(main_row, 0, int(rng.integers(6, 9)), width, ROADS, "paved")
    return canvas
