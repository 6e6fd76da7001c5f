"""The noise-set index of stage 1: ESC-50 and MUSAN as Kaldi-style dirs ``data/noise/<set>/``.

Each set holds ``wav.scp`` (clip id → absolute path), ``utt2category``, ``utt2dur``,
``utt2spk`` (clip → clip, so :class:`DataDir` loads it), and ``utt2fold`` (ESC-50) or
``utt2source`` (MUSAN: the sub-corpus folder, e.g. ``free-sound``).

ESC-50: ``ROOT/meta/esc50.csv`` (filename,fold,target,category,esc10,src_file,take) and
``ROOT/audio/``; folds are split into ``esc50_train``/``esc50_dev``/``esc50`` (test).
MUSAN: ``ROOT/{noise,music,speech}/<source>/*.wav`` with an ``ANNOTATIONS`` file per
source (music: ``id genre[,genre...] vocals(Y/N) artist...``; speech: ``id gender
language``; noise: ``id`` and optionally a label). The category is the annotated label
(first genre for music) where there is one, otherwise the source folder.
A set indexed from a generated corpus (``trnet make-corpus``'s marker beside its folder)
also holds ``noise.json`` (``{"generated": true}``), so results made with it say so.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from trnet.audio import audio_info
from trnet.contract import NOISE_JSON, made_by_make_corpus
from trnet.data.datadir import ID_RULE, DataDir, check_utf8_name, is_valid_id
from trnet.errors import TrnetError
from trnet.io import read_csv

NOISE_SETS = ("esc50_train", "esc50_dev", "esc50", "musan", "musan_music", "musan_speech")
ESC50_ROLES = {"train": "esc50_train", "dev": "esc50_dev", "test": "esc50"}
DEFAULT_ESC50_SPLIT = "train=1,2,3 dev=4 test=5"
MUSAN_PARTS = {"noise": "musan", "music": "musan_music", "speech": "musan_speech"}
_console = Console(stderr=True)


@dataclass(frozen=True)
class Clip:
    id: str
    path: Path
    category: str
    dur: float
    fold: int | None = None
    source: str | None = None


@dataclass
class Skipped:
    path: Path
    why: str


def parse_esc50_split(spec: str) -> dict[str, tuple[int, ...]]:
    """``"train=1,2,3 dev=4 test=5"`` → {"train": (1, 2, 3), ...}; every role once."""
    split: dict[str, tuple[int, ...]] = {}
    for item in spec.split():
        role, _, folds = item.partition("=")
        if role not in ESC50_ROLES or role in split:
            raise TrnetError(f"--esc50-split: bad or repeated role {role!r} in {spec!r}")
        try:
            split[role] = tuple(int(f) for f in folds.split(","))
        except ValueError:
            raise TrnetError(f"--esc50-split: folds must be integers, got {item!r}") from None
    if sorted(split) != sorted(ESC50_ROLES):
        raise TrnetError(f"--esc50-split: give train=, dev= and test= folds, got {spec!r}")
    used = [f for folds in split.values() for f in folds]
    if len(used) != len(set(used)):
        raise TrnetError(f"--esc50-split: a fold is in two roles in {spec!r}")
    return split


def _probe(path: Path, skipped: list[Skipped]) -> float | None:
    """Duration in seconds, or None (recorded in ``skipped``) for a missing/empty/bad file
    or one whose name is no valid clip id (:func:`~trnet.data.datadir.is_valid_id`); a name
    that is not UTF-8 is an error naming the file (no table could list it)."""
    if not is_valid_id(check_utf8_name(path).stem):
        skipped.append(Skipped(path, f"clip id {path.stem!r} not allowed ({ID_RULE})"))
        return None
    if not path.is_file():
        skipped.append(Skipped(path, "missing"))
        return None
    try:
        sr, _, frames = audio_info(path)
    except TrnetError as err:
        skipped.append(Skipped(path, f"unreadable ({err})"))
        return None
    if frames == 0:
        skipped.append(Skipped(path, "zero-length"))
        return None
    return frames / sr


def index_esc50(
    root: str | os.PathLike, split: str = DEFAULT_ESC50_SPLIT
) -> tuple[dict[str, list[Clip]], list[Skipped]]:
    """Clips of ``esc50_train``, ``esc50_dev``, ``esc50`` from ``root/meta/esc50.csv``."""
    root = Path(root).resolve()
    meta = root / "meta" / "esc50.csv"
    if not meta.is_file():
        raise TrnetError(f"{root}: not an ESC-50 folder (expected meta/esc50.csv and audio/)")
    role_of = {f: role for role, folds in parse_esc50_split(split).items() for f in folds}
    sets: dict[str, list[Clip]] = {name: [] for name in ESC50_ROLES.values()}
    skipped: list[Skipped] = []
    folds_seen: set[int] = set()
    for lineno, row in _read_esc50_csv(meta):
        try:
            fold = int(row["fold"] or "")
        except ValueError:
            raise TrnetError(
                f"{meta}:{lineno}: fold must be an integer, got {row['fold']!r}"
            ) from None
        folds_seen.add(fold)
        if fold not in role_of:
            continue
        name, category = (row["filename"] or "").strip(), (row["category"] or "").strip()
        if not name or not category or Path(name).name != name:
            why = f"expected a file name and a category, got {name!r}, {category!r}"
            skipped.append(Skipped(Path(f"{meta}:{lineno}"), why))
            continue
        path = root / "audio" / name
        dur = _probe(path, skipped)
        if dur is not None:
            clip = Clip(Path(name).stem, path, category, dur, fold=fold)
            sets[ESC50_ROLES[role_of[fold]]].append(clip)
    missing = sorted(set(role_of) - folds_seen)
    if missing:
        raise TrnetError(f"--esc50-split: folds {missing} not in {meta} (has {sorted(folds_seen)})")
    return sets, skipped


def _read_esc50_csv(meta: Path) -> Iterable[tuple[int, dict[str, str]]]:
    header, rows = read_csv(meta)
    need = {"filename", "fold", "category"}
    if not need <= set(header):
        raise TrnetError(f"{meta}: expected columns {sorted(need)}, got {header!r}")
    yield from rows


def index_musan(root: str | os.PathLike) -> tuple[dict[str, list[Clip]], list[Skipped]]:
    """Clips of ``musan`` (noise), ``musan_music``, ``musan_speech`` under ``root``."""
    root = Path(root).resolve()
    present = [part for part in MUSAN_PARTS if (root / part).is_dir()]
    if "noise" not in present:
        raise TrnetError(
            f"{root}: not a MUSAN folder (expected noise/, music/, speech/ with <source>/*.wav)"
        )
    for part in sorted(set(MUSAN_PARTS) - set(present)):
        _console.print(f"[yellow]warning:[/] {root / part}: missing, no {MUSAN_PARTS[part]} set")
    sets: dict[str, list[Clip]] = {}
    skipped: list[Skipped] = []
    for part in present:
        sets[MUSAN_PARTS[part]] = _index_musan_part(root / part, part, skipped)
    return sets, skipped


def _index_musan_part(part_dir: Path, part: str, skipped: list[Skipped]) -> list[Clip]:
    clips: dict[str, Clip] = {}
    for source_dir in sorted(p for p in part_dir.iterdir() if p.is_dir()):
        labels = _musan_labels(source_dir / "ANNOTATIONS", part)
        for path in sorted(source_dir.rglob("*.wav")):
            if path.stem in clips:
                skipped.append(Skipped(path, f"duplicate clip id {path.stem}"))
                continue
            dur = _probe(path, skipped)
            if dur is not None:
                category = labels.get(path.stem, source_dir.name)
                clips[path.stem] = Clip(path.stem, path, category, dur, source=source_dir.name)
    return list(clips.values())


def _musan_labels(annotations: Path, part: str) -> dict[str, str]:
    """Clip id → label from a MUSAN ``ANNOTATIONS`` file (music: first genre; noise: the
    optional second field). Speech is labelled by its source folder, so it has none."""
    if part == "speech" or not annotations.is_file():
        return {}
    labels = {}
    for line in annotations.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 2:
            labels[fields[0]] = fields[1].split(",")[0]
    return labels


def write_noise_set(clips: list[Clip], dest: str | os.PathLike, generated: bool = False) -> None:
    """Write one noise set as a data dir; the old one is replaced only once it is complete,
    and only when it differs: a rerun from the same corpora (every run of the recipe's
    stage 1) leaves the set untouched.

    ``noise.json`` is written for a generated set only, so a real set's files (and the
    digest mixing records of them) stay as they were."""
    dest = Path(dest)
    tables: dict[str, dict[str, str]] = {
        "wav.scp": {c.id: str(c.path) for c in clips},
        "utt2spk": {c.id: c.id for c in clips},
        "utt2category": {c.id: c.category for c in clips},
        "utt2dur": {c.id: f"{c.dur:.3f}" for c in clips},
    }
    if any(c.fold is not None for c in clips):
        tables["utt2fold"] = {c.id: str(c.fold) for c in clips}
    if any(c.source is not None for c in clips):
        tables["utt2source"] = {c.id: str(c.source) for c in clips}
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    DataDir(tables=tables).write(tmp)
    if generated:
        (tmp / NOISE_JSON).write_text(json.dumps({"generated": True}) + "\n")
    if _same_files(tmp, dest):
        shutil.rmtree(tmp)
        return
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def _same_files(new: Path, old: Path) -> bool:
    """Whether dir ``old`` holds exactly the files of ``new``, byte for byte."""
    if not old.is_dir():
        return False
    names = sorted(p.name for p in new.iterdir())
    if names != sorted(p.name for p in old.iterdir()):
        return False
    return all((new / n).read_bytes() == (old / n).read_bytes() for n in names)


def build_noise_index(
    out: str | os.PathLike,
    esc50: str | os.PathLike | None = None,
    musan: str | os.PathLike | None = None,
    esc50_split: str = DEFAULT_ESC50_SPLIT,
) -> tuple[dict[str, list[Clip]], list[Skipped]]:
    """Index the given corpora and write every non-empty set under ``out``."""
    if esc50 is None and musan is None:
        raise TrnetError("noise-index: give --esc50 DIR and/or --musan DIR")
    sets: dict[str, list[Clip]] = {}
    generated: set[str] = set()
    skipped: list[Skipped] = []
    for index, root, extra in ((index_esc50, esc50, (esc50_split,)), (index_musan, musan, ())):
        if root is not None:
            found, bad = index(root, *extra)
            sets.update(found)
            skipped += bad
            if made_by_make_corpus(Path(root).resolve()):
                generated.update(found)
    for skip in skipped:
        _console.print(f"[yellow]warning:[/] skipped {skip.path}: {skip.why}")
    for name, clips in sets.items():
        if not clips:
            raise TrnetError(f"{name}: no usable clips, nothing to index")
        write_noise_set(clips, Path(out) / name, generated=name in generated)
    return sets, skipped


def summary_rows(sets: dict[str, list[Clip]]) -> list[tuple[str, int, int, float]]:
    """(set, clips, categories, minutes) per set, in :data:`NOISE_SETS` order."""
    order = [n for n in NOISE_SETS if n in sets]
    return [
        (n, len(sets[n]), len({c.category for c in sets[n]}), sum(c.dur for c in sets[n]) / 60)
        for n in order
    ]


def resolve_noise_set(name_or_path: str, noise_root: Path) -> Path:
    """A noise-set name (``esc50_train``, ..., ``musan_speech``) or a path → the set's dir."""
    named = Path(noise_root) / name_or_path
    if name_or_path in NOISE_SETS:
        where = named
    elif os.sep in name_or_path or Path(name_or_path).is_dir():
        where = Path(name_or_path)
    elif (named / "wav.scp").is_file():
        where = named
    else:
        raise TrnetError(f"unknown noise set {name_or_path!r}; known: {', '.join(NOISE_SETS)}")
    if not (where / "wav.scp").is_file():
        raise TrnetError(f"{where}: noise set not indexed (no wav.scp); run trnet noise-index")
    return where
