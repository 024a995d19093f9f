"""SHIP / SHIP++ (multi-modal image fusion): the family's slice of the toolchain, one sub-package per part —
``model`` (network, variants), ``data`` (Wald's protocol, thermal band, readers), ``quality`` (metrics),
``train`` (training, baselines, scoring), ``runtime`` (whole-scene fusion), ``export`` (DFT and DFT-free
ONNX), ``calibration`` (its data and precision rules), ``demo`` and ``cli`` (``comix fusion ...``).

Shared code never imports this package; each part registers with the shared registries when
:func:`comix.tasks.load_family_parts` loads it (see :mod:`comix.tasks`). ``docs/ship.md`` describes
the models.
"""
