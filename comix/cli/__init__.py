"""The ``comix`` command line (typer)."""
