"""Kaldi ark/scp writing and reading: the ground floor under mixing, features, SE and training.

:class:`ArkWriter` appends kaldiio entries (matrices, vectors, int16 wav) to one ark written
atomically, recording each entry's ``ark:offset`` for the scp; :func:`write_vectors` /
:func:`read_vectors` hold per-utterance vectors (embeddings). Writers are called by the parent
process in Kaldi (sorted) order, so the bytes written do not depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import re
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


ENTRY_RE = re.compile(r"(?P<ark>.+):(?P<offset>\d+)(?:\[(?P<range>[\d:,]*)\])?")
"""An scp value ``file.ark:offset``, optionally with Kaldi's inclusive ranges ``[r0:r1,c0:c1]``."""


class EntryError(ValueError):
    """An scp entry that cannot be read (the caller names the scp and its line)."""


class KeyMismatch(EntryError):
    """The ark bytes before an entry's offset are not its key: the scp points elsewhere."""


def read_entry(spec: str, key: str) -> np.ndarray:
    """The array at an scp value ``file.ark:offset[range]`` of entry ``key``.

    The ark is opened as a plain file (kaldiio would run a value ending in ``|`` as a shell
    command: scp files come from dump and exp dirs, untrusted), and the bytes just before
    the offset must be ``key`` and a space, as Kaldi writes them: an scp whose offsets were
    swapped between two utterances is caught here, not read as the other's features.
    """
    from kaldiio.matio import read_kaldi

    match = ENTRY_RE.fullmatch(spec)
    if match is None:
        raise EntryError("not a file.ark:offset entry")
    offset, head = int(match["offset"]), (key + " ").encode("utf-8")
    with open(match["ark"], "rb") as f:
        f.seek(max(offset - len(head), 0))
        found = f.read(min(len(head), offset))
        if found != head:
            raise KeyMismatch(f"{match['ark']} offset {offset} {_landed(found, key)}")
        value = read_kaldi(f)
    if not isinstance(value, np.ndarray):
        raise EntryError(f"a {type(value).__name__} entry, not an array")
    return value[_ranges(match["range"])] if match["range"] is not None else value


def _landed(found: bytes, key: str) -> str:
    """What a wrong offset points at, as far as the bytes before it show."""
    text = found.decode("utf-8", errors="replace")
    if text.endswith(" ") and text[:-1].isprintable() and " " not in text[:-1]:
        return f"is the entry of {text[:-1]!r}, not of {key} (swapped or stale scp offsets?)"
    return f"is not the start of the entry of {key} (a wrong or stale scp offset)"


def _ranges(text: str) -> tuple[slice, ...]:
    """Kaldi's ``r0:r1,c0:c1`` (inclusive ends; an empty part: everything)."""
    slices = []
    for part in text.split(","):
        ends = [int(v) for v in part.split(":")] if part not in ("", ":") else []
        if len(ends) > 2 or (len(ends) == 2 and ends[0] > ends[1]):
            raise EntryError(f"bad range [{text}]")
        slices.append(slice(ends[0], ends[-1] + 1) if ends else slice(None))
    return tuple(slices)


def read_matrix(
    scp: str | Path, utt: str, spec: str, num_frames: int | None = None, hint: str = ""
) -> np.ndarray:
    """One ``feats.scp`` entry as float32; a damaged ark (cut short, a moved or swapped
    offset, an entry of another length than ``utt2num_frames`` says, NaN or infinite
    values) is one :class:`TrnetError` naming the scp, its line, the key and the ark,
    never a kaldiio traceback."""
    x = _read_scp_entry(scp, utt, spec, 2, hint)
    if num_frames is not None and x.shape[0] != num_frames:
        ark, _, offset = spec.rpartition(":")
        raise TrnetError(
            f"{_where(scp, utt)}: {x.shape[0]} frames at {ark} offset {offset}, utt2num_frames "
            f"says {num_frames} (the scp points at another entry?)"
        )
    return x


def read_scp_vectors(scp: str | Path) -> dict[str, np.ndarray]:
    """Every entry of a vector scp (``emb.scp``) as a flat float32 array, each read and
    checked as :func:`read_matrix` reads features."""
    from trnet.io import read_kv

    return {
        utt: _read_scp_entry(scp, utt, spec, None).ravel() for utt, spec in read_kv(scp).items()
    }


def _read_scp_entry(
    scp: str | Path, utt: str, spec: str, ndim: int | None, hint: str = ""
) -> np.ndarray:
    """The float32 array of one scp entry (``ndim`` dimensions unless None), all finite."""
    ark, _, offset = spec.rpartition(":")
    try:
        x = np.array(read_entry(spec, utt), dtype=np.float32)
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"a {x.ndim}-d entry, not {ndim}-d")
    except KeyMismatch as err:
        raise TrnetError(f"{_where(scp, utt)}: {err}") from None
    except Exception as err:  # kaldiio raises many types for a damaged ark
        why = " ".join(str(err).split()) or type(err).__name__
        raise TrnetError(
            f"{_where(scp, utt)}: cannot read {ark or spec} at offset {offset or '?'} "
            f"({why[:200]}){hint}"
        ) from None
    if not np.isfinite(x).all():
        raise TrnetError(f"{_where(scp, utt)}: NaN or infinite values at {ark} offset {offset}")
    return x


def _where(scp: str | Path, utt: str) -> str:
    """``scp:line: utt``, how every error about one entry starts."""
    return f"{scp}:{_scp_lines(Path(scp)).get(utt, '?')}: {utt}"


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
