"""``trnet dev-table``: each system's dev UAR per fold and the fold-paired difference to a
reference (library: :mod:`trnet.scoring.dev_table`)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("dev-table")
    def dev_table(
        exp: Path = typer.Argument(..., help="The exp/ dir of a recipe."),
        systems: str = typer.Option(
            ..., "--systems", help='the systems, one word: "a b c" (dirs under EXP)'
        ),
        ref: str = typer.Option("trnet", "--ref", help="the reference system (added if absent)"),
        folds: str = typer.Option(
            None, "--folds", help='folds, one word: "1 2 3" (default: every fold<K> dir)'
        ),
    ) -> None:
        """Dev UAR of every fold of each system (its .done; test scores are never read), the
        mean, and the fold-paired difference to --ref with its 95% t interval: the table
        keep/drop decisions are made on. Writes EXP/dev_table.tsv and EXP/dev_table.md."""
        from trnet.commands._shared import print_tables
        from trnet.console import console as Console
        from trnet.errors import TrnetError
        from trnet.scoring.dev_table import build_dev_table

        names = systems.split()
        if not names:
            raise TrnetError("--systems: no system named")
        numbers = None
        if folds is not None:
            words = folds.split()
            if not words or not all(w.isdigit() and int(w) > 0 for w in words):
                raise TrnetError(f"--folds: expected fold numbers, got {folds!r}")
            numbers = [int(w) for w in words]
        table, written = build_dev_table(exp, names, ref, numbers)
        print_tables([table], written, Console())
