"""``trnet enhance``: condition dirs through the frozen SE model (stage 3; library:
:func:`trnet.se.enhance_dirs.enhance_dump`)."""

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
    split: str = typer.Option(
        None,
        help="K/N: array job K of N; enhances the one job's length-sorted batches it is dealt "
        "(every N-th from the K-th) into SPLIT_ROOT/<K>/<condition>_enh",
    ),
    split_root: Path = typer.Option(None, help="where --split K/N writes its parts"),
    from_splits: Path = typer.Option(
        None,
        help="enhance nothing: assemble each <condition>_enh from FROM_SPLITS/<k>/, the parts "
        "of the --split jobs (the same --batch-size); its scp files point into them",
    ),
) -> None:
    """Write DUMP_ROOT/<condition>_enh/ (enhanced audio + fbank) for each condition."""
    from trnet.console import console as Console
    from trnet.data.splits import parse_split
    from trnet.errors import TrnetError
    from trnet.se.enhance_dirs import enhance_dump

    if split is not None and from_splits is not None:
        raise TrnetError("--split and --from-splits: one or the other (a job, or the merge)")
    if split is not None and split_root is None:
        raise TrnetError("--split: needs --split-root (where the split jobs write their parts)")
    job = parse_split(split) if split is not None else None
    runs = enhance_dump(
        dump_root, model, conditions, nj, batch_size, dither, seed, device, overwrite,
        job, split_root, from_splits,
    )  # fmt: skip
    for dst, status in runs:
        Console().print(f"{dst}: {status}")


def register(app: typer.Typer) -> None:
    app.command("enhance", cls=ConditionsCommand)(_enhance)
