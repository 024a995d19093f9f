"""Package namespaces that import a module only when one of its names is first used (PEP 562).

    __getattr__, __all__ = lazy_names(__name__, {"ComixNet": "comix.model.network", ...})

``comix.runtime``, ``comix.ops`` and ``comix.model`` re-export their public names this way, so importing the
package imports nothing heavy: the torch-free runtime and ``comix --help`` stay light, and code that uses a
name gets it exactly as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_names(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], object], list[str]]:
    """(``__getattr__``, ``__all__``) for ``package``: each name of ``table`` is loaded from its module."""

    def __getattr__(name: str):
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(table)
