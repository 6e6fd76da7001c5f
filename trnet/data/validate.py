"""Check a Kaldi data dir and list every fault, one line each (``trnet data validate``).

Nothing here raises for a broken dir: each fault becomes a string naming the file and what
is wrong, so a user sees all of them at once. Faults of one kind in one file are folded into
one line (a count and the first few ids) so a moved corpus does not print 10,000 lines.
Relative audio/ark paths are taken from the current folder, as Kaldi does (the recipe runs
from ``egs/iemocap/``).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from trnet.contract import SAMPLE_RATE
from trnet.data.datadir import (
    ID_RULE,
    Entry,
    is_per_utt_table,
    is_valid_id,
    kaldi_sorted,
    read_entries,
    spk2utt_from,
    utt_keyed_tables,
)
from trnet.errors import TrnetError

SHOWN = 3
"""How many example ids a folded fault line names."""

SEGMENT_TOLERANCE = 0.01
"""Seconds a segment's end may pass its recording's end (rounding of the times)."""

DURATION_TOLERANCE = 0.01
"""Seconds an audio file's duration may differ from its utt2dur value (written in ms)."""


def fault(path: Path, what: str, items: Sequence[str]) -> list[str]:
    """Zero or one problem line: ``path: what (N): first, second, third ...``."""
    if not items:
        return []
    more = " ..." if len(items) > SHOWN else ""
    return [f"{path}: {what} ({len(items)}): {', '.join(items[:SHOWN])}{more}"]


DEFAULT_SAMPLE_RATE = SAMPLE_RATE


