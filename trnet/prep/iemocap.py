"""IEMOCAP_full_release → Kaldi data dir (4 classes: ang, hap+exc, neu, sad).

Labels come from ``Session*/dialog/EmoEvaluation/<dialog>.txt``, one line per turn::

    [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]

and the audio from ``Session*/sentences/wav/<dialog>/<utt>.wav``. The speaker is the
session plus the first letter of the utterance id's *last* field (``Ses01F_impro01_M012``
is spoken by ``Ses01M``); the letter after ``Ses01`` names who wears the markers in the
dialog, not who speaks, and dialog names hold extra ``_``-fields (``Ses05M_script01_1b``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from trnet.contract import SAMPLE_RATE, CorpusInfo, made_by_make_corpus
from trnet.data.datadir import DataDir, check_utf8_name, is_valid_id
from trnet.data.sources import record_sources
from trnet.errors import TrnetError
from trnet.prep import PrepReport, finish, report_from_dir, start, write_skipped
from trnet.prep.common import audio_duration

EXPECTED = "expected IEMOCAP_full_release with Session1..Session5/dialog/EmoEvaluation"
CLASS_MAP = {"ang": "ang", "hap": "hap", "exc": "hap", "neu": "neu", "sad": "sad"}
"""Corpus label → 4-class label; every other label is dropped (and counted)."""
LABELS = frozenset(CLASS_MAP) | {"fru", "sur", "fea", "dis", "oth", "xxx"}
"""Every emotion field of the release; anything else is a malformed line, not a label."""

_LINE = re.compile(r"^\[\s*\d+(?:\.\d*)?\s*-\s*\d+(?:\.\d*)?\s*\]\s+(\S+)\s+(\S+)\s+\[[^\]]*\]\s*$")
_UTT = re.compile(r"^Ses(\d{2})[MF]_\S+_([MF])\d+$")
_SESSION_DIR = re.compile(r"^Session(\d+)$")
_EVALUATOR = re.compile(r"^[A-Z]-[A-Z]+\d*:")
"""``C-E1:``, ``A-F2:``: one evaluator's rating of the turn above (not read)."""
DEBRIS = "macOS metadata file (._*), ignored"


@dataclass(frozen=True)
class Turn:
    """One labelled utterance of an EmoEvaluation file."""

    utt: str
    label: str
    session: str
    where: str

    @property
    def speaker(self) -> str:
        return speaker_of(self.utt)

    @property
    def dialog(self) -> str:
        return self.utt.rsplit("_", 1)[0]

    @property
    def kaldi_id(self) -> str:
        return f"{self.speaker}-{self.utt}"


def speaker_of(utt: str) -> str:
    """``Ses03M_impro05a_F003`` → ``Ses03F`` (session + gender letter of the last field)."""
    match = _UTT.match(utt)
    if not match:
        raise TrnetError(f"{utt}: not an IEMOCAP utterance id (SesNN[MF]_<dialog>_[MF]NNN)")
    return f"Ses{match.group(1)}{match.group(2)}"


def find_sessions(root: Path) -> list[tuple[str, Path]]:
    """``[("Ses01", root/Session1), ...]`` sorted; a clear error for a wrong ROOT."""
    if not root.exists():
        raise TrnetError(f"{root}: not found; {EXPECTED}")
    if not root.is_dir():
        raise TrnetError(f"{root}: not a directory; {EXPECTED}")
    sessions = sorted(
        (f"Ses{int(m.group(1)):02d}", p)
        for p in root.iterdir()
        if p.is_dir() and (m := _SESSION_DIR.match(p.name))
    )
    if not sessions:
        hint = ""
        if (root / "IEMOCAP_full_release").is_dir():
            hint = f" (did you mean {root / 'IEMOCAP_full_release'}?)"
        raise TrnetError(
            f"{root}: no Session1..Session5 folders; expected {root}/Session1/dialog/"
            f"EmoEvaluation/*.txt and {root}/Session1/sentences/wav/<dialog>/<utt>.wav{hint}"
        )
    return sessions


def label_files(session_dir: Path) -> list[Path]:
    """The EmoEvaluation ``*.txt`` files of one session (macOS ``._`` debris excluded)."""
    emo_dir = session_dir / "dialog" / "EmoEvaluation"
    if not emo_dir.is_dir():
        raise TrnetError(f"{emo_dir}: not found; every Session folder needs dialog/EmoEvaluation")
    return sorted(
        check_utf8_name(p)
        for p in emo_dir.iterdir()
        if p.is_file() and p.suffix == ".txt" and not p.name.startswith("._")
    )


def parse_label_file(path: Path, session: str) -> tuple[list[Turn], list[tuple[str, str]]]:
    """Turns of one EmoEvaluation file, and ``(file:line, reason)`` for lines skipped.

    Lines starting with ``[`` are turns; headers (``%``), evaluator lines (``C-E1:``,
    ``A-E1:``) and blanks are not read; any other line is malformed. A file that is not
    UTF-8 text is one row (its utterances are then listed as wavs without a label line);
    a file without any turn is reported as empty.
    """
    turns: list[Turn] = []
    skipped: list[tuple[str, str]] = []
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return [], [(str(path), f"not a text file (invalid UTF-8 at byte {err.start})")]
    if "\0" in text:
        return [], [(str(path), f"not a text file (NUL byte at {text.index(chr(0))})")]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("%") or _EVALUATOR.match(line):
            continue
        where = f"{path}:{lineno}"
        match = _LINE.match(line) if line.startswith("[") else None
        if not match:
            skipped.append((where, "malformed line"))
            continue
        utt, label = match.group(1), match.group(2).lower()
        id_match = _UTT.match(utt) if is_valid_id(utt) else None
        if not id_match:
            skipped.append((where, f"malformed utterance id {utt}"))
        elif f"Ses{id_match.group(1)}" != session:
            skipped.append((where, f"utterance {utt} listed under {session}"))
        elif label not in LABELS:
            skipped.append((where, f"malformed emotion field {match.group(2)!r}"))
        else:
            turns.append(Turn(utt=utt, label=label, session=session, where=where))
    if not turns and not skipped:
        skipped.append((str(path), "empty EmoEvaluation file"))
    return turns, skipped


