"""``trnet download esc50|musan``: fetch, verify and extract a noise corpus."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def download(
        corpus: str = typer.Argument(..., help="esc50 | musan"),
        dest: Path = typer.Option(..., "--dest", help="folder for the archive and the corpus"),
        url: str = typer.Option(None, "--url", help="download from this mirror instead"),
        md5: str = typer.Option(None, "--md5", help="expected md5 of the archive"),
        sha256: str = typer.Option(None, "--sha256", help="expected sha256 of the archive"),
        remove_archive: bool = typer.Option(
            False, "--remove-archive", help="delete the archive once extracted"
        ),
    ) -> None:
        """Download (resumable, checksum-verified) and extract ESC-50 or MUSAN into DEST."""
        from rich.console import Console

        from trnet.noise.download import fetch_corpus

        root = fetch_corpus(
            corpus, dest, url=url, md5=md5, sha256=sha256, remove_archive=remove_archive
        )
        Console().print(f"{corpus}: {root}")
