"""MSP-Podcast → Kaldi data dir, with its official split in ``utt2split``.

Layout: ``ROOT/Labels/labels_consensus.csv`` (``labels_concensus.csv`` in older releases)
and ``ROOT/Audios/<FileName>``. The CSV's header::

    FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set
    MSP-PODCAST_0001_0008.wav,N,2.2,4.0,2.6,30,Male,Test1

EmoClass: A anger, H happiness, N neutral, S sadness, C contempt, D disgust, F fear,
U surprise, O other, X no agreement. Split_Set: Train, Development, Test1, Test2 (Test3 in
2.0), written as is to ``utt2split`` (``trnet folds --protocol official`` reads it).
SpkrID ``Unknown``: the segments of one podcast (``MSP-PODCAST_<podcast>_...``) share one
pseudo-speaker ``mspunk<podcast>``, which keeps a podcast's unknown talkers on one side of
any speaker-based fold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from trnet.errors import TrnetError
from trnet.io import read_csv
from trnet.prep import PrepReport
from trnet.prep.common import ClassMap, Item, check_root, prepare_listed

CORPUS = "msppodcast"
EXPECTED = "MSP-Podcast's Labels/labels_consensus.csv and Audios/<FileName>"
LABEL_FILES = ("labels_consensus.csv", "labels_concensus.csv")
COLUMNS = ("FileName", "EmoClass", "SpkrID", "Gender", "Split_Set")
EMOTIONS = {
    "A": "anger",
    "H": "happiness",
    "N": "neutral",
    "S": "sadness",
    "C": "contempt",
    "D": "disgust",
    "F": "fear",
    "U": "surprise",
    "O": "other",
    "X": "noagreement",
}
DEFAULT_MAP: ClassMap = {label: None for label in EMOTIONS.values()} | {
    "anger": "ang",
    "happiness": "hap",
    "neutral": "neu",
    "sadness": "sad",
}
"""Corpus label → 4-class label (None: dropped)."""
GENDERS = {"male": "m", "female": "f"}

_PODCAST = re.compile(r"^MSP-PODCAST_(\d+)_")
_TOKEN = re.compile(r"^[A-Za-z0-9_]+$")


def find_labels(root: Path) -> Path:
    """The consensus label CSV; a one-line error for a ROOT of another layout."""
    labels = [root / "Labels" / name for name in LABEL_FILES]
    found = [p for p in labels if p.is_file()]
    check_root(root, bool(found), "no Labels/labels_consensus.csv", EXPECTED, "MSP-Podcast")
    return found[0]


def speaker_of(spkr_id: str, stem: str) -> str | None:
    """``msp0030`` for SpkrID 30; ``mspunk<podcast>`` for Unknown; None for a bad id."""
    if spkr_id.isdigit():
        return f"msp{int(spkr_id):04d}"
    if spkr_id.lower() == "unknown":
        match = _PODCAST.match(stem)
        return f"mspunk{match.group(1)}" if match else f"mspunk_{stem}"
    return f"msp{spkr_id}" if _TOKEN.match(spkr_id) else None


def parse_row(row: dict[str, str], audio_dir: Path) -> tuple[Item | None, str]:
    """One CSV row as an :class:`Item`, or ``(None, why)``."""
    name = (row.get("FileName") or "").strip()
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix != "wav" or not _TOKEN.match(stem.replace("-", "_")):
        return None, f"FileName {name!r} is not <name>.wav"
    emo_class = (row.get("EmoClass") or "").strip()
    if emo_class not in EMOTIONS:
        return None, f"EmoClass {emo_class!r} not in {''.join(EMOTIONS)}"
    spk = speaker_of((row.get("SpkrID") or "").strip(), stem)
    if spk is None:
        return None, f"SpkrID {row.get('SpkrID')!r} is not a number or Unknown"
    split = (row.get("Split_Set") or "").strip()
    if not _TOKEN.match(split):
        return None, f"Split_Set {split!r} is empty or has odd characters"
    extra = {
        "utt2gender": GENDERS.get((row.get("Gender") or "").strip().lower(), "u"),
        "utt2split": split,
    }
    return Item(f"{spk}-{stem}", spk, EMOTIONS[emo_class], audio_dir / name, extra), ""


def list_items(root: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every well-formed CSV row as an :class:`Item`; bad rows as ``(file:line, why)``."""
    labels = find_labels(root)
    items: list[Item] = []
    skipped: list[tuple[str, str]] = []
    header, rows = read_csv(labels, encoding="utf-8-sig")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise TrnetError(
            f"{labels}: no column {', '.join(missing)}; expected the header "
            "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"
        )
    seen: dict[str, int] = {}
    for line_num, row in rows:
        item, reason = parse_row(row, root / "Audios")
        if item is not None and item.utt in seen:
            item, reason = None, f"duplicate of line {seen[item.utt]}"
        if item is None:
            skipped.append((f"{labels}:{line_num}", reason))
        else:
            seen[item.utt] = line_num
            items.append(item)
    return items, skipped


def prepare(
    root: Path, out: Path, class_map: Sequence[str] = (), overwrite: bool = False
) -> PrepReport:
    """Write the data dir ``out`` from MSP-Podcast at ``root``; ``class_map``: ``LABEL=CLASS``."""
    return prepare_listed(CORPUS, list_items, DEFAULT_MAP, root, out, class_map, overwrite)
