"""Calibration crops of fusion pairs, stratified by content so flat and busy areas
(and thermal targets) are present.

The fusion counterpart of :mod:`comix.calibration.tiles`. Candidate crops of ``tile`` x ``tile`` pixels (the
samples' size when they are smaller) lie on a grid with half-tile steps over every sample (the last row and
column flush with the border). Each candidate gets a stratum:

* detail: the mean absolute finite difference of the guide image (PAN / infrared) in the crop, split at the
  quartiles of all candidates (pan-sharpening: 4 strata, flat to busy);
* IR-VIS with thermal-target masks: detail above / below the median x whether the crop holds target pixels
  (4 strata) — targets are the "rare class" of this task.

Crop ``i`` is drawn (seeded, without replacement) from stratum ``order[i % K]``, strata ordered
smallest first, so with at least K crops every stratum is present. Only the model inputs are read
(MS upsampled to the PAN grid + PAN, or visible + infrared) in the data's raw units: a reference
image is never used for calibration.
"""

from __future__ import annotations

import numpy as np

from comix.calibration.errors import CalibrationError
from comix.calibration.tiles import CalibrationTiles
from comix.ship.data.pairs import IrVisSet, PansharpenSet

STRATUM_NAMES = {
    "pansharpen": ("flat", "low detail", "high detail", "busy"),
    "irvis": ("flat, no target", "busy, no target", "flat, thermal target", "busy, thermal target"),
}


def fusion_inputs(
    data: PansharpenSet | IrVisSet,
) -> tuple[list[np.ndarray], list[np.ndarray], list | None]:
    """(primary images, guide images, target masks or None): what the model takes, per sample (C, H, W)."""
    if isinstance(data, PansharpenSet):
        return list(data.lms), list(data.pan), None
    return list(data.visible), list(data.infrared), data.masks


def _detail(guide: np.ndarray) -> float:
    image = guide.astype(np.float64)
    return float(
        np.mean(np.abs(np.diff(image, axis=-1))) + np.mean(np.abs(np.diff(image, axis=-2)))
    )


def _starts(length: int, size: int) -> list[int]:
    step = max(1, size // 2)
    starts = list(range(0, length - size + 1, step))
    return starts if starts[-1] == length - size else [*starts, length - size]


def fusion_calibration_tiles(
    data: PansharpenSet | IrVisSet, count: int, tile: int | tuple[int, int], seed: int = 0
) -> CalibrationTiles:
    """``count`` stratified crops (fewer when the data holds fewer distinct crops); ``hsi`` = the
    primary image, ``x`` = the guide, ``strata`` the stratum of each crop, ``samples`` its sample index."""
    if count < 1:
        raise CalibrationError(f"--tiles: got {count}, expected at least 1 calibration tile")
    primaries, guides, masks = fusion_inputs(data)
    if not primaries:
        raise CalibrationError(
            f"fusion data {data.name or ''}: got no samples, expected pairs to calibrate on"
        )
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tile
    size_h = min(tile_h, *(g.shape[1] for g in guides))
    size_w = min(tile_w, *(g.shape[2] for g in guides))
    candidates, detail, target = [], [], []
    for n, guide in enumerate(guides):
        for top in _starts(guide.shape[1], size_h):
            for left in _starts(guide.shape[2], size_w):
                window = (slice(None), slice(top, top + size_h), slice(left, left + size_w))
                candidates.append((n, top, left))
                detail.append(_detail(guide[window]))
                target.append(bool(masks[n][window].any()) if masks is not None else False)
    detail = np.asarray(detail)
    if masks is not None:
        strata = (detail > np.median(detail)).astype(int) + 2 * np.asarray(target, int)
        names = STRATUM_NAMES["irvis"]
    else:
        strata = np.searchsorted(np.quantile(detail, [0.25, 0.5, 0.75]), detail, side="right")
        names = STRATUM_NAMES["pansharpen"]
    rng = np.random.default_rng(seed)
    pools = {s: list(rng.permutation(np.flatnonzero(strata == s))) for s in np.unique(strata)}
    order = sorted(pools, key=lambda s: (len(pools[s]), s))  # smallest stratum first
    picked: list[int] = []
    for index in range(min(count, len(candidates))):
        live = [s for s in order if pools[s]]
        picked.append(int(pools[live[index % len(live)]].pop()))
    hsi, x = [], []
    for i in picked:
        n, top, left = candidates[i]
        window = (slice(None), slice(top, top + size_h), slice(left, left + size_w))
        hsi.append(primaries[n][window])
        x.append(guides[n][window])
    tiles = CalibrationTiles(
        np.stack(hsi).astype(np.float32),
        np.stack(x).astype(np.float32),
        [(candidates[i][1], candidates[i][2]) for i in picked],
    )
    tiles.samples = [candidates[i][0] for i in picked]
    tiles.strata = [names[int(strata[i])] for i in picked]
    return tiles


def stratum_coverage(tiles: CalibrationTiles) -> dict[str, int]:
    """stratum name -> number of crops drawn from it."""
    counts: dict[str, int] = {}
    for name in tiles.strata:
        counts[name] = counts.get(name, 0) + 1
    return counts
