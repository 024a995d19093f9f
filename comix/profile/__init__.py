"""Latency profiling of a CoMiX model on any backend (``comix profile``).

    report = profile("model.onnx", ProfileOptions(tiles=[(128, 128)], batches=[1, 4], threads=[1]))
    write_report(report, "runs/profile")      # profile.json, profile.md, latency_histogram.png, parts.png

One job per module: ``stats`` (latency statistics and the stopping rule), ``machine`` (what it ran on),
``peak`` (FP32 peak and the fraction reached), ``memory`` (peak host/GPU memory), ``power`` (Jetson
tegrastats), ``parts`` (layer -> model part), ``backends`` (open the model, or refuse), ``runner`` (the
measurement), ``result`` (the data), ``report`` and ``plots`` (tables, files, pictures).
"""

from comix.profile.report import markdown, print_report, write_report
from comix.profile.result import ConfigResult, ProfileReport
from comix.profile.runner import ProfileOptions, profile
from comix.profile.stats import LatencyStats, StoppingRule, measure

__all__ = [
    "ConfigResult",
    "LatencyStats",
    "ProfileOptions",
    "ProfileReport",
    "StoppingRule",
    "markdown",
    "measure",
    "print_report",
    "profile",
    "write_report",
]
