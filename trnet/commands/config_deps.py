"""``trnet config-deps``: the systems a config depends on, for the recipe's training order."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("config-deps")
    def config_deps(
        config: Path = typer.Argument(..., help="system config (conf/<system>.yaml)"),
    ) -> None:
        """Print the systems a config depends on, one a line.

        Those whose exp/<system>/ the config or its defaults file points at (TRNet's
        loss.z_clean_from): the recipe trains them first."""
        from trnet.config_file import config_deps as deps
        from trnet.errors import TrnetError

        if not config.is_file():
            raise TrnetError(f"{config}: config file not found")
        for system in deps(config):
            typer.echo(system)
