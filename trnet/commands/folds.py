"""``trnet folds``: speaker-disjoint train/dev/test folds of a data dir (stage 0)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from trnet.console import console as make_console
from trnet.data.folds import Fold


def folds_table(folds: list[Fold], title: str) -> Table:
    table = Table(title=title)
    for name, justify in (("fold", "left"), ("test spk", "left"), ("dev spk", "left")):
        table.add_column(name, justify=justify)
    for name in ("#train", "#dev", "#test"):
        table.add_column(name, justify="right")
    for fold in folds:
        table.add_row(
            fold.name,
            " ".join(fold.test_spk),
            " ".join(fold.dev_spk),
            str(len(fold.train)),
            str(len(fold.dev)),
            str(len(fold.test)),
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def folds(
        data_dir: Path = typer.Argument(..., help="Source data dir, e.g. data/iemocap."),
        out_dir: Path = typer.Argument(
            ..., help="Writes OUT_DIR/<protocol>/fold<K>/{train,dev,test}."
        ),
        protocol: str = typer.Option(
            "speaker",
            "--protocol",
            help="speaker (leave one speaker out) | session | kfold | official (utt2split).",
        ),
        k: int = typer.Option(5, "--k", help="Number of folds (kfold only)."),
        seed: int = typer.Option(0, "--seed", help="Speaker shuffle seed (kfold only)."),
        n_dev_speakers: int = typer.Option(
            1, "--n-dev-speakers", help="Dev speakers per fold (kfold only)."
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace folds made from other inputs."
        ),
    ) -> None:
        """Write speaker-disjoint folds as Kaldi data dirs, one table row per fold."""
        from trnet.data.folds import write_folds

        made, up_to_date = write_folds(
            data_dir,
            out_dir,
            protocol,
            k=k,
            seed=seed,
            n_dev_speakers=n_dev_speakers,
            overwrite=overwrite,
        )
        console = make_console()
        dest = out_dir / protocol
        if up_to_date:
            console.print(f"{dest}: up to date (same data dir and options), nothing to do")
        console.print(folds_table(made, f"{protocol} folds: {dest}"))
