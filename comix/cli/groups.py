"""Command groups that model families add to ``comix`` (SHIP's ``comix fusion ...``).

A family's slice registers its Typer app here when its ``cli`` part is imported; :mod:`comix.cli.app` asks for
the groups through :func:`comix.tasks.load_family_parts`, so the shared command line never imports a slice.
"""

from __future__ import annotations

import typer

from comix.errors import BadInputError
from comix.tasks import load_family_parts

_GROUPS: dict[str, typer.Typer] = {}


def register_group(name: str, app: typer.Typer) -> typer.Typer:
    """Mount ``app`` as ``comix <name> ...``."""
    if name in _GROUPS:
        raise BadInputError(f"command group {name!r} is already registered")
    _GROUPS[name] = app
    return app


def family_groups() -> dict[str, typer.Typer]:
    """Every registered family command group, by name."""
    load_family_parts("cli")
    return dict(_GROUPS)
