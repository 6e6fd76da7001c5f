"""RAVDESS (audio-only speech) → Kaldi data dir.

Layout: ``ROOT/Actor_01..Actor_24/MM-VV-EE-II-SS-RR-AA.wav``, seven two-digit fields:
modality (01 full-AV, 02 video-only, 03 audio-only), vocal channel (01 speech, 02 song),
emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust,
08 surprised), intensity (01 normal, 02 strong), statement (01, 02), repetition (01, 02),
actor (01-24; odd = male). Only audio-only speech (03-01-...) is used; song and video files
are listed as skipped, as is every name that breaks the scheme. Audio is 48 kHz, some files
stereo; it is recorded as it is (``read_audio`` converts it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from trnet.prep import PrepReport
from trnet.prep.common import ClassMap, Item, check_root, parse_files, prepare_listed

CORPUS = "ravdess"
EXPECTED = "RAVDESS's Actor_01..Actor_24 with 03-01-EE-II-SS-RR-AA.wav files"
EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
DEFAULT_MAP: ClassMap = {
    "neutral": "neu",
    "calm": None,
    "happy": "hap",
    "sad": "sad",
    "angry": "ang",
    "fearful": None,
    "disgust": None,
    "surprised": None,
}
"""Corpus label → 4-class label (None: dropped); ``--map calm=neu`` merges calm."""

_ACTOR_DIR = re.compile(r"^Actor_(\d{2})$")
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.(wav|mp4)$")
BAD_NAME = "file name does not follow MM-VV-EE-II-SS-RR-AA.wav"
_RANGES = (
    ("modality", ("01", "02", "03")),
    ("vocal channel", ("01", "02")),
    ("emotion", tuple(EMOTIONS)),
    ("intensity", ("01", "02")),
    ("statement", ("01", "02")),
    ("repetition", ("01", "02")),
)


def find_actors(root: Path) -> list[tuple[str, Path]]:
    """``[("01", ROOT/Actor_01), ...]``; a one-line error for a ROOT of another layout."""
    actors = []
    if root.is_dir():
        actors = sorted(
            (m.group(1), p)
            for p in root.iterdir()
            if p.is_dir() and (m := _ACTOR_DIR.match(p.name))
        )
    nested = [p for p in sorted(root.glob("*/Actor_01")) if p.is_dir()] if root.is_dir() else []
    hint = f" (did you mean {nested[0].parent}?)" if nested else ""
    check_root(root, bool(actors), "no Actor_XX/ folders", EXPECTED, "RAVDESS", hint)
    return actors


def parse_name(name: str, actor: str) -> tuple[str | None, str]:
    """``(emotion label, "")`` for an audio-only speech file of ``actor``, else ``(None, why)``."""
    match = _NAME.match(name)
    if not match:
        return None, BAD_NAME
    fields = match.groups()[:7]
    for (what, allowed), value in zip(_RANGES, fields, strict=False):
        if value not in allowed:
            return None, f"{BAD_NAME} ({what} {value} not in {'/'.join(allowed)})"
    modality, channel, emotion = fields[:3]
    if modality != "03":
        kind = "full-AV" if modality == "01" else "video-only"
        return None, f"modality {modality} ({kind}), not used: only audio-only (03) is"
    if channel != "01":
        return None, "song (vocal channel 02), not used: only speech (01) is"
    if match.group(8) != "wav":
        return None, f"{BAD_NAME} (audio-only files are .wav)"
    if fields[6] != actor:
        return None, f"actor {fields[6]} in the name but the file is in Actor_{actor}"
    return EMOTIONS[emotion], ""


def list_items(root: Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every audio-only speech file as an :class:`Item`; everything else with its reason."""
    items: list[Item] = []
    skipped: list[tuple[str, str]] = []
    for actor, folder in find_actors(root):
        spk = f"ravdess{actor}"
        gender = "m" if int(actor) % 2 else "f"
        parsed, bad = parse_files(folder, lambda name, actor=actor: parse_name(name, actor))
        skipped += bad
        for path, label in parsed:
            items.append(Item(f"{spk}-{path.stem}", spk, label, path, {"utt2gender": gender}))
    return items, skipped


def prepare(
    root: Path, out: Path, class_map: Sequence[str] = (), overwrite: bool = False
) -> PrepReport:
    """Write the data dir ``out`` from RAVDESS at ``root``; ``class_map``: ``LABEL=CLASS`` specs."""
    return prepare_listed(CORPUS, list_items, DEFAULT_MAP, root, out, class_map, overwrite)
