"""``trnet prep <corpus>``: stage 0, a corpus on disk → a Kaldi data dir (library:
:func:`trnet.prep.prepare`, one module per corpus under ``trnet/prep/``).

``prep`` is a sub-command group: one command per corpus of :data:`trnet.prep.CORPORA`.
``iemocap`` has its own options; ``ravdess``, ``cremad``, ``emodb`` and ``msppodcast``
share ``--map LABEL=CLASS`` and ``--overwrite`` and print the class map in force next to
the usual per-speaker counts.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from trnet.console import console as make_console
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
    print_report(report, make_console())


def counts_table(report: PrepReport) -> Table:
    """Utterances per speaker (rows) × class (columns), with totals."""
    from trnet.contract import CLASSES

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


ROOTS = {
    "ravdess": "RAVDESS root: holds Actor_01..Actor_24/03-01-EE-II-SS-RR-AA.wav.",
    "cremad": "CREMA-D root: holds AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav.",
    "emodb": "EmoDB root: holds wav/<spk><text><E><version>.wav (e.g. 03a01Fa.wav).",
    "msppodcast": "MSP-Podcast root: holds Labels/labels_consensus.csv and Audios/.",
}
MAP_HELP = (
    "Change the class map: LABEL=CLASS with CLASS one of ang hap neu sad, or drop "
    "(e.g. --map calm=neu). Repeat for several labels."
)


def class_map_table(corpus: str, mapping: dict[str, str | None], data_dir: Path) -> Table:
    """Corpus label → class (or dropped) and how many utterances carried it."""
    from trnet.io import read_kv
    from trnet.prep import SIGNATURE_FILE

    kept = Counter(read_kv(data_dir / "utt2emo_raw").values())
    meta = json.loads((data_dir / SIGNATURE_FILE).read_text(encoding="utf-8"))
    dropped = meta.get("summary", {}).get("dropped", {})
    table = Table(title=f"{corpus}: class map")
    table.add_column("corpus label")
    table.add_column("class")
    table.add_column("utterances", justify="right")
    for label, target in mapping.items():
        count = kept[label] if target else dropped.get(label, 0)
        table.add_row(label, target or "[dim]dropped[/]", str(count))
    return table


def _command(corpus: str):
    """The ``trnet prep <corpus>`` command function (same options for every corpus)."""

    def command(
        root: Path = typer.Argument(..., help=ROOTS[corpus]),
        data_dir: Path = typer.Argument(..., help=f"Data dir to write, e.g. data/{corpus}."),
        class_map: list[str] = typer.Option([], "--map", help=MAP_HELP),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace a DATA_DIR made from other inputs."
        ),
    ) -> None:
        from trnet.prep import prepare
        from trnet.prep.common import parse_map

        module = importlib.import_module(f"trnet.prep.{corpus}")
        mapping = parse_map(class_map, module.DEFAULT_MAP)
        report = prepare(corpus, root, data_dir, class_map=class_map, overwrite=overwrite)
        console = make_console()
        console.print(class_map_table(corpus, mapping, data_dir))
        print_report(report, console)

    command.__doc__ = (
        f"{corpus} → Kaldi data dir (4 classes: ang, hap, neu, sad; see docs/corpora.md).\n\n"
        "Writes wav.scp (the original audio, any rate), utt2spk, spk2utt, utt2emo, "
        "utt2emo_raw, utt2dur, utt2gender (and utt2split for msppodcast) and corpus.json; "
        "every skipped file is listed in DATA_DIR/local/skipped.tsv."
    )
    return command


def register(app: typer.Typer) -> None:
    for corpus in ROOTS:
        prep_app.command(corpus)(_command(corpus))
    app.add_typer(prep_app, name="prep")
