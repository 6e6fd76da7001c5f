"""The ``trnet`` command: discovers the command modules in ``trnet.commands``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading

from trnet import determinism, interrupt

determinism.apply_env()  # before anything imports torch: the libraries read it on load
if interrupt.launched_as_command():  # before the slow imports: a Ctrl-C now is handled too
    interrupt.install()

import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from trnet import commands  # noqa: E402
from trnet.errors import TrnetError, os_error_line  # noqa: E402

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


def _fail(line: str) -> None:
    from rich.markup import escape  # a line may hold brackets: pip install 'trnet[serve]'

    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True
    )
    sys.exit(1)


def main() -> None:
    """Entry point: user errors, and OS errors about a path (:func:`os_error_line`: a full
    disk, a read-only dir, a file where a dir must be), become one line on stderr and exit
    status 1; Ctrl-C is the line ``interrupted`` and exit status 130 (Typer turns it into
    ``Exit(130)``)."""
    interrupt.install()
    try:
        app()
    except TrnetError as err:
        if interrupt.in_progress():  # a worker killed by the Ctrl-C deadline: not an error
            threading.Event().wait()
        _fail(str(err))
    except KeyboardInterrupt:
        interrupt.interrupted()
    except SystemExit as done:
        if done.code == 130:
            interrupt.interrupted()
        raise
    except Exception as err:  # an OSError, or a library's error raised from one
        line = os_error_line(err)
        if line is None:  # a bug: keep the traceback
            raise
        _fail(line)
