"""The ``trnet`` command: discovers the command modules in ``trnet.commands``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

from trnet import determinism

determinism.apply_env()  # before anything imports torch: the libraries read it on load

import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from trnet import commands  # noqa: E402
from trnet.errors import TrnetError  # noqa: E402

app = typer.Typer(
    help="trnet: noise-robust speech emotion recognition (TRNet and baselines), Kaldi-style.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """trnet: noise-robust speech emotion recognition (TRNet and baselines), Kaldi-style."""


for _info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):  # helpers shared by commands, not commands
        continue
    importlib.import_module(f"{commands.__name__}.{_info.name}").register(app)
determinism.apply_torch()


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 1, Ctrl-C the
    line ``interrupted`` and exit status 130."""
    try:
        app()
    except TrnetError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        Console(stderr=True).print("[bold red]interrupted[/]")
        sys.exit(130)
    except SystemExit as done:
        # Typer turns a KeyboardInterrupt inside a command into a silent Exit(130)
        if done.code == 130:
            Console(stderr=True).print("[bold red]interrupted[/]")
        raise