def expected_sample_rate(path: Path) -> int | None:
    """The rate the dir's audio should have: ``corpus.json``'s ``sample_rate`` when it has
    that key (``null``: the corpus mixes rates, so no rate is checked), else 16 kHz.

    Data prep records audio as the corpus ships it (RAVDESS is 48 kHz); conversion to
    16 kHz happens in one place, ``trnet.audio.read_audio``.
    """
    try:
        info = json.loads((path / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_SAMPLE_RATE
    if not isinstance(info, dict) or "sample_rate" not in info:
        return DEFAULT_SAMPLE_RATE
    rate = info["sample_rate"]
    return int(rate) if isinstance(rate, int | float) else None


def validate(
    path: str | os.PathLike, check_audio: bool = True, sample_rate: int | None = None
) -> list[str]:
    """Every fault of the data dir at ``path`` (empty list: the dir is valid).

    ``check_audio=False`` skips the wav.scp file checks (existence, sample rate, segment
    ends against recording durations), like Kaldi's ``--no-wav``. ``sample_rate=None``
    takes the expected rate from the dir itself (:func:`expected_sample_rate`).
    """
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: data directory not found"]
    if not (path / "utt2spk").is_file():
        return [f"{path}: not a Kaldi data directory (no utt2spk)"]
    problems: list[str] = []
    tables: dict[str, dict[str, str]] = {}
    for file in sorted(path.iterdir()):
        if file.is_file() and (is_per_utt_table(file.name) or file.name == "spk2utt"):
            try:
                entries = read_entries(file)
            except TrnetError as err:
                problems.append(str(err))
                continue
            problems += check_form(file, entries)
            tables[file.name] = {e.key: e.value for e in reversed(entries)}
    if not tables.get("utt2spk"):
        return problems + [f"{path / 'utt2spk'}: empty data directory (no utterances)"]
    problems += check_speakers(path, tables)
    problems += check_coverage(path, tables)
    problems += check_values(path, tables)
    problems += check_segments(path, tables)
    problems += check_feats(path, tables)
    if check_audio:
        rate = sample_rate if sample_rate is not None else expected_sample_rate(path)
        problems += check_wavs(path, tables, rate)
    return problems


def check_form(file: Path, entries: list[Entry]) -> list[str]:
    """C-order sorting, unique keys, a value on every line."""
    problems = []
    for prev, entry in zip(entries, entries[1:], strict=False):
        if prev.key.encode("utf-8") > entry.key.encode("utf-8"):
            problems.append(
                f"{file}:{entry.lineno}: not sorted in C order ({entry.key!r} after "
                f"{prev.key!r}); run 'trnet data fix'"
            )
            break
    counts = Counter(e.key for e in entries)
    problems += fault(file, "duplicate ids", kaldi_sorted(k for k, n in counts.items() if n > 1))
    problems += fault(file, "ids with an empty value", [e.key for e in entries if not e.value])
    bad = [repr(e.key) for e in entries if not is_valid_id(e.key)]
    return problems + fault(file, f"ids not allowed ({ID_RULE})", bad)


def check_speakers(path: Path, tables: dict[str, dict[str, str]]) -> list[str]:
    """Speaker-prefixed utterance ids, and spk2utt agreeing with utt2spk."""
    utt2spk = tables["utt2spk"]
    unprefixed = [u for u in kaldi_sorted(utt2spk) if not u.startswith(utt2spk[u])]
    problems = fault(path / "utt2spk", "utterance ids not prefixed by their speaker id", unprefixed)
    bad = [repr(s) for s in kaldi_sorted(set(utt2spk.values())) if s and not is_valid_id(s)]
    problems += fault(path / "utt2spk", f"speaker ids not allowed ({ID_RULE})", bad)
    if "spk2utt" not in tables:
        return problems + [f"{path / 'spk2utt'}: missing; run 'trnet data fix'"]
    expected = {spk: set(utts.split()) for spk, utts in spk2utt_from(utt2spk).items()}
    found = {spk: set(utts.split()) for spk, utts in tables["spk2utt"].items()}
    wrong = [
        s for s in kaldi_sorted(expected.keys() | found.keys()) if expected.get(s) != found.get(s)
    ]
    return problems + fault(path / "spk2utt", "speakers disagreeing with utt2spk", wrong)


def check_coverage(path: Path, tables: dict[str, dict[str, str]]) -> list[str]:
    """Every utterance of utt2spk in every utterance-keyed table, and nothing else."""
    utts = set(tables["utt2spk"])
    problems = []
    for name in utt_keyed_tables(tables):
        keys = set(tables[name])
        problems += fault(path / name, "utterances of utt2spk missing", kaldi_sorted(utts - keys))
        problems += fault(path / name, "ids not in utt2spk", kaldi_sorted(keys - utts))
    return problems


def _positive_float(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return math.isfinite(number) and number > 0


def _positive_int(value: str) -> bool:
    return value.isdigit() and int(value) > 0


VALUE_CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "utt2dur": ("durations that are not positive numbers", _positive_float),
    "utt2num_frames": ("frame counts that are not positive integers", _positive_int),
}


def check_values(path: Path, tables: dict[str, dict[str, str]]) -> list[str]:
    """Numeric utt2* values; utt2emo labels within ``classes`` when the dir has one."""
    problems = []
    for name, (what, ok) in VALUE_CHECKS.items():
        table = tables.get(name, {})
        problems += fault(path / name, what, [k for k in kaldi_sorted(table) if not ok(table[k])])
    if "utt2emo" in tables and (path / "classes").is_file():
        classes = set((path / "classes").read_text(encoding="utf-8").split())
        emo = tables["utt2emo"]
        unknown = [f"{k}={emo[k]}" for k in kaldi_sorted(emo) if emo[k] and emo[k] not in classes]
        problems += fault(path / "utt2emo", "labels not in classes", unknown)
    return problems


def parse_segment(value: str) -> tuple[str, float, float] | None:
    """``recording start end`` → (recording, start, end); None when malformed."""
    fields = value.split()
    if len(fields) != 3:
        return None
    try:
        start, end = float(fields[1]), float(fields[2])
    except ValueError:
        return None
    return fields[0], start, end


def check_segments(path: Path, tables: dict[str, dict[str, str]]) -> list[str]:
    """Well-formed segments with ``0 <= start < end`` on recordings that wav.scp has."""
    segments = tables.get("segments")
    if segments is None:
        return []
    recordings = tables.get("wav.scp", {})
    malformed, unknown, bad_times = [], [], []
    for utt in kaldi_sorted(segments):
        seg = parse_segment(segments[utt])
        if seg is None:
            malformed.append(utt)
        elif seg[0] not in recordings:
            unknown.append(f"{utt}→{seg[0]}")
        elif not 0 <= seg[1] < seg[2]:
            bad_times.append(f"{utt} ({seg[1]:g}-{seg[2]:g})")
    file = path / "segments"
    return (
        fault(file, "lines not 'utt recording start end'", malformed)
        + fault(file, "recordings not in wav.scp", unknown)
        + fault(file, "segments without 0 <= start < end", bad_times)
    )


def ark_path(value: str) -> str | None:
    """The file of a kaldiio ark entry ``x.ark:123`` (or ``x.ark:123[0:9]``); else None."""
    file, sep, offset = value.rpartition(":")
    return file if sep and offset.split("[")[0].isdigit() else None


def check_feats(path: Path, tables: dict[str, dict[str, str]]) -> list[str]:
    """Every feats.scp entry points into an ark (or a file) that exists."""
    feats = tables.get("feats.scp", {})
    missing = [
        f"{utt} ({feats[utt]})"
        for utt in kaldi_sorted(feats)
        if feats[utt] and not Path(ark_path(feats[utt]) or feats[utt]).is_file()
    ]
    return fault(path / "feats.scp", "feature files not found", missing)


def check_wavs(path: Path, tables: dict[str, dict[str, str]], sample_rate: int | None) -> list[str]:
    """Audio files exist (at ``sample_rate`` unless None); segment ends within their recording."""
    import soundfile as sf

    wav = tables.get("wav.scp", {})
    kinds: dict[str, list[str]] = {
        "piped commands (not supported; give a file path)": [],
        "audio files not found": [],
        "unreadable audio files": [],
        f"audio not at {sample_rate} Hz": [],
    }
    piped, missing, unreadable, wrong_rate = kinds.values()
    durations: dict[str, float] = {}
    for key in kaldi_sorted(wav):
        value = wav[key]
        if not value:
            continue
        shown = f"{key} ({value})"
        if value.endswith("|"):
            piped.append(key)
        elif (ark := ark_path(value)) is not None:
            if not Path(ark).is_file():
                missing.append(shown)
        elif not Path(value).is_file():
            missing.append(shown)
        else:
            try:
                info = sf.info(value)
            except Exception:  # soundfile raises several types for a bad header
                unreadable.append(shown)
                continue
            if sample_rate is not None and info.samplerate != sample_rate:
                wrong_rate.append(f"{key} ({info.samplerate} Hz)")
            durations[key] = info.frames / info.samplerate
    problems = [
        line for what, items in kinds.items() for line in fault(path / "wav.scp", what, items)
    ]
    if "segments" not in tables:
        problems += check_durations(path, tables.get("utt2dur", {}), durations)
    return problems + check_segment_ends(path, tables.get("segments", {}), durations)


def check_durations(path: Path, utt2dur: dict[str, str], durations: dict[str, float]) -> list[str]:
    """Audio files whose duration is not the one utt2dur records: the audio under wav.scp
    was replaced after the dir was made (ark entries, of unknown length, are not checked)."""
    wrong = [
        f"{utt} ({durations[utt]:.3f} s, utt2dur {utt2dur[utt]})"
        for utt in kaldi_sorted(durations.keys() & utt2dur.keys())
        if _positive_float(utt2dur[utt])
        and abs(durations[utt] - float(utt2dur[utt])) > DURATION_TOLERANCE
    ]
    return fault(path / "wav.scp", "audio durations disagreeing with utt2dur", wrong)


def check_segment_ends(
    path: Path, segments: dict[str, str], durations: dict[str, float]
) -> list[str]:
    """Segments ending after their recording (ark recordings, of unknown length, skipped)."""
    past_end = []
    for utt in kaldi_sorted(segments):
        seg = parse_segment(segments[utt])
        if (
            seg is not None
            and seg[0] in durations
            and seg[2] > durations[seg[0]] + SEGMENT_TOLERANCE
        ):
            past_end.append(f"{utt} (ends {seg[2]:g} s > {durations[seg[0]]:g} s)")
    return fault(path / "segments", "segments ending after their recording", past_end)
