"""Shared prep for corpora labelled by file name or one CSV (RAVDESS, CREMA-D, EmoDB, MSP).

A corpus module lists its audio as :class:`Item` rows (and what it skipped, with reasons);
:func:`write_data_dir` does the rest the same way for all of them: the class map (corpus
label → 4-class label or dropped, changeable with ``--map LABEL=CLASS``), durations read
from the audio headers at any sample rate and channel count (the audio itself is left as
it is: :func:`trnet.audio.read_audio` is the one place it becomes 16 kHz mono), the tables,
``local/skipped.tsv``, ``corpus.json`` and the resumability markers of :mod:`trnet.prep`.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

from trnet.contract import CLASSES, CorpusInfo
from trnet.data.datadir import DataDir, check_id, check_utf8_name
from trnet.data.sources import record_sources
from trnet.errors import TrnetError
from trnet.prep import PrepReport, finish, report_from_dir, start, write_skipped

T = TypeVar("T")

DROP = "drop"
"""``--map LABEL=drop`` leaves a corpus label out."""

ClassMap = dict[str, str | None]
"""Corpus label → 4-class label, or None for a dropped label."""


@dataclass(frozen=True)
class Item:
    """One usable audio file of a corpus: ids, corpus label, path, extra ``utt2*`` values."""

    utt: str
    spk: str
    raw: str
    wav: Path
    extra: Mapping[str, str] = field(default_factory=dict)
    """Table name → value, e.g. ``{"utt2gender": "f"}``."""


def parse_map(specs: Iterable[str], default: ClassMap) -> ClassMap:
    """``default`` changed by ``LABEL=CLASS`` specs (CLASS one of the 4 classes or ``drop``).

    Labels match the corpus's labels case-insensitively; an unknown label or class is a
    :class:`TrnetError` naming the option and what is allowed.
    """
    mapping = dict(default)
    by_lower = {label.lower(): label for label in default}
    for spec in specs:
        label, sep, target = (s.strip() for s in spec.partition("="))
        if not sep or not label or not target:
            raise TrnetError(f"--map {spec}: expected LABEL=CLASS, e.g. calm=neu or calm={DROP}")
        if label.lower() not in by_lower:
            raise TrnetError(f"--map {spec}: unknown label {label!r}; labels: {', '.join(default)}")
        if target != DROP and target not in CLASSES:
            raise TrnetError(
                f"--map {spec}: unknown class {target!r}; classes: {', '.join(CLASSES)}, {DROP}"
            )
        mapping[by_lower[label.lower()]] = None if target == DROP else target
    return mapping


def audio_duration(path: Path, sample_rate: int | None = None) -> tuple[str | None, str]:
    """``("2.345", "")`` for a readable, non-empty audio file, else ``(None, why)``; with
    ``sample_rate``, a file at another rate is refused too."""
    if not path.is_file():
        return None, "missing audio file"
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for a broken file
        return None, f"unreadable audio ({err})".replace("\t", " ").replace("\n", " ")
    if sample_rate is not None and info.samplerate != sample_rate:
        return None, f"wrong sample rate ({info.samplerate} Hz, expected {sample_rate})"
    if info.frames == 0:
        return None, "empty audio file"
    if info.subtype in ("FLOAT", "DOUBLE"):  # only float audio can hold NaN or inf
        try:
            wave, _ = sf.read(str(path), dtype="float32")
        except Exception as err:
            return None, f"unreadable audio ({err})".replace("\t", " ").replace("\n", " ")
        if not np.isfinite(wave).all():
            return None, "NaN or infinite samples"
    return f"{info.frames / info.samplerate:.3f}", ""


def parse_files(
    folder: Path, parse: Callable[[str], tuple[T | None, str]]
) -> tuple[list[tuple[Path, T]], list[tuple[str, str]]]:
    """The files of ``folder`` (sorted) whose names ``parse`` accepts, with what it returned;
    the others with its reason (for corpora labelled by file name). A name that is not
    UTF-8 is a :class:`TrnetError` naming it: no table could list it."""
    parsed: list[tuple[Path, T]] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        value, reason = parse(check_utf8_name(path).name)
        if value is None:
            skipped.append((str(path), reason))
        else:
            parsed.append((path, value))
    return parsed, skipped


def looks_like(root: Path) -> str | None:
    """Name of the corpus whose layout ``root`` has (for wrong-ROOT messages), or None."""
    if not root.is_dir():
        return None
    names = {p.name for p in root.iterdir()}
    if any(n.startswith("Actor_") for n in names):
        return "RAVDESS"
    if "AudioWAV" in names:
        return "CREMA-D"
    if (root / "Labels" / "labels_consensus.csv").is_file() or "Audios" in names:
        return "MSP-Podcast"
    if any(n.startswith("Session") for n in names):
        return "IEMOCAP"
    if "wav" in names and (root / "wav").is_dir():
        return "EmoDB"
    return None


def check_root(
    root: Path, ok: bool, missing: str, expected: str, corpus: str, hint: str = ""
) -> None:
    """One-line error for a ROOT without ``corpus``'s layout, naming the corpus it holds."""
    if not root.exists():
        raise TrnetError(f"{root}: not found; expected {expected}")
    if not root.is_dir():
        raise TrnetError(f"{root}: not a directory; expected {expected}")
    if ok:
        return
    other = looks_like(root)
    if other and other != corpus:
        hint = f" (this looks like {other})"
    raise TrnetError(f"{root}: {missing}; expected {expected}{hint}")


