"""``trnet noise-index``: ESC-50 / MUSAN folders → noise sets under ``data/noise/``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("noise-index")
    def noise_index(
        out: Path = typer.Option(..., "--out", help="where the noise sets go (data/noise)"),
        esc50: Path = typer.Option(None, "--esc50", help="ESC-50 folder (holds meta/esc50.csv)"),
        musan: Path = typer.Option(
            None, "--musan", help="MUSAN folder (holds noise/ music/ speech/)"
        ),
        esc50_split: str = typer.Option(
            None, "--esc50-split", help="ESC-50 folds per role [default: train=1,2,3 dev=4 test=5]"
        ),
    ) -> None:
        """Index ESC-50 and/or MUSAN as Kaldi-style noise sets (esc50_train, esc50_dev,
        esc50, musan, musan_music, musan_speech) and print a summary table."""
        from rich.table import Table

        from trnet.console import console as Console
        from trnet.noise.index import DEFAULT_ESC50_SPLIT, build_noise_index, summary_rows

        esc50_split = esc50_split or DEFAULT_ESC50_SPLIT
        sets, skipped = build_noise_index(out, esc50=esc50, musan=musan, esc50_split=esc50_split)
        table = Table("set", "clips", "categories", "minutes", title=f"noise sets in {out}")
        for name, clips, categories, minutes in summary_rows(sets):
            table.add_row(name, str(clips), str(categories), f"{minutes:.2f}")
        Console().print(table)
        if esc50 is not None:
            Console().print(f"ESC-50 split: {esc50_split}")
        if skipped:
            Console().print(f"{len(skipped)} clip(s) skipped (listed above)")
