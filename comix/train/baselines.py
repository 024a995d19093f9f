"""Per-pixel features of the classic baselines CoMiX is compared with (``tools/compare_baselines.py``,
``tools/data_baseline.py``): a random forest on the spectra, + the DSM, + a 5 x 5 neighbourhood and the height
above the local minimum (a crude stand-in for what a spatial model can exploit)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def pixel_features(scene, spatial: bool, with_dsm: bool) -> np.ndarray:
    """float32 ``(H*W, F)`` per-pixel features of a :class:`~comix.data.scene.Scene`: its spectra (5 x 5 means
    with ``spatial``), with ``with_dsm`` the DSM (first X channel) and, with ``spatial``, its 5 x 5 mean and
    its height above the 21 x 21 minimum."""
    cube, dsm = scene.hsi, scene.x[0]
    if spatial:
        cube = ndimage.uniform_filter(cube, size=(1, 5, 5))
    parts = [cube.reshape(cube.shape[0], -1)]
    if with_dsm:
        height = dsm - ndimage.minimum_filter(dsm, size=21)
        parts.append(dsm.reshape(1, -1))
        if spatial:
            parts.append(ndimage.uniform_filter(dsm, size=5).reshape(1, -1))
            parts.append(height.reshape(1, -1))
    return np.concatenate(parts, axis=0).T
