"""A Kaldi data directory held in memory: a set of per-utterance ``key value`` tables.

Per-utterance tables are ``wav.scp``, ``feats.scp``, ``segments`` and every ``utt2*`` file;
``spk2utt`` is always derived from ``utt2spk`` when written. Other files (``corpus.json``,
``cmvn.ark``...) are copied along by :func:`DataDir.subset` but not interpreted.

With a ``segments`` file (Kaldi's layout) ``wav.scp`` is keyed by *recording* id, and
``segments`` maps each utterance to ``recording start end`` (seconds).

Ids (utterance, recording and speaker ids) are names that may become file names (``trnet
mix --format wav`` writes ``<utt>.wav``): :func:`check_id` allows ``[A-Za-z0-9_.:-]`` with
no leading dot, and :meth:`DataDir.load` checks every id it reads. A file path built from
a name goes through :func:`confined`, which refuses one outside its folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from trnet.contract import CLASSES
from trnet.data.sources import check_sources
from trnet.errors import TrnetError
from trnet.io import read_kv, write_kv

PER_UTT_FILES = ("wav.scp", "feats.scp", "segments")
"""Tables keyed by utterance id besides the ``utt2*`` files."""

CARRIED_FILES = ("corpus.json", "classes")
"""Non-table files a subset inherits from its source."""


ID_CHARS = "A-Za-z0-9_.:-"
"""What an id or a name that becomes a path may hold (Kaldi ids of every corpus trnet
knows stay within it: ``Ses01F-Ses01F_impro01_F000``, ``emodb03-03a01Fa``...)."""
_ID = re.compile(f"[{ID_CHARS}]+")


ID_RULE = f"only [{ID_CHARS}], no leading dot"


def is_valid_id(name: str) -> bool:
    """Whether ``name`` may be an id or a file-name part (see :data:`ID_CHARS`)."""
    return bool(_ID.fullmatch(name)) and not name.startswith(".")


def check_id(name: str, where: str | os.PathLike, what: str = "id") -> str:
    """``name`` itself when it is a valid id; else a :class:`TrnetError` naming ``where``
    (the file or option it came from) and ``what`` it is."""
    if not is_valid_id(name):
        raise TrnetError(f"{where}: {what} {name!r} not allowed ({ID_RULE})")
    return name


def check_utf8_name(path: str | os.PathLike) -> Path:
    """``path`` when its name is UTF-8 text; else a :class:`TrnetError` showing the name
    with its undecodable bytes escaped (a table cannot hold it, and printing it as it is
    would fail)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise TrnetError(f"{shown}: file name is not UTF-8; rename the file") from None
    return Path(path)


def confined(root: str | os.PathLike, name: str) -> Path:
    """``root / name``, refused (:class:`TrnetError`) when it would lie outside ``root``.

    The check is on the normalised path (``..`` resolved, absolute): symlinks the user made
    inside ``root`` (a ``wav/`` on another disk) are theirs and are followed as before.
    """
    root = Path(root)
    base = Path(os.path.abspath(root))
    target = Path(os.path.abspath(base / name))
    if target == base or base not in target.parents:
        raise TrnetError(f"{root}: {name!r} would be written outside this folder")
    return root / name


class Entry(NamedTuple):
    """One line of a table as written, before any checking (``value`` may be empty)."""

    lineno: int
    key: str
    value: str


def is_per_utt_table(name: str) -> bool:
    return name in PER_UTT_FILES or name.startswith("utt2")


