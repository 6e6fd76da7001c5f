"""``trnet make-corpus``: a GENERATED corpus in IEMOCAP's layout plus ESC-50- and MUSAN-like
noise corpora, so that the recipe and its real parsers run without licensed data."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from trnet.console import console as make_console


def register(app: typer.Typer) -> None:
    @app.command("make-corpus")
    def make_corpus_cmd(
        dest: Path = typer.Argument(
            ..., help="Writes DEST/IEMOCAP_full_release, DEST/ESC-50-master, DEST/musan."
        ),
        size: str = typer.Option("small", "--size", help="tiny (CI) | small (the README's run)."),
        seed: int = typer.Option(0, "--seed", help="Same seed and size => identical files."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace a generated corpus made with other options."
        ),
    ) -> None:
        """Generate a small emotional-speech corpus and noise corpora (synthetic audio)."""
        from trnet.synth_corpus.make import corpus_args, is_complete, make_corpus

        console = make_console()
        if is_complete(dest, corpus_args(size, seed)):
            console.print(f"{dest}: generated corpus (size {size}, seed {seed}) already complete")
            return
        start = time.perf_counter()
        with console.status(f"generating a {size} corpus (seed {seed}) in {dest} ..."):
            paths = make_corpus(dest, size=size, seed=seed, overwrite=overwrite)
        console.print(
            f"GENERATED corpus (size {size}, seed {seed}) in {time.perf_counter() - start:.1f} s:"
        )
        for key in ("iemocap", "esc50", "musan"):
            console.print(f"  {key:8s} {paths[key]}")
