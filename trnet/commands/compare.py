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
        names: str = typer.Option(
            "",
            "--names",
            help="A name per dir, in order, for the system it holds (e.g. 'before after': "
            "one system from two recipe folders, paired by fold).",
        ),
    ) -> None:
        """Systems × conditions table (UAR, WAR) and bootstrap CIs of ΔUAR to a reference."""
        import dataclasses

        from trnet.console import console as Console
        from trnet.errors import TrnetError
        from trnet.scoring.results import compare_systems

        if not names:
            scored = scored_dirs(dirs, allow_partial)
        else:
            labels = names.split()
            if len(labels) != len(dirs) or len(set(labels)) != len(labels):
                raise TrnetError(
                    f"--names: one distinct name per dir ({len(dirs)} dirs, got {names!r})"
                )
            scored = []
            for root, label in zip(dirs, labels, strict=True):
                held = scored_dirs([root], allow_partial)
                systems = sorted({d.system for d in held})
                if len(systems) != 1:
                    raise TrnetError(f"{root}: --names needs one system per dir, found {systems}")
                scored += [dataclasses.replace(d, system=label) for d in held]
        print_tables(*compare_systems(scored, ref, n_boot, seed, out), Console())
