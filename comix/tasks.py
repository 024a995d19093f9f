"""What a model does — its task — the family that serves it, and the one sentence that refuses a model
given to the wrong command.

Every model record (:mod:`comix.metadata`), checkpoint and registry variant names one of :data:`TASKS`;
commands check it before any work with :func:`require_task`.

A family is a line of models with its own slice of the toolchain: CoMiX (segmentation) is served by the shared
packages themselves; SHIP (image fusion) lives in ``comix.ship`` (model, data, training, metrics, runtime,
export, precision rules, demo, CLI). Shared code never imports a slice: it keeps registries (model variants,
config classes, calibration data) that a slice fills when its part is imported, and asks
:func:`load_family_parts` for that part the first time a registry is read — the way mmdeploy imports a
codebase by name. This module is the only place that imports a slice by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass

from comix.errors import BadInputError

SEGMENTATION = "segmentation"  # CoMiX: HSI + X -> per-pixel classes
FUSION_IRVIS = "fusion-irvis"  # SHIP: visible + infrared -> fused image
FUSION_PANSHARPEN = "fusion-pansharpen"  # SHIP: upsampled MS + PAN -> sharpened MS
TASKS = (SEGMENTATION, FUSION_IRVIS, FUSION_PANSHARPEN)
FUSION_TASKS = (FUSION_IRVIS, FUSION_PANSHARPEN)
# what a person calls each task's model, and the command family that serves it
_DESCRIPTION = {
    SEGMENTATION: ("a CoMiX segmentation model", "comix train/eval/export/infer"),
    FUSION_IRVIS: ("a SHIP infrared-visible fusion model", "comix fusion ..."),
    FUSION_PANSHARPEN: ("a SHIP pan-sharpening model", "comix fusion ..."),
}
# how the two inputs of each task's model are called in messages (first, second)
_INPUT_LABELS = {
    SEGMENTATION: ("HSI cube", "X raster"),
    FUSION_IRVIS: ("visible image", "infrared image"),
    FUSION_PANSHARPEN: ("MS image", "PAN image"),
}


@dataclass(frozen=True)
class Family:
    """A line of models: its name, its tasks, the package of its slice (None: the shared packages) and the
    command group its slice adds to ``comix`` (name, one-line help; its Typer app is
    ``<package>.cli:app``)."""

    name: str
    tasks: tuple[str, ...]
    package: str | None
    command: tuple[str, str] | None = None


COMIX = Family("CoMiX", (SEGMENTATION,), None)
SHIP = Family(
    "SHIP",
    FUSION_TASKS,
    "comix.ship",
    ("fusion", "SHIP / SHIP++ image fusion: pan-sharpening and infrared-visible."),
)
FAMILIES = (COMIX, SHIP)
_LOADED: set[str] = set()


class TaskMismatchError(BadInputError):
    """A model of one task was given to a command (or function) made for another."""


def describe(task: str) -> str:
    return _DESCRIPTION.get(task, (f"a model of unknown task {task!r}", ""))[0]


def input_labels(task: str) -> tuple[str, str]:
    """(first, second) input names of a ``task``'s model for messages, e.g. ("HSI cube", "X raster")."""
    return _INPUT_LABELS.get(task, _INPUT_LABELS[SEGMENTATION])


def family_of(task: str) -> Family:
    """The family that serves ``task``; refuses an unknown task in one sentence."""
    for family in FAMILIES:
        if task in family.tasks:
            return family
    raise TaskMismatchError(f"task: got {task!r}, expected one of {list(TASKS)}")


def load_family_parts(part: str) -> None:
    """Import ``<slice>.<part>`` (e.g. ``comix.ship.model``) of every family with a slice, once, so it
    registers what it provides with the shared registries."""
    for family in FAMILIES:
        if family.package and f"{family.package}.{part}" not in _LOADED:
            importlib.import_module(f"{family.package}.{part}")
            _LOADED.add(f"{family.package}.{part}")


def require_task(task: str, expected: str | Iterable[str], what: str, where: str) -> None:
    """Raise :class:`TaskMismatchError` unless ``task`` is ``expected`` (one task or several).

    ``what`` names the model (a path), ``where`` the command, e.g. ``"comix infer"``. The message is one
    sentence: what the model is, what the command takes, and which command serves the model.
    """
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    if task in allowed:
        return
    wanted = " or ".join(describe(t) for t in allowed)
    serves = _DESCRIPTION.get(task, ("", ""))[1]
    hint = f"; use `{serves}` for it" if serves else ""
    raise TaskMismatchError(
        f"{what}: got {describe(task)} (task {task!r}), but `{where}` expects {wanted}{hint}"
    )
