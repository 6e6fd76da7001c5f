"""``trnet make-rirs``: simulated RIR sets, one per ``rev-<rt60>`` condition, each indexed
as ``trnet rir-index`` indexes (where no RIR corpus is given)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ConditionCommand


def register(app: typer.Typer) -> None:
    @app.command("make-rirs", cls=ConditionCommand)
    def make_rirs(
        db: Path = typer.Argument(..., help="the simulated RIRs go to DB/<condition>/"),
        index_root: Path = typer.Argument(
            ..., help="their indexes to INDEX_ROOT/<condition>/ (trnet corrupt --rirs)"
        ),
        condition: list[str] = typer.Option(
            ...,
            "--condition",
            help="corruption conditions; the rev-<rt60> ones get a set, e.g. --condition "
            "rev-0.6 rev-0.9 (others are left out)",
        ),
        n: int = typer.Option(8, "--n", help="rooms per condition"),
        seed: int = typer.Option(0, "--seed", help="same seed and n => identical files"),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="replace a set simulated with another seed or n"
        ),
    ) -> None:
        """Simulate (pyroomacoustics, the image source method) N rooms per rev-<rt60>
        condition whose measured RT60 is within trnet corrupt's tolerance of it, and index
        them; a complete set of the same request is kept as it is."""
        from rich.table import Table

        from trnet.console import console as Console
        from trnet.corrupt.simulated import make_condition_rirs

        names = [c for arg in condition for c in arg.split()]
        sets = make_condition_rirs(db, index_root, names, n, seed, overwrite)
        table = Table("condition", "RIRs", "mean RT60 (s)", "mean DRR (dB)", "", title="RIRs")
        for s in sets:
            count = len(s.measured)
            rt60 = sum(m.rt60 for m in s.measured) / count
            drr = sum(m.drr for m in s.measured) / count
            made = "simulated" if s.made else "kept"
            table.add_row(s.condition, str(count), f"{rt60:.3f}", f"{drr:.2f}", made)
        if sets:
            Console().print(table)
        else:
            Console().print("no rev-<rt60> condition: no RIRs to simulate")
