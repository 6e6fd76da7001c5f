"""What a prepared data dir was made from: size and modification time of each audio file.

``trnet prep`` writes ``local/audio.stat`` (``<wav.scp key> <size> <mtime_ns>`` of every
audio file it read) into the dir it makes. Loading a data dir that has the record compares
it with the files now under its ``wav.scp``, so a corpus replaced under a prepared dir (a
generated corpus made again with another size or seed, a re-encoded copy) is refused in one
line instead of being read with the durations and labels of the old audio.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trnet.errors import OVERWRITE_HINT_ENV, TrnetError
from trnet.io import read_kv, write_kv

AUDIO_STAT = "local/audio.stat"


def _stat(value: str) -> str | None:
    """``"size mtime_ns"`` of the audio file a wav.scp value names; None when there is no
    such plain file (an ark entry, a pipe, a missing file)."""
    try:
        info = os.stat(value)
    except (OSError, ValueError):
        return None
    return f"{info.st_size} {info.st_mtime_ns}" if stat.S_ISREG(info.st_mode) else None


def record_sources(data_dir: str | os.PathLike, wav_scp: dict[str, str]) -> None:
    """Write ``data_dir/local/audio.stat`` for the audio files of ``wav_scp`` (atomically)."""
    stats = {key: _stat(value) for key, value in wav_scp.items()}
    write_kv(Path(data_dir) / AUDIO_STAT, {k: v for k, v in stats.items() if v is not None})


def _change(recorded: str, now: str | None) -> str:
    if now is None:
        return "not found"
    (old_size, _), (new_size, _) = recorded.split(), now.split()
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
        if (now := _stat(wav_scp[key])) != old
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
