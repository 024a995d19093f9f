"""A painter's canvas for synthetic land cover: class, material, object height and object id per pixel.

Layouts paint objects back to front (ground cover, then roads, buildings, trees); each paint call
overwrites what lies below inside its footprint.
"""

from __future__ import annotations

import numpy as np

from comix.data.synthetic.materials import MATERIAL_ID


class Canvas:
    """Per-pixel maps, all ``(H, W)``:

    * ``classes``  int64 — class index ``1..K`` (0 = nothing painted yet).
    * ``material`` int64 — index into :data:`~comix.data.synthetic.materials.MATERIALS`.
    * ``height``   float32 — object height above the terrain in metres (0 for flat ground).
    * ``instance`` int64 — object id (each painted object its own, spectra vary per object).
    * ``flat``     bool — surfaces held level in the DSM (water), terrain is flattened there.
    """

    def __init__(self, height: int, width: int):
        self.shape = (height, width)
        self.classes = np.zeros(self.shape, dtype=np.int64)
        self.material = np.zeros(self.shape, dtype=np.int64)
        self.height = np.zeros(self.shape, dtype=np.float32)
        self.instance = np.zeros(self.shape, dtype=np.int64)
        self.flat = np.zeros(self.shape, dtype=bool)
        self._next_instance = 1

    def new_instance(self) -> int:
        value = self._next_instance
        self._next_instance += 1
        return value

    @property
    def instance_count(self) -> int:
        return self._next_instance

    def clip_box(self, top: int, left: int, box_h: int, box_w: int) -> tuple[slice, slice] | None:
        """Slices of a box clipped to the canvas, or ``None`` if it falls outside."""
        top0, left0 = max(top, 0), max(left, 0)
        bottom, right = min(top + box_h, self.shape[0]), min(left + box_w, self.shape[1])
        if bottom <= top0 or right <= left0:
            return None
        return slice(top0, bottom), slice(left0, right)

    def paint(
        self,
        where,
        mask: np.ndarray | None,
        class_id: int,
        material: str,
        height: np.ndarray | float = 0.0,
        instance: int | None = None,
    ) -> int:
        """Paint ``class_id``/``material`` over ``where`` (slices or a full-size bool mask).

        ``mask`` (optional, shape of the region) limits the paint inside the region; ``height`` is a
        scalar or an array of the region's shape. Returns the instance id used.
        """
        instance = self.new_instance() if instance is None else instance
        if mask is None:
            mask = np.ones(self.classes[where].shape, dtype=bool)
        region_h = self.height[where]
        height_values = np.broadcast_to(np.asarray(height, dtype=np.float32), region_h.shape)
        self.classes[where] = np.where(mask, class_id, self.classes[where])
        self.material[where] = np.where(mask, MATERIAL_ID[material], self.material[where])
        self.height[where] = np.where(mask, height_values, region_h)
        self.instance[where] = np.where(mask, instance, self.instance[where])
        return instance

    def paint_material(self, where, mask: np.ndarray, material: str) -> None:
        """Change only the material (texture inside an object: paint lines, rails, cars), not the class."""
        self.material[where] = np.where(mask, MATERIAL_ID[material], self.material[where])

    def paint_rect(
        self,
        top: int,
        left: int,
        box_h: int,
        box_w: int,
        class_id: int,
        material: str,
        height: np.ndarray | float = 0.0,
        instance: int | None = None,
    ) -> int | None:
        """Axis-aligned rectangle; a height array must have the unclipped ``(box_h, box_w)`` shape."""
        where = self.clip_box(top, left, box_h, box_w)
        if where is None:
            return None
        if np.ndim(height) == 2:
            height = height[
                where[0].start - top : where[0].stop - top,
                where[1].start - left : where[1].stop - left,
            ]
        return self.paint(where, None, class_id, material, height, instance)

    def paint_crown(
        self,
        center_y: float,
        center_x: float,
        radius: float,
        crown_height: float,
        class_id: int,
        material: str,
        rng: np.random.Generator,
        only_over: np.ndarray | None = None,
    ) -> None:
        """A tree crown: a disc with a dome-shaped, slightly rough height profile (max with what is there)."""
        r = int(np.ceil(radius))
        where = self.clip_box(int(center_y) - r, int(center_x) - r, 2 * r + 1, 2 * r + 1)
        if where is None:
            return
        yy, xx = np.mgrid[where[0], where[1]]
        distance = np.hypot(yy - center_y, xx - center_x) / max(radius, 0.5)
        inside = distance <= 1.0
        if only_over is not None:
            inside &= only_over[where]
        dome = crown_height * (0.55 + 0.45 * np.sqrt(np.clip(1.0 - distance**2, 0.0, 1.0)))
        dome = dome * rng.uniform(0.92, 1.08, size=dome.shape)
        inside &= dome > self.height[where]
        self.paint(where, inside, class_id, material, dome.astype(np.float32))
