"""Stage 0: turn a corpus on disk into a Kaldi data dir.

One module per corpus, ``trnet/prep/<corpus>.py``, each exposing
``prepare(root: Path, out: Path, **opts) -> PrepReport``; :data:`CORPORA` is the registry
the ``trnet prep`` command dispatches through.

Resumability is shared: ``out/local/prep.json`` holds a signature of the inputs (root,
options, a hash of the label files), written before anything else; ``out/local/audio.stat``
the size and time of every audio file read (:mod:`trnet.data.sources`); ``out/.done`` is
written last. A complete dir with the same signature and unchanged audio is left alone; any
other non-empty dir is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trnet.contract import is_generated
from trnet.data.datadir import is_per_utt_table
from trnet.data.sources import changed_sources, check_sources
from trnet.errors import TrnetError
from trnet.io import atomic_write, read_kv
from trnet.stage import DONE, Record, claim, lock
from trnet.stage import finish as finish_stage

CORPORA: dict[str, str] = {
    "iemocap": "trnet.prep.iemocap",
    "ravdess": "trnet.prep.ravdess",
    "cremad": "trnet.prep.cremad",
    "emodb": "trnet.prep.emodb",
    "msppodcast": "trnet.prep.msppodcast",
}
"""Corpus name → module that implements ``prepare``."""

SIGNATURE_FILE = "local/prep.json"
SKIPPED_FILE = "local/skipped.tsv"
DONE_FILE = DONE


@dataclass
class PrepReport:
    """What a prep run produced; printed by ``trnet prep`` as tables."""

    data_dir: Path
    corpus: str
    generated: bool
    counts: dict[str, Counter] = field(default_factory=dict)
    """speaker → Counter of 4-class labels."""
    n_skipped: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    """Corpus labels outside the class set → how many utterances carried them."""
    n_filtered: int = 0
    """Utterances left out by an option (e.g. ``--improvised-only``)."""
    up_to_date: bool = False

    @property
    def skipped_path(self) -> Path:
        return self.data_dir / SKIPPED_FILE

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


def prepare(corpus: str, root: Path, out: Path, **opts: object) -> PrepReport:
    """Dispatch to ``trnet.prep.<corpus>.prepare``."""
    if corpus not in CORPORA:
        raise TrnetError(f"corpus {corpus!r}: unknown; known: {', '.join(sorted(CORPORA))}")
    with lock(Path(out)):
        return importlib.import_module(CORPORA[corpus]).prepare(Path(root), Path(out), **opts)


PREP_RECORD = Record(file=SIGNATURE_FILE, done=DONE_FILE, key="signature", indent=2, newline=True)
"""Prep signs ``local/prep.json`` when it starts; ``.done`` is written last."""


def start(out: Path, signature: dict, overwrite: bool) -> bool:
    """Claim ``out`` for a run with ``signature``; True if it is already complete for it.

    A dir holding our signature but no ``.done`` is a killed run of the same job: redone.
    A complete dir whose audio files changed since (:mod:`trnet.data.sources`: the corpus
    was replaced under it) is refused, or redone with ``overwrite``.
    """
    if not claim(out, signature, overwrite, PREP_RECORD, _clear):
        return False
    wav_scp = read_kv(out / "wav.scp")
    if not changed_sources(out, wav_scp)[0]:
        return True
    if not overwrite:
        check_sources(out, wav_scp)
    (out / DONE_FILE).unlink()
    return claim(out, signature, overwrite, PREP_RECORD, _clear)


def finish(out: Path, signature: dict, summary: dict) -> None:
    """Record the run's summary next to its signature, then mark ``out`` complete."""
    finish_stage(out, signature, PREP_RECORD, {"summary": summary})


def write_skipped(out: Path, skipped: list[tuple[str, str]]) -> None:
    """``item<TAB>reason`` rows (sorted), with a header line."""
    with atomic_write(out / SKIPPED_FILE) as f:
        f.write("item\treason\n")
        for item, reason in sorted(skipped):
            f.write(f"{item}\t{reason}\n")


def report_from_dir(out: Path, corpus: str) -> PrepReport:
    """Rebuild the report of a complete data dir (for a run that found nothing to do)."""
    meta = json.loads((out / SIGNATURE_FILE).read_text(encoding="utf-8"))
    summary = meta.get("summary", {})
    utt2spk, utt2emo = read_kv(out / "utt2spk"), read_kv(out / "utt2emo")
    counts: dict[str, Counter] = {}
    for utt, spk in utt2spk.items():
        counts.setdefault(spk, Counter())[utt2emo[utt]] += 1
    n_skipped = len((out / SKIPPED_FILE).read_text(encoding="utf-8").splitlines()) - 1
    return PrepReport(
        data_dir=out,
        corpus=corpus,
        generated=is_generated(out),
        counts=counts,
        n_skipped=n_skipped,
        dropped=summary.get("dropped", {}),
        n_filtered=summary.get("filtered", 0),
        up_to_date=True,
    )


def _clear(out: Path) -> None:
    """Remove what a prep run writes (tables, markers, ``local/``); leave anything else."""
    for path in out.iterdir():
        if path.name == "local" and path.is_dir():
            shutil.rmtree(path)
        elif path.is_file() and (
            is_per_utt_table(path.name)
            or path.name in ("spk2utt", "corpus.json", DONE_FILE)
            or (path.name.startswith(".") and path.name.endswith(".tmp"))
        ):
            path.unlink()
