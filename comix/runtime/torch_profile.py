"""Per-module times of a PyTorch forward, from ``torch.profiler`` with one labelled range per module call.

Every module call is wrapped (forward pre-hook / hook) in a ``record_function`` range named like an
exported node's scope, ``<module path>[<Class>]`` (:func:`comix.export.passes.scoped_name` without the node
part), so the same grouping reads both. Each profiled event's *self* time goes to the innermost module
range around it: a module's time is its own ops plus the Python between them, never its children's.
The profiler adds a few microseconds per op, so the sum of layer times is a little above the latency.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from comix.errors import BadInputError
from comix.runtime.backend import LayerTime

SCOPE_PREFIX = "comix.scope:"  # marks our ranges among the profiler's events


def scope_label(path: str, module: nn.Module) -> str:
    """``hsi_stages.0.0.dcn[DeformConv3d]`` for a module at ``path`` (the root module's path is empty)."""
    return f"{path}[{type(module).__name__}]"


class ModuleRanges:
    """Context manager: while active, every call of ``root``'s modules is a labelled profiler range."""

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.handles: list = []
        self.open: list = []

    def __enter__(self) -> ModuleRanges:
        for path, module in self.root.named_modules():
            label = SCOPE_PREFIX + scope_label(path, module)

            def enter(_module, _args, label=label):
                scope = torch.autograd.profiler.record_function(label)
                scope.__enter__()
                self.open.append(scope)

            def leave(_module, _args, _output):
                self.open.pop().__exit__(None, None, None)

            self.handles.append(module.register_forward_pre_hook(enter))
            self.handles.append(module.register_forward_hook(leave))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        while self.open:  # a forward that raised leaves its ranges open
            self.open.pop().__exit__(None, None, None)


def _innermost_scope(event) -> str | None:
    while event is not None:
        if event.name.startswith(SCOPE_PREFIX):
            return event.name[len(SCOPE_PREFIX) :]
        event = event.cpu_parent
    return None


def module_times(module: nn.Module, call: Callable[[], object], runs: int) -> list[LayerTime]:
    """Mean self time per module scope of ``call()`` (which runs ``module``) over ``runs`` profiled calls,
    after one unprofiled warm-up call. ``kind`` is the module class, ``calls`` its calls per run; time
    outside every module (the profiler's own bookkeeping) is left out."""
    if runs < 1:
        raise BadInputError(f"runs: got {runs}, expected >= 1")
    call()
    totals: dict[str, list] = {}
    with (
        ModuleRanges(module),
        torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof,
    ):
        for _ in range(runs):
            call()
    for event in prof.events():
        scope = _innermost_scope(event)
        if scope is None:
            continue
        entry = totals.setdefault(scope, [0.0, 0])
        entry[0] += event.self_cpu_time_total
        if event.name == SCOPE_PREFIX + scope:
            entry[1] += 1
    return [
        LayerTime(
            scope,
            scope[scope.rfind("[") + 1 : -1],
            micros / runs / 1e3,
            max(1, round(calls / runs)),
        )
        for scope, (micros, calls) in totals.items()
    ]
