"""``trnet enhance``: condition dirs through the frozen SE model (stage 3; library:
:func:`trnet.se.enhance.enhance_dump`)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ConditionsCommand, bounded


def _enhance(
    dump_root: Path = typer.Argument(..., help="dump/<set> holding the condition dirs"),
    model: Path = typer.Option(Path("exp/se"), help="SE model (dir with best.pt, or a .pt)"),
    conditions: list[str] = typer.Option(
        None, help="condition dirs to enhance (several in a row); default: all without _enh"
    ),
    nj: int = typer.Option(
        2, help="worker processes (SE on CPU, fbank; one thread each)", callback=bounded(1)
    ),
    batch_size: int = typer.Option(
        8, help="utterances per SE batch (length-sorted)", callback=bounded(1)
    ),
    dither: float = typer.Option(
        0.0, help="fbank dither (reproducible under --seed)", callback=bounded(0)
    ),
    seed: int = typer.Option(0, help="fbank dither seed"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    overwrite: bool = typer.Option(False, help="replace enhanced dirs made with other settings"),
) -> None:
    """Write DUMP_ROOT/<condition>_enh/ (enhanced audio + fbank) for each condition."""
    from trnet.console import console as Console
    from trnet.se.enhance import enhance_dump

    runs = enhance_dump(
        dump_root, model, conditions, nj, batch_size, dither, seed, device, overwrite
    )
    for dst, status in runs:
        Console().print(f"{dst}: {status}")


def register(app: typer.Typer) -> None:
    app.command("enhance", cls=ConditionsCommand)(_enhance)
