"""``trnet info``: versions of the toolkit and the libraries it runs on."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from trnet.versions import environment


def register(app: typer.Typer) -> None:
    @app.command()
    def info() -> None:
        """Print the versions of trnet, python, torch and torchaudio."""
        table = Table("component", "version")
        for key, value in environment().items():
            table.add_row(key, value)
        Console().print(table)
