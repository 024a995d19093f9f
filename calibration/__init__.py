"""Precision: FP16 and INT8 (explicit Q/DQ) graphs from an FP32 CoMiX graph, calibrated on scene tiles,
checked for TensorRT and scored on held-out pixels. Installed as ``comix.calibration``.

    tiles = calibration_tiles(scene, count=32, tile=128)                 # comix.calibration.tiles
    result = calibrate(CalibrationRequest(model, "int8", dataset, out))  # comix.calibration.pipeline
    report = accuracy_report({"fp32": a, "int8": b}, scene)              # comix.calibration.accuracy

Modules, one job each: ``tiles`` (calibration data), ``statistics`` (activation ranges through our
custom-op session), ``cache`` (content-keyed statistics), ``fp16`` / ``int8`` (graph conversion),
``lint`` (TensorRT rules for Q/DQ graphs), ``sensitivity`` (per-node error, fallback to a budget),
``accuracy`` (the report), ``latency`` (one tile, interleaved), ``compare`` (FP32/FP16/INT8 of one
model, for the demo), ``pipeline`` (what ``comix calibrate`` runs).
"""
