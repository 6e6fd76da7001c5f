"""``trnet compare``: systems × conditions (UAR, WAR) and bootstrap CIs of ΔUAR to a reference."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ALLOW_PARTIAL, N_BOOT, SEED, print_tables, scored_dirs


def register(app: typer.Typer) -> None:
    @app.command()
    def compare(
        dirs: list[Path] = typer.Argument(
            ..., help="One dir per system (e.g. exp/baseline_noisy exp/trnet)."
        ),
        ref: str = typer.Option(
            "baseline_noisy", "--ref", help="Reference system (name or its dir)."
        ),
        allow_partial: bool = ALLOW_PARTIAL,
        n_boot: int = N_BOOT,
        seed: int = SEED,
        out: Path = typer.Option(None, "--out", help="Prefix of the output files (.tsv, .md)."),
    ) -> None:
        """Systems × conditions table (UAR, WAR) and bootstrap CIs of ΔUAR to a reference."""
        from trnet.console import console as Console
        from trnet.scoring.results import compare_systems

        scored = scored_dirs(dirs, allow_partial)
        print_tables(*compare_systems(scored, ref, n_boot, seed, out), Console())
