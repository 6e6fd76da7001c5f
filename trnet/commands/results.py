"""``trnet results``: score every decode dir of a recipe's exp/ and write RESULTS.md (library:
:func:`trnet.scoring.results.build_results`)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ALLOW_PARTIAL, N_BOOT, SEED


def register(app: typer.Typer) -> None:
    @app.command()
    def results(
        exp_dir: Path = typer.Argument(..., help="The exp/ dir of a recipe."),
        out: Path = typer.Option(None, "--out", help="Default: EXP_DIR/RESULTS.md."),
        ref: str = typer.Option(None, "--ref", help="Reference system (default baseline_noisy)."),
        allow_partial: bool = ALLOW_PARTIAL,
        n_boot: int = N_BOOT,
        seed: int = SEED,
        figures: bool = typer.Option(
            True, "--figures/--no-figures", help="Draw exp/figures/*.png."
        ),
    ) -> None:
        """Score every decode dir under EXP_DIR and write RESULTS.md (tables, grids, figures)."""
        from rich.console import Console

        from trnet.scoring.results import build_results

        console = Console()
        path, tables = build_results(exp_dir, out, ref, n_boot, seed, allow_partial, figures)
        for table in tables:
            console.print(table.for_terminal(console.width))
        console.print(f"RESULTS: {path}", highlight=False)
