"""``trnet data``: Kaldi data-dir tools (validate, fix, subset, split, combine).

The ``utils/*_data_dir.sh`` scripts are thin wrappers around these commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trnet.console import console as make_console

data_app = typer.Typer(
    help="Kaldi data-dir tools: validate, fix, subset, split, combine.", no_args_is_help=True
)


def _console() -> Console:
    return make_console(highlight=False, soft_wrap=True)


@data_app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(help="Kaldi data dir")],
    no_wav: Annotated[bool, typer.Option("--no-wav", help="skip the audio-file checks")] = False,
    sample_rate: Annotated[
        int | None,
        typer.Option(help="expected audio sample rate (Hz); default: corpus.json's, else 16000"),
    ] = None,
    check_arks: Annotated[
        bool,
        typer.Option(
            "--check-arks/--no-check-arks",
            help="read every feats.scp entry and check its frame count against utt2num_frames",
        ),
    ] = True,
) -> None:
    """List every fault of a data dir (one line each); exit status 1 if there is any."""
    from trnet.data.validate import validate as check
    from trnet.kaldi_io import check_feats

    problems = check(data_dir, check_audio=not no_wav, sample_rate=sample_rate)
    if check_arks and data_dir.is_dir():
        problems += check_feats(data_dir)
    console = _console()
    for problem in problems:
        console.print(f"[red]✗[/] {escape(problem)}")
    if problems:
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {escape(str(data_dir))}: valid data directory")


@data_app.command()
def fix(data_dir: Annotated[Path, typer.Argument(help="Kaldi data dir")]) -> None:
    """Keep the utterances every table has, re-sort, regenerate spk2utt (originals → .backup/)."""
    from trnet.data.ops import fix as fix_dir

    report = fix_dir(data_dir)
    console = _console()
    if not report.rewritten:
        console.print(f"{data_dir}: nothing to fix ({report.kept} utterances)")
        return
    table = Table("file", "entries dropped", title=f"fixed {data_dir}")
    for name in report.rewritten:
        table.add_row(name, str(report.dropped.get(name, 0)))
    console.print(table)
    console.print(f"kept {report.kept} utterances; originals in {report.backup}")


@data_app.command()
def subset(
    src: Annotated[Path, typer.Argument(help="source data dir")],
    dst: Annotated[Path, typer.Argument(help="new data dir")],
    utt_list: Annotated[Path | None, typer.Option(help="file of utterance ids")] = None,
    spk_list: Annotated[Path | None, typer.Option(help="file of speaker ids")] = None,
    first: Annotated[int | None, typer.Option(help="the first N utterances")] = None,
    random: Annotated[int | None, typer.Option(help="N utterances drawn at random")] = None,
    seed: Annotated[int, typer.Option(help="seed of --random")] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace an existing DST")] = False,
) -> None:
    """Write a data dir with the tables of SRC restricted to some utterances."""
    from trnet.data.ops import read_id_list
    from trnet.data.ops import subset as make_subset

    result = make_subset(
        src,
        dst,
        utt_list=read_id_list(utt_list) if utt_list else None,
        spk_list=read_id_list(spk_list) if spk_list else None,
        first=first,
        random=random,
        seed=seed,
        overwrite=overwrite,
    )
    _console().print(f"{dst}: {len(result.utts)} utterances from {src}")


@data_app.command()
def split(
    data_dir: Annotated[Path, typer.Argument(help="Kaldi data dir")],
    n: Annotated[int, typer.Argument(help="number of parts")],
    by: Annotated[str, typer.Option(help="'utt' or 'spk' (keeps a speaker in one part)")] = "utt",
) -> None:
    """Split into DATA_DIR/split<N><by>/<k>/ (k = 1..N), contiguous blocks in sorted order."""
    from trnet.data.datadir import DataDir
    from trnet.data.ops import split as split_dir

    parts = split_dir(data_dir, n, by=by)
    table = Table("part", "utterances", title=f"{data_dir} split by {by}")
    for part in parts:
        table.add_row(str(part), str(len(DataDir.load(part).utts)))
    _console().print(table)


@data_app.command()
def combine(
    dst: Annotated[Path, typer.Argument(help="new data dir")],
    srcs: Annotated[list[Path], typer.Argument(help="source data dirs")],
    overwrite: Annotated[bool, typer.Option(help="replace an existing DST")] = False,
) -> None:
    """Write the union of the SRCS data dirs at DST."""
    from trnet.data.ops import combine as combine_dirs

    report = combine_dirs(dst, srcs, overwrite=overwrite)
    console = _console()
    for name in report.left_out:
        console.print(f"[yellow]note:[/] {escape(name)} left out: not in every source")
    console.print(f"{dst}: {len(report.data.utts)} utterances from {len(srcs)} dirs")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
