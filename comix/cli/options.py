"""Options several commands share, declared once: ``--tile`` (one vocabulary, :mod:`comix.tiles`),
``--backend`` (the registry's list, :mod:`comix.runtime.registry`) and ``--threads``."""

from __future__ import annotations

import typer

from comix import tiles


def tile_option(what: str = "", *, ranges: bool = False, repeat: bool = False):
    """``--tile`` as a string parsed by :func:`comix.tiles.parse_tile` (or ``parse_tile_range`` with
    ``ranges``); ``repeat``: given several times for a sweep. ``what`` says what the tile is for."""
    text = tiles.HELP
    if ranges:
        text += " MIN:OPT:MAX of those gives a range (a TensorRT profile)."
    if repeat:
        text += " Repeat for a sweep: --tile 64 --tile 128."
    return typer.Option([] if repeat else None, "--tile", help=f"{what} {text}".strip())


def backend_option():
    """``--backend``: auto or a registered backend."""
    from comix.runtime.registry import help_text

    return typer.Option("auto", "--backend", help=help_text())


def threads_option(
    what: str = "Intra-op threads",
    *,
    default: int = 0,
    runtime: str = "the runtime",
    repeat: bool = False,
    note: str = "",
):
    """``--threads``: a count >= 0 (0 = ``runtime``'s default), refused below 0 by Click in every command;
    ``repeat``: given several times for a sweep (each value checked)."""
    text = f"{what} (0 = {runtime}'s default)." + (" Repeat for a sweep." if repeat else "")
    return typer.Option(
        [default] if repeat else default, "--threads", min=0, help=f"{text} {note}".strip()
    )


def verify_option():
    """``--verify/--no-verify``: check the digests recorded in the model at open (comix.runtime.integrity)."""
    return typer.Option(
        True,
        "--verify/--no-verify",
        help="Check the SHA-256 digests of the weights and graph recorded in the model before using it; "
        "a mismatch is refused (a model with none recorded runs and is reported as not verified).",
    )


def recheck_option():
    from comix.runtime.guard import DEFAULT_RECHECK_EVERY

    return typer.Option(
        0,
        "--recheck-every",
        min=0,
        help="Re-hash the weights in memory and re-run a canary tile every N tiles; a change reloads the "
        f"model from its verified file and is reported (0 = off; {DEFAULT_RECHECK_EVERY} costs < 1 % of "
        "throughput).",
    )


def redundant_option():
    return typer.Option(
        0,
        "--redundant",
        min=0,
        help="Run every K-th tile twice; the outputs must be bit-identical, else a third run decides and the "
        "majority is kept (0 = off).",
    )


def deadline_option():
    return typer.Option(
        None,
        "--deadline-ms",
        help="Count and report tiles that take longer than this (milliseconds).",
    )
