"""``trnet prep <corpus>``: stage 0, a corpus on disk → a Kaldi data dir.

``prep`` is a sub-command group: one command per corpus of :data:`trnet.prep.CORPORA`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from trnet.prep import PrepReport

prep_app = typer.Typer(
    help="Stage 0: prepare a corpus as a Kaldi data dir.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@prep_app.command("iemocap")
def iemocap(
    root: Path = typer.Argument(..., help="IEMOCAP_full_release (holds Session1..Session5)."),
    data_dir: Path = typer.Argument(..., help="Data dir to write, e.g. data/iemocap."),
    improvised_only: bool = typer.Option(
        False, "--improvised-only", help="Keep only the improvised dialogs."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a DATA_DIR made from other inputs."
    ),
) -> None:
    """IEMOCAP_full_release → Kaldi data dir (4 classes: ang, hap+exc, neu, sad).

    Writes wav.scp, utt2spk, spk2utt, utt2emo, utt2emo_raw, utt2session, utt2dur and
    corpus.json; every skipped item is listed in DATA_DIR/local/skipped.tsv.
    """
    from trnet.prep import prepare

    report = prepare(
        "iemocap", root, data_dir, improvised_only=improvised_only, overwrite=overwrite
    )
    print_report(report, Console())


def counts_table(report: PrepReport) -> Table:
    """Utterances per speaker (rows) × class (columns), with totals."""
    from trnet.scoring.metrics import CLASSES

    tag = " [bold yellow](GENERATED corpus)[/]" if report.generated else ""
    table = Table(title=f"{report.corpus}{tag}: {report.data_dir}")
    table.add_column("speaker")
    for name in (*CLASSES, "total"):
        table.add_column(name, justify="right")
    for spk in sorted(report.counts):
        counts = report.counts[spk]
        table.add_row(spk, *(str(counts[c]) for c in CLASSES), str(sum(counts.values())))
    totals = [sum(report.counts[s][c] for s in report.counts) for c in CLASSES]
    table.add_row("total", *map(str, totals), str(report.total), style="bold")
    return table


def print_report(report: PrepReport, console: Console) -> None:
    if report.up_to_date:
        console.print(f"{report.data_dir}: up to date (same root and options), nothing to do")
    console.print(counts_table(report))
    if report.dropped:
        labels = ", ".join(f"{k} {v}" for k, v in report.dropped.items())
        console.print(
            f"dropped (labels outside the 4 classes): {sum(report.dropped.values())} ({labels})"
        )
    if report.n_filtered:
        console.print(f"left out by options: {report.n_filtered}")
    console.print(f"skipped: {report.n_skipped} (listed in {report.skipped_path})")


def register(app: typer.Typer) -> None:
    app.add_typer(prep_app, name="prep")
