"""``comix``: the toolchain's command line. Each command (group) lives in its own module; every command
is registered through :func:`comix.cli.errors.command`, the one way errors reach the user."""

from __future__ import annotations

import typer

from comix import __version__
from comix.cli.errors import OneLineUsageErrors, command
from comix.cli.groups import family_groups

app = typer.Typer(
    cls=OneLineUsageErrors,
    name="comix",
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


def _register() -> None:
    """Mount the commands and command groups, in the order of a run through the toolchain."""
    from comix.cli import (
        calibrate_cmd,
        data_cmd,
        demo_cmd,
        eval_cmd,
        export_cmd,
        infer_cmd,
        model_cmd,
        plugins_cmd,
        profile_cmd,
        train_cmd,
    )

    command(app, "demo")(demo_cmd.demo)
    app.add_typer(data_cmd.app, name="data")
    app.add_typer(model_cmd.app, name="model")
    command(app, "train")(train_cmd.train)
    command(app, "eval")(eval_cmd.evaluate)
    command(app, "export")(export_cmd.export_command)
    command(app, "calibrate")(calibrate_cmd.calibrate_command)
    command(app, "lint")(calibrate_cmd.lint_command)
    command(app, "infer")(infer_cmd.infer_command)
    command(app, "profile")(profile_cmd.profile_command)
    app.add_typer(plugins_cmd.app, name="plugins")
    for name, group in family_groups().items():
        app.add_typer(group, name=name)
    _register_deployment()


def _register_deployment() -> None:
    """TensorRT engines, comparisons, the environment check and Triton repositories."""
    from comix.cli import build_cmd, compare_cmd, doctor_cmd, triton_cmd

    command(app, "build")(build_cmd.build_command)
    command(app, "compare")(compare_cmd.compare_command)
    command(app, "doctor")(doctor_cmd.doctor_command)
    command(app, "export-triton")(triton_cmd.export_triton_command)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
