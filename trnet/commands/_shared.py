"""Helpers shared by several command modules (not a command: ``trnet.cli`` skips ``_*``)."""

from __future__ import annotations

import math
import os
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


def collect(dirs: list[Path], allow_partial: bool):
    """Decode dirs under ``dirs``; with several arguments, one without any is only noted."""
    from trnet.console import console as Console
    from trnet.scoring.decode_dir import find_decode_dirs
    from trnet.scoring.results import score_tree

    roots = []
    for d in dirs:
        try:
            find_decode_dirs(d)
            roots.append(d)
        except TrnetError as err:
            if len(dirs) == 1:
                raise
            Console(stderr=True).print(f"skipped: {err}", highlight=False)
    if not roots:
        raise TrnetError(f"{' '.join(map(str, dirs))}: no decode dirs found (no 'hyp' file)")
    return score_tree(roots, allow_partial)


def compare_systems(
    dirs, ref: str | None, n_boot: int, seed: int, out: Path | None, console
) -> None:
    from trnet.scoring.results import (
        comparison_tables,
        corpus_tag,
        group_by_system,
        resolve_ref,
        write_comparison,
    )
    from trnet.scoring.tables import aggregate

    groups = group_by_system(dirs)
    cells = {name: aggregate(ds) for name, ds in groups.items()}
    ref = resolve_ref(ref, list(groups))
    tables = comparison_tables(groups, cells, ref, n_boot, seed, corpus_tag(dirs))
    for table in tables:
        console.print(table.for_terminal(console.width))
    if out is None:
        system_roots = [Path(os.path.commonpath([d.path for d in ds])) for ds in groups.values()]
        out = Path(os.path.commonpath(system_roots)) / "compare"
    tsv, md = write_comparison(tables, out)
    console.print(f"wrote {tsv} and {md}", highlight=False)


def print_grids(dirs, console) -> None:
    from trnet.scoring.results import corpus_tag, group_by_system
    from trnet.scoring.tables import aggregate, grid_tables, write_grid

    tag = corpus_tag(dirs)
    for name, ds in group_by_system(dirs).items():
        if len(ds) < 2:
            continue
        cells = aggregate(ds)
        for table in grid_tables(cells, name, tag):
            console.print(table.for_terminal(console.width))
        tsv, js = write_grid(cells, name, Path(os.path.commonpath([d.path for d in ds])))
        console.print(f"wrote {tsv} and {js}", highlight=False)
