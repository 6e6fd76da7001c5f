"""Helpers shared by several command modules (not a command: ``trnet.cli`` skips ``_*``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from trnet.errors import TrnetError

_NUMBER = re.compile(r"^-?\d")


def expand_multi_value(args: list[str], option: str) -> list[str]:
    """``--snr 20 15 clean`` → ``--snr 20 --snr 15 --snr clean`` (negative numbers are values)."""
    out: list[str] = []
    taking = False
    for arg in args:
        if arg == option:
            taking = True
            continue
        if taking and (not arg.startswith("-") or _NUMBER.match(arg)):
            out += [option, arg]
            continue
        taking = False
        out.append(arg)
    return out


def bounded(low: float | None = None, *, above: bool = False) -> Callable[..., Any]:
    """A typer option callback: the value (when given) must be a finite number ``>= low``
    (``> low`` with ``above``; any finite number when ``low`` is None), else a one-line
    :class:`TrnetError` naming the option. Click's own ranges let ``nan`` through."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return value
        ok = math.isfinite(value) and (low is None or (value > low if above else value >= low))
        if not ok:
            name = next((o for o in param.opts if o.startswith("--")), param.name)
            bound = "" if low is None else f" {'>' if above else '>='} {low:g}"
            raise TrnetError(f"{name}: must be a finite number{bound}, got {value}")
        return value

    return check


class ConditionCommand(TyperCommand):
    """Lets ``--condition`` take several values in a row, as ``--snr`` does."""

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201 (click's signature)
        return super().parse_args(ctx, expand_multi_value(list(args), "--condition"))


class ConditionsCommand(TyperCommand):
    """Lets ``--conditions clean esc50_0 musan_0`` take several values in a row."""

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201 (click's signature)
        return super().parse_args(ctx, expand_multi_value(list(args), "--conditions"))


ALLOW_PARTIAL = typer.Option(
    False, "--allow-partial", help="Score a hyp that covers only part of ref (on the overlap)."
)
N_BOOT = typer.Option(
    1000,
    "--n-boot",
    help="Bootstrap resamples for the CI of the UAR difference.",
    callback=bounded(1),
)
SEED = typer.Option(0, "--seed", help="Seed of the bootstrap (and of t-SNE).")


def scored_dirs(dirs: list[Path], allow_partial: bool):
    """The decode dirs under ``dirs``, scored (:func:`trnet.scoring.results.score_roots`);
    a root skipped among several is noted on stderr."""
    from trnet.console import console as Console
    from trnet.scoring.results import score_roots

    scored, skipped = score_roots(dirs, allow_partial)
    for line in skipped:
        Console(stderr=True).print(line, highlight=False)
    return scored


def print_tables(tables, written: tuple[Path, Path], console) -> None:  # noqa: ANN001
    """Tables as the terminal shows them, then the files they were written to."""
    for table in tables:
        console.print(table.for_terminal(console.width))
    console.print(f"wrote {written[0]} and {written[1]}", highlight=False)
