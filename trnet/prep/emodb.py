"""Berlin EmoDB → Kaldi data dir.

Layout: ``ROOT/wav/<spk><text><E><v>.wav``, e.g. ``03a01Fa.wav``: speaker 03 (one of ten),
text a01, emotion letter F, version a. Letters (German initials): W Wut/anger, L
Langeweile/boredom, E Ekel/disgust, A Angst/fear, F Freude/happiness, T Trauer/sadness,
N neutral. Speakers 03 10 11 12 15 are male, 08 09 13 14 16 female.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from trnet.prep import PrepReport
from trnet.prep.common import ClassMap, Item, check_root, parse_files, prepare_listed

CORPUS = "emodb"
EXPECTED = "EmoDB's wav/ with <speaker><text><emotion letter><version>.wav files (03a01Fa.wav)"
EMOTIONS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
DEFAULT_MAP: ClassMap = {
    "anger": "ang",
    "boredom": None,
    "disgust": None,
    "fear": None,
    "happiness": "hap",
    "sadness": "sad",
    "neutral": "neu",
}
"""Corpus label → 4-class label (None: dropped)."""
GENDERS = {"03": "m", "10": "m", "11": "m", "12": "m", "15": "m"} | {
    spk: "f" for spk in ("08", "09", "13", "14", "16")
}

_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])\.wav$")
BAD_NAME = "file name does not follow <speaker><text><emotion letter><version>.wav"


def parse_name(name: str) -> tuple[tuple[str, str] | None, str]:
    """``((speaker, emotion label), "")`` for a well-formed name, else ``(None, why)``."""
    match = _NAME.match(name)
    if not match:
        return None, BAD_NAME
    spk, _, letter, _ = match.groups()
    if spk not in GENDERS:
        return None, f"{BAD_NAME} (speaker {spk} is not one of {' '.join(sorted(GENDERS))})"
    if letter not in EMOTIONS:
        return None, f"{BAD_NAME} (emotion letter {letter} not in {''.join(EMOTIONS)})"
    return (spk, EMOTIONS[letter]), ""


def list_items(root: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every well-named wav of ``wav/`` as an :class:`Item`; the rest with its reason."""
    wav_dir = root / "wav"
    check_root(root, wav_dir.is_dir(), "no wav/ folder", EXPECTED, "EmoDB")
    parsed, skipped = parse_files(wav_dir, parse_name)
    items = []
    for path, (spk_code, emotion) in parsed:
        spk, gender = f"emodb{spk_code}", GENDERS[spk_code]
        items.append(Item(f"{spk}-{path.stem}", spk, emotion, path, {"utt2gender": gender}))
    return items, skipped


def prepare(
    root: Path, out: Path, class_map: Sequence[str] = (), overwrite: bool = False
) -> PrepReport:
    """Write the data dir ``out`` from EmoDB at ``root``; ``class_map``: ``LABEL=CLASS`` specs."""
    return prepare_listed(CORPUS, list_items, DEFAULT_MAP, root, out, class_map, overwrite)
