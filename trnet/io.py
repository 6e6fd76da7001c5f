"""Atomic file writing and Kaldi-style ``key value`` text tables.

Every stage writes through :func:`atomic_write` (tmp file in the same folder, then
``os.replace``), so a killed run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_kv(path: str | os.PathLike, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a Kaldi table ``key value...`` (value = rest of the line), keeping file order.

    Raises :class:`TrnetError` naming the file and line for a malformed or duplicate entry.
    """
    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: file not found")
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
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
