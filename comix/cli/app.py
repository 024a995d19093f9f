"""``comix``: the toolchain's command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from comix import __version__

app = typer.Typer(
    name="comix",
    help="CoMiX HSI-X segmentation: model, data, training, ONNX export, plugins and whole-scene inference.",
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
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """CoMiX HSI-X segmentation toolchain."""


def _register() -> None:
    """Mount the command groups (imported here so `comix --help` lists them all)."""
    from comix.cli import model_cmd

    app.add_typer(model_cmd.app, name="model", help="Inspect model variants: parameters, MACs, shapes.")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
