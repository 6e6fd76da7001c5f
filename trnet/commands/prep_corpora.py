"""``trnet prep ravdess|cremad|emodb|msppodcast``: the corpora labelled by file name or CSV.

Adds one command per corpus to the ``trnet prep`` group of :mod:`trnet.commands.prep`
(all four share the options ``--map LABEL=CLASS`` and ``--overwrite``), and prints the
class map in force next to the usual per-speaker counts.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from trnet.commands.prep import prep_app, print_report

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
        console = Console()
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
    """Adds to the ``prep`` group, which :mod:`trnet.commands.prep` registers on ``app``."""
    for corpus in ROOTS:
        prep_app.command(corpus)(_command(corpus))