def unlabelled_wavs(wav_root: Path, turns: list[Turn]) -> list[tuple[str, str]]:
    """``(wav, reason)`` for every ``<dialog>/<utt>.wav`` under ``wav_root`` that no label
    line names, so a lost or damaged EmoEvaluation file shows up utterance by utterance."""
    listed = {turn.utt for turn in turns}
    found = []
    if not wav_root.is_dir():
        return found
    for folder in sorted(check_utf8_name(p) for p in wav_root.iterdir() if p.is_dir()):
        for wav in sorted(check_utf8_name(p) for p in folder.glob("*.wav")):
            if not wav.name.startswith("._") and wav.stem not in listed:
                why = f"no label line in EmoEvaluation/{folder.name}.txt"
                found.append((str(wav), why))
    return found


def find_debris(session_dir: Path) -> list[tuple[str, str]]:
    """macOS ``._*`` files in the label and wav folders of a session (never read)."""
    found = []
    for top in (session_dir / "dialog" / "EmoEvaluation", session_dir / "sentences" / "wav"):
        for folder, _, names in os.walk(top):
            debris = [check_utf8_name(Path(folder) / n) for n in names if n.startswith("._")]
            found += [(str(path), DEBRIS) for path in debris]
    return found


def _signature(root: Path, files: list[Path], improvised_only: bool) -> dict:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return {
        "corpus": "iemocap",
        "root": str(root),
        "improvised_only": improvised_only,
        "labels_sha256": digest.hexdigest(),
    }


TABLES = ("wav.scp", "utt2spk", "utt2emo", "utt2emo_raw", "utt2session", "utt2dur")


def read_turns(
    sessions: list[tuple[str, Path]], files: dict[str, list[Path]]
) -> tuple[list[Turn], list[tuple[str, str]]]:
    """Every turn of every label file, and the debris and bad lines met on the way."""
    skipped: list[tuple[str, str]] = []
    turns: list[Turn] = []
    for session, folder in sessions:
        skipped += find_debris(folder)
        for path in files[session]:
            found, bad = parse_label_file(path, session)
            turns += found
            skipped += bad
    return turns, skipped


def build_tables(
    turns: list[Turn],
    wav_roots: dict[str, Path],
    improvised_only: bool,
    report: PrepReport,
    skipped: list[tuple[str, str]],
) -> dict[str, dict[str, str]]:
    """The data dir's tables; fills ``report`` counts and appends to ``skipped``."""
    from tqdm import tqdm

    tables: dict[str, dict[str, str]] = {name: {} for name in TABLES}
    seen: dict[str, str] = {}
    dropped: Counter = Counter()
    for turn in tqdm(turns, desc="iemocap wavs", unit="utt", disable=None):
        if turn.utt in seen:
            skipped.append((turn.where, f"duplicate of {seen[turn.utt]}"))
            continue
        seen[turn.utt] = turn.where
        if improvised_only and "_impro" not in turn.dialog:
            report.n_filtered += 1
            continue
        if turn.label not in CLASS_MAP:
            dropped[turn.label] += 1
            continue
        wav = wav_roots[turn.session] / turn.dialog / f"{turn.utt}.wav"
        duration, reason = audio_duration(wav, SAMPLE_RATE)
        if duration is None:
            skipped.append((str(wav), reason))
            continue
        emo = CLASS_MAP[turn.label]
        values = (str(wav), turn.speaker, emo, turn.label, turn.session, duration)
        for name, value in zip(TABLES, values, strict=True):
            tables[name][turn.kaldi_id] = value
        report.counts.setdefault(turn.speaker, Counter())[emo] += 1
    report.dropped = dict(sorted(dropped.items()))
    return tables


def prepare(
    root: Path, out: Path, improvised_only: bool = False, overwrite: bool = False
) -> PrepReport:
    """Write the data dir ``out`` from the IEMOCAP release at ``root`` (see module doc)."""
    root = check_utf8_name(os.path.abspath(Path(root).expanduser()))
    out = Path(out)
    sessions = find_sessions(root)
    files = {session: label_files(folder) for session, folder in sessions}
    signature = _signature(root, [p for fs in files.values() for p in fs], improvised_only)
    if start(out, signature, overwrite):
        return report_from_dir(out, "iemocap")

    generated = made_by_make_corpus(root)
    report = PrepReport(data_dir=out, corpus="iemocap", generated=generated)
    turns, skipped = read_turns(sessions, files)
    wav_roots = {session: folder / "sentences" / "wav" for session, folder in sessions}
    for wav_root in wav_roots.values():
        skipped += unlabelled_wavs(wav_root, turns)
    tables = build_tables(turns, wav_roots, improvised_only, report, skipped)
    write_skipped(out, skipped)
    report.n_skipped = len(skipped)
    if not tables["utt2spk"]:
        raise TrnetError(
            f"{root}: no usable utterance found ({len(skipped)} skipped, see {report.skipped_path})"
        )
    DataDir(tables=tables).write(out)
    CorpusInfo("iemocap", str(root), generated).write(out)
    record_sources(out, tables["wav.scp"])
    finish(out, signature, {"dropped": report.dropped, "filtered": report.n_filtered})
    return report
