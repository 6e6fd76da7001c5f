"""``trnet info``: versions of the toolkit and the libraries it runs on."""

from __future__ import annotations

import platform

import typer
from rich.console import Console
from rich.table import Table


def environment() -> dict[str, str]:
    """Versions that RESULTS.md records: python, torch, torchaudio, platform."""
    import torch
    import torchaudio

    import trnet

    return {
        "trnet": trnet.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "cuda": str(torch.cuda.is_available()),
        "platform": platform.platform(),
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def info() -> None:
        """Print the versions of trnet, python, torch and torchaudio."""
        table = Table("component", "version")
        for key, value in environment().items():
            table.add_row(key, value)
        Console().print(table)
