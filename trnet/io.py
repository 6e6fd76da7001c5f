"""Atomic file writing and Kaldi-style ``key value`` text tables.

Every stage writes through :func:`atomic_write` (tmp file in the same folder, then
``os.replace``), so a killed run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

from trnet.errors import TrnetError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        name_target(err, path)
        raise
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            name_target(err, path)
        raise


def name_target(err: OSError, path: Path) -> None:
    """Make an error of writing ``path`` name it: not its temporary file, and not nothing
    (a full disk is reported by ``write`` with no file name)."""
    if err.filename is None or Path(err.filename).name.startswith(f".{path.name}."):
        err.filename = str(path)


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of an input file; not text in ``encoding`` or unreadable is a
    :class:`TrnetError` naming the file (never a ``UnicodeDecodeError`` traceback)."""
    try:
        return Path(path).read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise TrnetError(f"{path}: not {encoding} text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise TrnetError(f"{path}: cannot read ({err.strerror or err})") from None


def read_yaml(path: str | os.PathLike) -> object:
    """The parsed YAML of an input file; a syntax error is one line naming the file, the
    line and column, and what the parser found (PyYAML's own message spans several lines)."""
    import yaml

    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = " ".join(str(getattr(err, "problem", None) or err).split())
        raise TrnetError(f"{where}: not valid YAML ({what})") from None


def read_csv(path: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[str], list[dict]]:
    """Header and rows (``(line number, row)`` pairs) of a CSV input file.

    A file that is not text or not CSV is a :class:`TrnetError` naming the file and line;
    a short row has ``None`` in its missing fields and an empty field is ``""``, so callers
    must check each field they use (and skip the row with a reason).
    """
    text = read_text(path, encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = list(reader.fieldnames or [])
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as err:
        raise TrnetError(f"{path}:{reader.line_num}: not valid CSV ({err})") from None
    return header, rows


def read_kv(path: str | os.PathLike, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a Kaldi table ``key value...`` (value = rest of the line), keeping file order.

    Raises :class:`TrnetError` naming the file and line for a malformed or duplicate entry.
    """
    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: file not found")
    table: dict[str, str] = {}
    for lineno, line in enumerate(io.StringIO(read_text(path), newline=None), 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        value = value.strip()
        if not value and not allow_empty_value:
            raise TrnetError(f"{path}:{lineno}: expected 'key value', got {line!r}")
        if key in table:
            raise TrnetError(f"{path}:{lineno}: duplicate key {key!r}")
        table[key] = value
    return table


def write_kv(
    path: str | os.PathLike,
    table: Mapping[str, object] | Iterable[tuple[str, object]],
    sort: bool = True,
) -> None:
    """Write ``key value`` lines atomically, sorted by key (Kaldi's C-locale order) by default."""
    items = list(table.items()) if isinstance(table, Mapping) else list(table)
    if sort:
        items.sort(key=lambda kv: kv[0].encode("utf-8"))
    with atomic_write(path) as f:
        for key, value in items:
            f.write(f"{key} {value}\n")


def file_sha256(path: str | os.PathLike) -> str:
    """The full sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
