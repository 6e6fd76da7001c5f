"""``trnet score``: UAR/WAR of decode dirs (one in detail, a system's grid, systems compared)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ALLOW_PARTIAL, N_BOOT, SEED, print_tables, scored_dirs


def register(app: typer.Typer) -> None:
    @app.command()
    def score(
        dirs: list[Path] = typer.Argument(
            ..., help="Decode dirs, or dirs holding them at any depth."
        ),
        allow_partial: bool = ALLOW_PARTIAL,
        ref: str = typer.Option(
            None, "--ref", help="Reference system of the comparison (default baseline_noisy)."
        ),
        n_boot: int = N_BOOT,
        seed: int = SEED,
        out: Path = typer.Option(None, "--out", help="Prefix of the comparison files (.tsv, .md)."),
    ) -> None:
        """Score decode dirs: one in detail, a system as noise × SNR grid, systems as a table."""
        from rich.console import Console

        from trnet.scoring.results import compare_systems, group_by_system, system_grids
        from trnet.scoring.tables import decode_dir_tables, score_decode_dir, summary_line

        console = Console()
        scored = scored_dirs(dirs, allow_partial)
        if len(scored) == 1:
            scores = score_decode_dir(scored[0])
            for table in decode_dir_tables(scored[0], scores):
                console.print(table.for_terminal(console.width))
            console.print(summary_line(scored[0].path, scores), highlight=False)
            return
        for tables, written in system_grids(scored):
            print_tables(tables, written, console)
        if len(group_by_system(scored)) > 1:
            print_tables(*compare_systems(scored, ref, n_boot, seed, out), console)
