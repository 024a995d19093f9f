"""Errors the runtime raises for bad user input; the CLI prints them as one sentence, exit code 2."""

from __future__ import annotations

from comix.errors import BadInputError


class RuntimeInputError(BadInputError):
    """A model file, input raster or option is not what the runtime expects (message says got/expected)."""


class CustomOpLibraryMissing(RuntimeInputError):
    """The graph has ``ai.comix`` nodes and our ONNX Runtime custom-op library was not found."""
