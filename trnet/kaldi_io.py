"""Kaldi ark/scp writing and reading: the ground floor under mixing, features, SE and training.

:class:`ArkWriter` appends kaldiio entries (matrices, vectors, int16 wav) to one ark written
atomically, recording each entry's ``ark:offset`` for the scp; :func:`write_vectors` /
:func:`read_vectors` hold per-utterance vectors (embeddings). Writers are called by the parent
process in Kaldi (sorted) order, so the bytes written do not depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from trnet.errors import TrnetError
from trnet.io import atomic_write, name_target, write_kv


class ArkWriter:
    """Appends kaldiio entries to ``<path>`` written atomically; scp values name the final path."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.scp: dict[str, str] = {}
        self._ctx = atomic_write(self.path, "wb")
        self._f: IO[bytes] = self._ctx.__enter__()

    def add(self, key: str, value: object) -> None:
        import kaldiio

        start = self._f.tell()
        with self._naming():
            kaldiio.save_ark(self._f, {key: value})
        self.scp[key] = f"{self.path}:{start + len((key + ' ').encode('utf-8'))}"

    def add_wav(self, key: str, samples: np.ndarray, sr: int) -> None:
        """An int16 mono wav entry, byte-identical to kaldiio's (whose ``wave`` writer is slow)."""
        data = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        header = struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            *(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, sr, 2 * sr, 2, 16),
            *(b"data", len(data)),
        )
        start = self._f.tell()
        with self._naming():
            self._f.write((key + " ").encode("utf-8") + header)
            self._f.write(data)
        self.scp[key] = f"{self.path}:{start + len((key + ' ').encode('utf-8'))}"

    @contextlib.contextmanager
    def _naming(self) -> Iterator[None]:
        """An error of a write (a full disk) names the ark, not nothing."""
        try:
            yield
        except OSError as err:
            name_target(err, self.path)
            raise

    def close(self) -> None:
        self._ctx.__exit__(None, None, None)

    def abort(self) -> None:
        try:
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
        except RuntimeError:
            pass


def write_vectors(ark: str | Path, scp: str | Path, table: dict[str, np.ndarray]) -> None:
    """Kaldi vectors to ``ark`` + ``scp`` (sorted keys), both written atomically."""
    import kaldiio

    entries = {}
    with atomic_write(ark, "wb") as f:
        for key in sorted(table, key=lambda k: k.encode("utf-8")):
            entries[key] = f"{ark}:{f.tell() + len(key.encode('utf-8')) + 1}"
            kaldiio.save_ark(f, {key: np.asarray(table[key], dtype=np.float32)})
    write_kv(scp, entries)


def read_vectors(ark: str | Path) -> dict[str, np.ndarray]:
    import kaldiio

    return {k: np.asarray(v, dtype=np.float32) for k, v in kaldiio.load_ark(str(ark))}


def _scp_lines(scp: Path) -> dict[str, int]:
    lines: dict[str, int] = {}
    with open(scp, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            key = line.split(maxsplit=1)[0] if line.strip() else ""
            if key:
                lines.setdefault(key, lineno)
    return lines


def read_matrix(
    scp: str | Path, utt: str, spec: str, num_frames: int | None = None, hint: str = ""
) -> np.ndarray:
    """One ``feats.scp`` entry as float32; a damaged ark (cut short, a moved offset, an entry
    of another length than ``utt2num_frames`` says) is one :class:`TrnetError` naming the
    scp, its line and the ark offset, never a kaldiio traceback."""
    import kaldiio

    ark, _, offset = spec.rpartition(":")
    try:
        x = np.array(kaldiio.load_mat(spec), dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"a {x.ndim}-d entry, not a matrix")
    except Exception as err:  # kaldiio raises many types for a damaged ark
        why = " ".join(str(err).split()) or type(err).__name__
        line = _scp_lines(Path(scp)).get(utt, "?")
        raise TrnetError(
            f"{scp}:{line}: {utt}: cannot read {ark or spec} at offset {offset or '?'} "
            f"({why[:200]}){hint}"
        ) from None
    if num_frames is not None and x.shape[0] != num_frames:
        line = _scp_lines(Path(scp)).get(utt, "?")
        raise TrnetError(
            f"{scp}:{line}: {utt}: {x.shape[0]} frames at {ark} offset {offset}, utt2num_frames "
            f"says {num_frames} (the scp points at another entry?)"
        )
    return x


def check_feats(data_dir: str | Path) -> list[str]:
    """Every ``feats.scp`` entry of ``data_dir`` read, with its frame count against
    ``utt2num_frames``: one line per damaged entry (empty: all read)."""
    from trnet.io import read_kv

    data_dir = Path(data_dir)
    scp = data_dir / "feats.scp"
    if not scp.is_file():
        return []
    try:
        table = read_kv(scp)
        frames_path = data_dir / "utt2num_frames"
        frames = read_kv(frames_path) if frames_path.is_file() else {}
    except Exception as err:
        return [str(err)]
    problems = []
    for utt, spec in table.items():
        n = frames.get(utt)
        try:
            read_matrix(scp, utt, spec, int(n) if n and n.isdigit() else None)
        except Exception as err:
            problems.append(str(err))
    return problems
