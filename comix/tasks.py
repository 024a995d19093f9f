"""What a model does — its task — and the one sentence that refuses a model given to the wrong command.

Every model record (:mod:`comix.metadata`), checkpoint and registry variant names one of :data:`TASKS`;
commands check it before any work with :func:`require_task`.
"""

from __future__ import annotations

from collections.abc import Iterable

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


class TaskMismatchError(ValueError):
    """A model of one task was given to a command (or function) made for another."""


def describe(task: str) -> str:
    return _DESCRIPTION.get(task, (f"a model of unknown task {task!r}", ""))[0]


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