def _signature(
    corpus: str, root: Path, items: list[Item], skipped: list, mapping: ClassMap
) -> dict:
    """What the output depends on: the file list, labels, skips and the class map."""
    digest = hashlib.sha256()
    for item in items:
        extra = sorted(item.extra.items())
        digest.update(f"{item.utt}\0{item.spk}\0{item.raw}\0{item.wav}\0{extra}\n".encode())
    for where, why in sorted(skipped):
        digest.update(f"{where}\0{why}\n".encode())
    return {
        "corpus": corpus,
        "root": str(root),
        "class_map": {k: mapping[k] for k in sorted(mapping)},
        "inputs_sha256": digest.hexdigest(),
    }


def _tables(items: list[Item], mapping: ClassMap, report: PrepReport, skipped: list) -> dict:
    from tqdm import tqdm

    names = ["wav.scp", "utt2spk", "utt2emo", "utt2emo_raw", "utt2dur"]
    names += sorted({name for item in items for name in item.extra})
    tables: dict[str, dict[str, str]] = {name: {} for name in names}
    dropped: Counter = Counter()
    for item in tqdm(items, desc=f"{report.corpus} wavs", unit="utt", disable=None):
        emo = mapping.get(item.raw)
        if emo is None:
            dropped[item.raw] += 1
            continue
        duration, reason = audio_duration(item.wav)
        if duration is None:
            skipped.append((str(item.wav), reason))
            continue
        values = {
            "wav.scp": str(item.wav),
            "utt2spk": item.spk,
            "utt2emo": emo,
            "utt2emo_raw": item.raw,
            "utt2dur": duration,
        }
        for name, value in {**values, **item.extra}.items():
            tables[name][item.utt] = value
        report.counts.setdefault(item.spk, Counter())[emo] += 1
    report.dropped = dict(sorted(dropped.items()))
    return tables


def sample_rate_of(wavs: Iterable[str]) -> int | None:
    """The one sample rate all these files share, or None when they differ."""
    rates = {sf.info(w).samplerate for w in wavs}
    return rates.pop() if len(rates) == 1 else None


def write_data_dir(
    corpus: str,
    root: Path,
    out: Path,
    items: list[Item],
    skipped: list[tuple[str, str]],
    mapping: ClassMap,
    overwrite: bool = False,
) -> PrepReport:
    """Write the data dir ``out`` from a corpus's items (see module doc); resumable.

    ``corpus.json`` also records ``sample_rate``: the rate every file has, or null when the
    rates differ, so a checker can expect the corpus's own rate instead of 16 kHz.
    """
    for item in items:
        check_id(item.utt, item.wav, "utterance id")
        check_id(item.spk, item.wav, "speaker id")
    if len({item.utt for item in items}) != len(items):
        raise TrnetError(f"{root}: the same utterance id is listed twice")
    signature = _signature(corpus, root, items, skipped, mapping)
    if start(out, signature, overwrite):
        return report_from_dir(out, corpus)
    report = PrepReport(data_dir=out, corpus=corpus, generated=False)
    skipped = list(skipped)
    tables = _tables(items, mapping, report, skipped)
    write_skipped(out, skipped)
    report.n_skipped = len(skipped)
    if not tables["utt2spk"]:
        raise TrnetError(
            f"{root}: no usable utterance found ({len(skipped)} skipped, "
            f"{sum(report.dropped.values())} dropped by the class map; see {report.skipped_path})"
        )
    DataDir(tables=tables).write(out)
    CorpusInfo(corpus, str(root), False, sample_rate_of(tables["wav.scp"].values())).write(out)
    record_sources(out, tables["wav.scp"])
    finish(out, signature, {"dropped": report.dropped, "filtered": 0})
    return report


def prepare_listed(
    corpus: str,
    list_items: Callable[[Path], tuple[list[Item], list[tuple[str, str]]]],
    default_map: ClassMap,
    root: Path,
    out: Path,
    class_map: Sequence[str] = (),
    overwrite: bool = False,
) -> PrepReport:
    """The ``prepare`` of a corpus labelled by file name or CSV: list its items, apply the
    class map (``LABEL=CLASS`` specs over ``default_map``) and write the data dir."""
    root = absolute(root)
    items, skipped = list_items(root)
    mapping = parse_map(class_map, default_map)
    return write_data_dir(corpus, root, Path(out), items, skipped, mapping, overwrite)


def absolute(root: Path) -> Path:
    """``root`` made absolute (symlinks kept), so wav.scp paths work from any folder; a
    root whose path is not UTF-8 is refused (wav.scp could not hold its files' paths)."""
    return check_utf8_name(os.path.abspath(Path(root).expanduser()))
