"""Houston-like urban land cover (2.5 m pixels): a road grid with a highway and a railway, blocks of
houses, commercial buildings with parking lots, parks with tree clusters, ponds and bare lots.

Class ids follow :data:`URBAN_CLASSES` (1-based). Spectrally confusable on purpose: Commercial roofs,
Road, Highway and Parking lot share the ``paved`` pool (height and shape separate them); Trees and
Healthy grass share lush canopy spectra (height separates them).
"""

from __future__ import annotations

import numpy as np

from comix.data.synthetic.canvas import Canvas
from comix.data.synthetic.fields import unit_field

URBAN_CLASSES = (
    "Healthy grass",
    "Stressed grass",
    "Trees",
    "Soil",
    "Water",
    "Residential",
    "Commercial",
    "Road",
    "Highway",
    "Railway",
    "Parking lot",
)
(GRASS, STRESSED, TREES, SOIL, WATER, RESIDENTIAL, COMMERCIAL, ROAD, HIGHWAY, RAILWAY, PARKING) = (
    range(1, len(URBAN_CLASSES) + 1)
)


def _ground_cover(canvas: Canvas, rng: np.random.Generator) -> None:
    """Grass everywhere, with stressed-grass and bare-soil patches; one instance per 24-px cell."""
    height, width = canvas.shape
    stress = unit_field(rng, height, width, 35.0)
    bare = unit_field(rng, height, width, 50.0)
    cell = 24
    cells_w = (width + cell - 1) // cell
    yy, xx = np.mgrid[0:height, 0:width]
    canvas.instance[:] = 1 + (yy // cell) * cells_w + xx // cell
    canvas._next_instance = int(canvas.instance.max()) + 1
    canvas.classes[:] = GRASS
    canvas.material[:] = 0  # grass
    canvas.paint(np.s_[:, :], stress > 0.68, STRESSED, "grass_stressed", 0.0, instance=0)
    canvas.instance[stress > 0.68] += 7919  # distinct spectra from the grass of the same cell
    canvas.paint(np.s_[:, :], bare > 0.93, SOIL, "soil", 0.0, instance=0)
    canvas.instance[bare > 0.93] += 2 * 7919
    canvas._next_instance = int(canvas.instance.max()) + 1


def _lines(
    rng: np.random.Generator, extent: int, first: tuple[int, int], spacing: tuple[int, int]
) -> list[int]:
    positions, position = [], int(rng.integers(*first))
    while position < extent - 8:
        positions.append(position)
        position += int(rng.integers(*spacing))
    return positions


def _roof_gable(box_h: int, box_w: int, eave: float, ridge: float) -> np.ndarray:
    """Gabled roof heights ``(box_h, box_w)``, ridge along the longer side."""
    if box_w >= box_h:
        profile = 1.0 - np.abs(np.linspace(-1.0, 1.0, box_h))
        return (eave + (ridge - eave) * profile)[:, None].repeat(box_w, axis=1).astype(np.float32)
    profile = 1.0 - np.abs(np.linspace(-1.0, 1.0, box_w))
    return (eave + (ridge - eave) * profile)[None, :].repeat(box_h, axis=0).astype(np.float32)


def _residential(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int) -> None:
    lot_h, lot_w = int(rng.integers(11, 15)), int(rng.integers(11, 16))
    for lot_top in range(top, top + box_h - lot_h + 1, lot_h):
        for lot_left in range(left, left + box_w - lot_w + 1, lot_w):
            if rng.random() < 0.9:
                house_h, house_w = int(rng.integers(6, lot_h - 2)), int(rng.integers(6, lot_w - 2))
                y = lot_top + int(rng.integers(1, lot_h - house_h))
                x = lot_left + int(rng.integers(1, lot_w - house_w))
                eave = rng.uniform(3.0, 5.5)
                roof = _roof_gable(house_h, house_w, eave, eave + rng.uniform(1.5, 3.5))
                canvas.paint_rect(y, x, house_h, house_w, RESIDENTIAL, "shingle", roof)
            if rng.random() < 0.45:
                cy, cx = lot_top + rng.uniform(0, lot_h), lot_left + rng.uniform(0, lot_w)
                radius = rng.uniform(1.5, 3.2)
                where = canvas.clip_box(int(cy) - 4, int(cx) - 4, 9, 9)
                yard = np.zeros(canvas.shape, dtype=bool)
                if where is not None:
                    yard[where] = np.isin(canvas.classes[where], (GRASS, STRESSED, TREES))
                canvas.paint_crown(
                    cy, cx, radius, rng.uniform(6.0, 14.0), TREES, "canopy", rng, only_over=yard
                )


def _parking(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int) -> None:
    """Asphalt lot with painted stall lines and parked cars (texture only; class stays Parking lot)."""
    where = canvas.clip_box(top, left, box_h, box_w)
    if where is None:
        return
    canvas.paint(where, None, PARKING, "paved", 0.0)
    yy, xx = np.mgrid[where[0], where[1]]
    rows = (yy - top) % 7  # two stall rows (2 px each) around a 3-px aisle
    stall = (rows < 2) | (rows >= 5)
    lines = stall & ((xx - left) % 3 == 0)
    canvas.paint_material(where, lines, "paint")
    # one random draw per stall (2 px deep, 2 px wide): occupied by a car, and its colour
    stall_row = np.clip(((yy - top) // 7) * 2 + (rows >= 5), 0, None)
    stall_col = (xx - left) // 3
    occupied = rng.random((int(stall_row.max()) + 1, int(stall_col.max()) + 1)) < 0.45
    painted = rng.random(occupied.shape) < 0.5
    cars = stall & ((xx - left) % 3 != 0) & occupied[stall_row, stall_col]
    paint_car = cars & painted[stall_row, stall_col]
    canvas.paint_material(where, cars & ~paint_car, "metal")
    canvas.paint_material(where, paint_car, "paint")
    canvas.height[where] = np.where(cars, 1.5, canvas.height[where])


def _commercial(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int) -> None:
    _parking(canvas, rng, top, left, box_h, box_w)
    building_h = max(8, int(box_h * rng.uniform(0.45, 0.8)))
    building_w = max(8, int(box_w * rng.uniform(0.3, 0.7)))
    y = top + (0 if rng.random() < 0.5 else box_h - building_h)
    x = left + (0 if rng.random() < 0.5 else box_w - building_w)
    roof_height = rng.uniform(6.0, 22.0)
    roof = np.full((building_h, building_w), roof_height, dtype=np.float32)
    roof += rng.normal(0.0, 0.05, roof.shape).astype(np.float32)
    material = "paved" if rng.random() < 0.8 else "concrete"
    canvas.paint_rect(y, x, building_h, building_w, COMMERCIAL, material, roof)
    for _ in range(int(rng.integers(0, 6))):  # rooftop units
        unit_h, unit_w = int(rng.integers(2, 4)), int(rng.integers(2, 5))
        uy = y + int(rng.integers(1, max(2, building_h - unit_h - 1)))
        ux = x + int(rng.integers(1, max(2, building_w - unit_w - 1)))
        canvas.paint_rect(
            uy, ux, unit_h, unit_w, COMMERCIAL, "metal", roof_height + rng.uniform(1.5, 3.0)
        )


def _tree_cluster(
    canvas: Canvas, rng, center_y: float, center_x: float, spread: float, count: int
) -> None:
    ground = np.zeros(canvas.shape, dtype=bool)
    where = canvas.clip_box(
        int(center_y - 4 * spread - 5),
        int(center_x - 4 * spread - 5),
        int(8 * spread + 11),
        int(8 * spread + 11),
    )
    if where is None:
        return
    ground[where] = np.isin(canvas.classes[where], (GRASS, STRESSED, SOIL, TREES))
    for _ in range(count):
        canvas.paint_crown(
            center_y + rng.normal(0, spread),
            center_x + rng.normal(0, spread),
            rng.uniform(1.8, 4.0),
            rng.uniform(8.0, 20.0),
            TREES,
            "canopy",
            rng,
            only_over=ground,
        )


def _park(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int) -> None:
    if rng.random() < 0.35:
        _pond(canvas, rng, top, left, box_h, box_w, size=rng.uniform(0.3, 0.6))
    for _ in range(int(rng.integers(1, 4))):
        _tree_cluster(
            canvas,
            rng,
            top + rng.uniform(0, box_h),
            left + rng.uniform(0, box_w),
            rng.uniform(3.0, 8.0),
            int(rng.integers(5, 25)),
        )


def _pond(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int, size: float) -> None:
    where = canvas.clip_box(top, left, box_h, box_w)
    if where is None:
        return
    yy, xx = np.mgrid[where[0], where[1]]
    cy, cx = top + box_h * rng.uniform(0.35, 0.65), left + box_w * rng.uniform(0.35, 0.65)
    ry, rx = box_h * size / 2 + 1, box_w * size / 2 + 1
    wobble = 1.0 + 0.15 * np.sin(
        np.arctan2(yy - cy, xx - cx) * int(rng.integers(2, 5)) + rng.uniform(0, 6.3)
    )
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= wobble
    canvas.paint(where, inside, WATER, "water", 0.0)
    canvas.flat[where] |= inside


def _bare_lot(canvas: Canvas, rng, top: int, left: int, box_h: int, box_w: int) -> None:
    where = canvas.clip_box(top, left, box_h, box_w)
    if where is None:
        return
    canvas.paint(where, None, SOIL, "soil", 0.0)


def _strip_mask(height: int, width: int, row_at_center: float, slope: float, half_width: float):
    """Rows within ``half_width`` of the line ``y = row_at_center + slope * (x - W/2)``; returns
    signed offset too."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    offset = yy - (row_at_center + slope * (xx - width / 2.0))
    return np.abs(offset) <= half_width, offset


def urban_layout(height: int, width: int, rng: np.random.Generator) -> Canvas:
    """Paint a Houston-like scene; see the module docstring. Returns the filled :class:`Canvas`."""
    canvas = Canvas(height, width)
    _ground_cover(canvas, rng)
    columns = _lines(rng, width, (5, 30), (60, 130))
    rows = _lines(rng, height, (5, 25), (45, 95))
    # the highway crosses the middle of a big scene, and runs near an edge of a small one
    highway_row = height * (rng.uniform(0.35, 0.65) if height >= 250 else rng.choice([0.08, 0.92]))
    highway_slope = rng.uniform(-0.03, 0.03)
    highway_half = rng.uniform(6.0, 8.0)
    rail_offset = highway_half + rng.uniform(8.0, 14.0)
    corridor_half = rail_offset + 4.0

    road_width = {c: int(rng.integers(4, 7)) for c in columns}
    edges_x = [0] + columns + [width]
    edges_y = [0] + rows + [height]
    chooser = ("residential", "commercial", "park", "bare", "pond", "parking")
    weights = np.array([0.36, 0.26, 0.18, 0.07, 0.05, 0.08])
    deck = [str(k) for k in rng.permutation(["park", "bare", "pond", "parking"])] + [
        str(k) for k in rng.permutation(["residential", "commercial"])
    ]  # popped from the end
    for top, bottom in zip(edges_y[:-1], edges_y[1:]):
        for left, right in zip(edges_x[:-1], edges_x[1:]):
            margin = 8
            box_top, box_left = top + margin, left + margin
            box_h, box_w = bottom - top - 2 * margin + 2, right - left - 2 * margin + 2
            if box_h < 14 or box_w < 14:
                continue
            center_x = (left + right) / 2.0
            highway_y = highway_row + highway_slope * (center_x - width / 2.0)
            if abs((top + bottom) / 2.0 - highway_y) < corridor_half + 6:
                kind = "park" if rng.random() < 0.6 else "bare"
            elif deck:  # the first blocks cover every kind, so small scenes hold every class
                kind = deck.pop()
            else:
                kind = chooser[rng.choice(len(chooser), p=weights)]
            if kind == "residential":
                _residential(canvas, rng, box_top, box_left, box_h, box_w)
            elif kind == "commercial":
                _commercial(canvas, rng, box_top, box_left, box_h, box_w)
            elif kind == "park":
                _park(canvas, rng, box_top, box_left, box_h, box_w)
            elif kind == "bare":
                _bare_lot(canvas, rng, box_top, box_left, box_h, box_w)
            elif kind == "pond":
                _pond(canvas, rng, box_top, box_left, box_h, box_w, size=rng.uniform(0.6, 0.9))
                _tree_cluster(
                    canvas, rng, box_top + box_h / 2, box_left, 4.0, int(rng.integers(3, 10))
                )
            else:
                _parking(canvas, rng, box_top, box_left, box_h, box_w)

    # roads (after blocks, so they stay clean); horizontal streets run between two random cross streets
    for column in columns:
        half = road_width[column]
        canvas.paint_rect(0, column - half // 2, height, half, ROAD, "paved", 0.0)
    for row in rows:
        road_h = int(rng.integers(4, 7))
        start, stop = sorted(rng.choice(len(edges_x), size=2, replace=False))
        if rng.random() < 0.5:
            start, stop = 0, len(edges_x) - 1
        canvas.paint_rect(
            row - road_h // 2,
            edges_x[start],
            road_h,
            edges_x[stop] - edges_x[start],
            ROAD,
            "paved",
            0.0,
        )
    # street trees on verges
    verge = np.isin(canvas.classes, (GRASS, STRESSED))
    for _ in range(int(height * width / 900)):
        y, x = rng.integers(0, height), rng.integers(0, width)
        if verge[y, x]:
            canvas.paint_crown(
                y,
                x,
                rng.uniform(1.5, 3.5),
                rng.uniform(6.0, 16.0),
                TREES,
                "canopy",
                rng,
                only_over=verge,
            )

    # highway with lane dashes, railway with ballast and rails
    on_highway, offset = _strip_mask(height, width, highway_row, highway_slope, highway_half)
    canvas.paint(np.s_[:, :], on_highway, HIGHWAY, "paved", 0.0)
    xx = np.arange(width)[None, :]
    dashes = (
        on_highway
        & (np.abs((np.abs(offset) % 4.0) - 2.0) < 0.5)
        & (np.abs(offset) < highway_half - 1)
        & ((xx % 8) < 3)
    )
    canvas.paint_material(np.s_[:, :], dashes, "paint")
    side = 1.0 if rng.random() < 0.5 else -1.0
    if height < 250:  # keep the railway inside a small scene, on the inner side of the highway
        side = 1.0 if highway_row < height / 2 else -1.0
    on_rail, rail_off = _strip_mask(
        height, width, highway_row + side * rail_offset, highway_slope, 2.5
    )
    canvas.paint(np.s_[:, :], on_rail, RAILWAY, "gravel", 0.6)
    rails = on_rail & (np.abs(np.abs(rail_off) - 1.0) < 0.5)
    canvas.paint_material(np.s_[:, :], rails, "metal")
    return canvas
