"""What a prepared data dir was made from: size, modification time and a digest of the
first 64 KiB of each audio file.

``trnet prep`` writes ``local/audio.stat`` (``<wav.scp key> <size> <mtime_ns> <sha1 of the
head>`` of every audio file it read) into the dir it makes. A file whose size and time are
as recorded is taken as unchanged without reading it; one with another time (a copied
corpus, ``cp`` without ``-p``) is unchanged when its size and head digest are. Loading a
data dir that has the record compares it with the files now under its ``wav.scp``, so a
corpus replaced under a prepared dir (a generated corpus made again with another size or
seed, a re-encoded copy) is refused in one line instead of being read with the durations and
labels of the old audio.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from trnet.errors import OVERWRITE_HINT_ENV, TrnetError
from trnet.io import read_kv, write_kv

AUDIO_STAT = "local/audio.stat"


HEAD_BYTES = 1 << 16


def _head_digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.sha1(f.read(HEAD_BYTES)).hexdigest()
    except OSError:
        return "unreadable"


def _stat(value: str) -> str | None:
    """``"size mtime_ns"`` of the audio file a wav.scp value names; None when there is no
    such plain file (an ark entry, a pipe, a missing file)."""
    try:
        info = os.stat(value)
    except (OSError, ValueError):
        return None
    return f"{info.st_size} {info.st_mtime_ns}" if stat.S_ISREG(info.st_mode) else None


def _record(value: str) -> str | None:
    """``"size mtime_ns head_sha1"`` of an audio file (None: not a plain file)."""
    now = _stat(value)
    return None if now is None else f"{now} {_head_digest(value)}"


def _same(recorded: str, value: str, now: str | None) -> bool:
    """Whether the file is as recorded: size and time equal, or (a copy) size and head."""
    if now is None:
        return False
    parts = recorded.split()
    if now == " ".join(parts[:2]):
        return True
    return len(parts) == 3 and now.split()[0] == parts[0] and _head_digest(value) == parts[2]


def record_sources(data_dir: str | os.PathLike, wav_scp: dict[str, str]) -> None:
    """Write ``data_dir/local/audio.stat`` for the audio files of ``wav_scp`` (atomically)."""
    stats = {key: _record(value) for key, value in wav_scp.items()}
    write_kv(Path(data_dir) / AUDIO_STAT, {k: v for k, v in stats.items() if v is not None})


def _change(recorded: str, now: str | None) -> str:
    if now is None:
        return "not found"
    old_size, new_size = recorded.split()[0], now.split()[0]
    return f"size {old_size} -> {new_size} bytes" if old_size != new_size else "modified"


def changed_sources(data_dir: str | os.PathLike, wav_scp: dict[str, str]) -> tuple[list, int]:
    """``"<file>: <what changed>"`` for each recorded audio file of ``wav_scp`` that is not
    as prep read it, and how many were compared (no record: nothing compared)."""
    path = Path(data_dir) / AUDIO_STAT
    if not path.is_file():
        return [], 0
    recorded = {k: v for k, v in read_kv(path).items() if k in wav_scp}
    changed = [
        f"{wav_scp[key]}: {_change(old, now)}"
        for key, old in recorded.items()
        if not _same(old, wav_scp[key], now := _stat(wav_scp[key]))
    ]
    return changed, len(recorded)


def check_sources(data_dir: str | os.PathLike, wav_scp: dict[str, str]) -> None:
    """A :class:`TrnetError` when audio under ``wav_scp`` changed since prep recorded it."""
    changed, total = changed_sources(data_dir, wav_scp)
    if changed:
        hint = os.environ.get(OVERWRITE_HINT_ENV) or "rerun trnet prep with --overwrite"
        raise TrnetError(
            f"{data_dir}: prepared from other audio: {len(changed)} of {total} audio files "
            f"changed since trnet prep read them (e.g. {changed[0]}); the corpus under it was "
            f"replaced, so prepare it again: {hint}"
        )
