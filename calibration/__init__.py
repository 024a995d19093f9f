"""Precision: FP16 and INT8 (explicit Q/DQ) graphs from an FP32 CoMiX or SHIP graph, calibrated on
the data of the model's task (scene tiles / fusion crops), checked for TensorRT and scored on
held-out data. Installed as ``comix.calibration``.

    tiles = calibration_tiles(scene, count=32, tile=128)                 # comix.calibration.tiles
    result = calibrate(CalibrationRequest(model, "int8", dataset, out))  # comix.calibration.pipeline
    report = accuracy_report({"fp32": a, "int8": b}, scene)              # comix.calibration.accuracy

Modules, one job each: ``data`` (the task's data behind one interface; each family registers its kinds —
SHIP's, with its precision rules and image-quality report, are in :mod:`comix.ship.calibration`), ``tiles``
(calibration tiles of a scene), ``statistics`` (activation ranges through our
custom-op session), ``cache`` (content-keyed statistics), ``fp16`` / ``int8`` (graph conversion),
``lint`` (TensorRT rules for Q/DQ graphs), ``sensitivity`` (per-node error, fallback to a budget),
``accuracy`` (the report), ``latency`` (one tile, interleaved), ``compare`` (FP32/FP16/INT8 of one
model, for the demo), ``pipeline`` (what ``comix calibrate`` runs).
"""
