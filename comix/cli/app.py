"""``comix``: the toolchain's command line.

Each command (group) lives in its own module, listed once in :data:`COMMANDS` with its one-line help, and is
imported only when it runs: ``comix --help`` imports no command module, and a command that needs the full
toolchain on a runtime-only install (``pip install comix-deploy`` without ``[full]``) says so in one sentence
(exit 2) instead of failing on an import. Every command is registered through :func:`comix.cli.errors.command`
(or wrapped by :func:`comix.cli.errors.reported` here), the one way errors reach the user. A model family's
slice adds its group (SHIP: ``comix fusion``) through :data:`comix.tasks.FAMILIES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import typer
from typer.core import TyperCommand

from comix import __version__
from comix.cli.errors import EXIT_BAD_INPUT, OneLineUsageErrors, reported
from comix.extras import extra_for, missing_sentence
from comix.tasks import FAMILIES


@dataclass(frozen=True)
class LazyCommand:
    """A command or command group: its name, ``module:attribute`` (a function or a Typer app), one-line
    help."""

    name: str
    target: str
    help: str


# in the order of a run through the toolchain
COMMANDS = (
    LazyCommand(
        "demo",
        "comix.cli.demo_cmd:demo",
        "The whole toolchain on this CPU in minutes, into one report.",
    ),
    LazyCommand(
        "data",
        "comix.cli.data_cmd:app",
        "Make synthetic HSI-X scenes; inspect datasets and rasters.",
    ),
    LazyCommand(
        "model", "comix.cli.model_cmd:app", "Model variants: parameters, MACs, per-stage shapes."
    ),
    LazyCommand(
        "train",
        "comix.cli.train_cmd:train",
        "Train a CoMiX variant on a scene; writes a checkpoint.",
    ),
    LazyCommand(
        "eval",
        "comix.cli.eval_cmd:evaluate",
        "Score a checkpoint, graph or engine on a scene's held-out pixels.",
    ),
    LazyCommand(
        "export",
        "comix.cli.export_cmd:export_command",
        "Export a checkpoint to a validated ONNX graph.",
    ),
    LazyCommand(
        "calibrate",
        "comix.cli.calibrate_cmd:calibrate_command",
        "FP16 or INT8 graph calibrated on the model's data, with its report.",
    ),
    LazyCommand(
        "lint", "comix.cli.calibrate_cmd:lint_command", "The TensorRT lint of a Q/DQ or FP16 graph."
    ),
    LazyCommand(
        "infer",
        "comix.cli.infer_cmd:infer_command",
        "Segment a whole scene, or an archive of scenes, with any backend.",
    ),
    LazyCommand(
        "stream",
        "comix.cli.stream_cmd:stream_command",
        "Segment a pushbroom stream line by line: BIL lines in, class lines out.",
    ),
    LazyCommand(
        "profile",
        "comix.cli.profile_cmd:profile_command",
        "Latency, throughput, memory and time per model part.",
    ),
    LazyCommand(
        "plugins", "comix.cli.plugins_cmd:app", "Build the native libraries this machine can build."
    ),
    LazyCommand(
        "build",
        "comix.cli.build_cmd:build_command",
        "Build a TensorRT engine with our DCN plugins.",
    ),
    LazyCommand(
        "compare",
        "comix.cli.compare_cmd:compare_command",
        "Compare two models or backends on the same tiles.",
    ),
    LazyCommand(
        "doctor",
        "comix.cli.doctor_cmd:doctor_command",
        "What this machine can run, and what to do about each gap.",
    ),
    LazyCommand(
        "export-triton",
        "comix.cli.triton_cmd:export_triton_command",
        "Write a Triton model repository.",
    ),
) + tuple(
    LazyCommand(family.command[0], f"{family.package}.cli:app", family.command[1])
    for family in FAMILIES
    if family.package and family.command
)
_BY_NAME = {command.name: command for command in COMMANDS}


def _load(entry: LazyCommand) -> typer.core.click.Command:
    """The real command: import its module (one sentence and exit 2 when it needs an extra that is
    missing)."""
    module_name, attribute = entry.target.split(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except ModuleNotFoundError as error:
        if error.name is None or extra_for(error.name) is None:
            raise
        typer.secho(
            f"error: {missing_sentence(error.name, f'`comix {entry.name}`')}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(entry.name)(reported(target))
        command = typer.main.get_command(single)
    command.name = entry.name
    return command


class LazyGroup(OneLineUsageErrors):
    """The root group: lists every command with its one-line help, imports one only to run it."""

    def __init__(self, **attributes) -> None:
        super().__init__(**attributes)
        for entry in COMMANDS:
            self.commands[entry.name] = TyperCommand(
                entry.name, help=entry.help, short_help=entry.help
            )
        self._loaded: set[str] = set()

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name in _BY_NAME and name not in self._loaded:
            self.commands[name] = _load(_BY_NAME[name])
            self._loaded.add(name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="comix",
    cls=LazyGroup,
    help="CoMiX HSI-X segmentation: model, data, training, ONNX export, plugins, whole-scene inference and "
    "latency profiling.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"comix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """CoMiX HSI-X segmentation toolchain."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
