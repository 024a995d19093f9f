"""Benchmarks and profiling scripts (run as `python -m tools.NAME` or `python tools/NAME.py`)."""