def read_entries(path: str | os.PathLike) -> list[Entry]:
    """Every non-blank line of a table, in file order, duplicates and empty values kept.

    For the tools that must see a broken table as it is (validate, fix); stages use
    :func:`trnet.io.read_kv`, which rejects such tables.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TrnetError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise TrnetError(f"{path}: cannot read ({err.strerror})") from None
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        key, _, value = line.strip().partition(" ")
        if key:
            entries.append(Entry(lineno, key, value.strip()))
    return entries


def check_ids(path: Path, tables: dict[str, dict[str, str]]) -> None:
    """Every key of every table, and every speaker, is a valid id (:func:`check_id`)."""
    seen: set[str] = set()
    for name, table in tables.items():
        for key in table.keys() - seen:
            check_id(key, path / name)
        seen |= table.keys()
    for spk in set(tables["utt2spk"].values()):
        check_id(spk, path / "utt2spk", "speaker id")


def utt_keyed_tables(names: Iterable[str]) -> list[str]:
    """The tables keyed by utterance id (``wav.scp`` is keyed by recording with segments)."""
    names = list(names)
    segmented = "segments" in names
    return [n for n in names if is_per_utt_table(n) and not (segmented and n == "wav.scp")]


def kaldi_sorted(keys: Iterable[str]) -> list[str]:
    """Sort as Kaldi does (``LC_ALL=C``: by bytes)."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def spk2utt_from(utt2spk: dict[str, str]) -> dict[str, str]:
    spk2utts: dict[str, list[str]] = {}
    for utt in kaldi_sorted(utt2spk):
        spk2utts.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in spk2utts.items()}


@dataclass
class DataDir:
    """Per-utterance tables of one data dir, by file name (``"utt2spk"`` → {utt: spk})."""

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> DataDir:
        """The tables of the dir at ``path``; its ids checked (:func:`check_ids`) and, for a
        dir ``trnet prep`` made, its audio compared with what prep read
        (:mod:`trnet.data.sources`)."""
        path = Path(path)
        if not path.is_dir():
            raise TrnetError(f"{path}: data directory not found")
        if not (path / "utt2spk").is_file():
            raise TrnetError(f"{path}: not a Kaldi data directory (no utt2spk)")
        tables = {
            p.name: read_kv(p)
            for p in sorted(path.iterdir())
            if p.is_file() and is_per_utt_table(p.name)
        }
        check_ids(path, tables)
        check_sources(path, tables.get("wav.scp", {}))
        return cls(tables=tables, path=path)

    @property
    def utts(self) -> list[str]:
        """Utterance ids in Kaldi order (those of utt2spk)."""
        return kaldi_sorted(self.tables.get("utt2spk", {}))

    def __getitem__(self, name: str) -> dict[str, str]:
        if name not in self.tables:
            where = self.path if self.path is not None else "data dir"
            raise TrnetError(f"{where}: has no {name}")
        return self.tables[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def write(self, path: str | os.PathLike) -> None:
        """Write every table (sorted) and a derived ``spk2utt``; each file atomically."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            write_kv(path / name, table)
        if "utt2spk" in self.tables:
            write_kv(path / "spk2utt", spk2utt_from(self.tables["utt2spk"]))

    def subset(self, utts: Iterable[str]) -> DataDir:
        """The same tables restricted to ``utts`` (ids absent from a table are left out).

        With ``segments``, ``wav.scp`` keeps the recordings the kept segments refer to.
        """
        keep = set(utts)
        tables = {
            name: {k: v for k, v in self.tables[name].items() if k in keep}
            for name in utt_keyed_tables(self.tables)
        }
        if "segments" in tables and "wav.scp" in self.tables:
            recordings = {value.split()[0] for value in tables["segments"].values()}
            wav = self.tables["wav.scp"]
            tables["wav.scp"] = {k: v for k, v in wav.items() if k in recordings}
        return DataDir(tables={name: tables[name] for name in self.tables})

    def copy_carried_files(self, dest: str | os.PathLike) -> None:
        """Copy ``corpus.json`` and friends from this dir's folder to ``dest``."""
        if self.path is None:
            return
        for name in CARRIED_FILES:
            if (self.path / name).is_file():
                shutil.copyfile(self.path / name, Path(dest) / name)


def load_labels(datadir: DataDir) -> dict[str, int]:
    """utt2emo as class indices; any label outside CLASSES is an error."""
    labels = {}
    for utt, emo in datadir["utt2emo"].items():
        if emo not in CLASSES:
            raise TrnetError(
                f"{datadir.path}/utt2emo: {utt}: label {emo!r} not in {' '.join(CLASSES)}"
            )
        labels[utt] = CLASSES.index(emo)
    return labels
