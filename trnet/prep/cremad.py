"""CREMA-D → Kaldi data dir.

Layout: ``ROOT/AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav``, e.g. ``1001_DFA_ANG_XX.wav``:
actor 1001-1091, a three-letter sentence code, emotion ANG DIS FEA HAP NEU SAD, level LO MD
HI XX (unspecified). Genders come from ``ROOT/VideoDemographics.csv`` (``ActorID,...,Sex,...``)
when the release has it. Names that break the scheme (older copies hold
``1040_ITH_SAD_X.wav``) and unreadable or empty files (a clone without ``git lfs`` holds
text pointers) are listed as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from trnet.errors import TrnetError
from trnet.io import read_csv
from trnet.prep import PrepReport
from trnet.prep.common import ClassMap, Item, check_root, parse_files, prepare_listed

CORPUS = "cremad"
EXPECTED = "CREMA-D's AudioWAV/ with <actor>_<sentence>_<EMO>_<level>.wav files"
DEFAULT_MAP: ClassMap = {
    "ANG": "ang",
    "DIS": None,
    "FEA": None,
    "HAP": "hap",
    "NEU": "neu",
    "SAD": "sad",
}
"""Corpus label → 4-class label (None: dropped)."""
ACTORS = range(1001, 1092)
DEMOGRAPHICS = "VideoDemographics.csv"

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_(LO|MD|HI|XX)\.wav$")
BAD_NAME = "file name does not follow <actor>_<sentence>_<EMO>_<LO|MD|HI|XX>.wav"


def parse_name(name: str) -> tuple[tuple[str, str] | None, str]:
    """``((actor, emotion), "")`` for a well-formed name, else ``(None, why)``."""
    match = _NAME.match(name)
    if not match:
        return None, BAD_NAME
    actor, _, emotion, _ = match.groups()
    if int(actor) not in ACTORS:
        return None, f"{BAD_NAME} (actor {actor} not in 1001-1091)"
    if emotion not in DEFAULT_MAP:
        return None, f"{BAD_NAME} (emotion {emotion} not in {'/'.join(DEFAULT_MAP)})"
    return (actor, emotion), ""


def read_genders(root: Path) -> dict[str, str]:
    """Actor → ``m``/``f`` from ``VideoDemographics.csv``; empty when the file is absent."""
    path = root / DEMOGRAPHICS
    if not path.is_file():
        return {}
    header, rows = read_csv(path, encoding="utf-8-sig")
    if rows and not {"ActorID", "Sex"} <= set(header):
        raise TrnetError(f"{path}: expected the columns ActorID and Sex")
    sex = {"male": "m", "female": "f"}
    # a short row (no Sex) leaves that actor's gender unknown ("u"), as an unknown value does
    return {
        (r["ActorID"] or "").strip(): sex.get((r["Sex"] or "").strip().lower(), "u")
        for _, r in rows
    }


def list_items(root: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every well-named wav of ``AudioWAV/`` as an :class:`Item`; the rest with its reason."""
    wav_dir = root / "AudioWAV"
    check_root(root, wav_dir.is_dir(), "no AudioWAV/ folder", EXPECTED, "CREMA-D")
    genders = read_genders(root)
    parsed, skipped = parse_files(wav_dir, parse_name)
    items = []
    for path, (actor, emotion) in parsed:
        extra = {"utt2gender": genders.get(actor, "u")} if genders else {}
        spk = f"cremad{actor}"
        items.append(Item(f"{spk}-{path.stem}", spk, emotion, path, extra))
    return items, skipped


def prepare(
    root: Path, out: Path, class_map: Sequence[str] = (), overwrite: bool = False
) -> PrepReport:
    """Write the data dir ``out`` from CREMA-D at ``root``; ``class_map``: ``LABEL=CLASS`` specs."""
    return prepare_listed(CORPUS, list_items, DEFAULT_MAP, root, out, class_map, overwrite)
