"""Kaldi data-dir operations: fix, subset, split, combine (``trnet data ...``, ``utils/*.sh``).

All are deterministic: the same inputs (and seed) give byte-identical outputs.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from trnet.data.datadir import (
    CARRIED_FILES,
    DataDir,
    Entry,
    check_id,
    is_per_utt_table,
    kaldi_sorted,
    read_entries,
    spk2utt_from,
    utt_keyed_tables,
)
from trnet.errors import TrnetError, overwrite_hint
from trnet.io import atomic_write

BACKUP = ".backup"


def _table_files(path: Path) -> list[Path]:
    return [
        p
        for p in sorted(path.iterdir())
        if p.is_file() and (is_per_utt_table(p.name) or p.name == "spk2utt")
    ]


def _table_text(table: dict[str, str]) -> str:
    return "".join(f"{k} {table[k]}\n" for k in kaldi_sorted(table))


def _require_datadir(path: Path) -> None:
    if not path.is_dir():
        raise TrnetError(f"{path}: data directory not found")
    if not (path / "utt2spk").is_file():
        raise TrnetError(f"{path}: not a Kaldi data directory (no utt2spk)")


# ---------------------------------------------------------------- fix


@dataclass
class FixReport:
    """What :func:`fix` did: entries dropped per file, where the originals went."""

    path: Path
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    rewritten: list[str] = field(default_factory=list)
    backup: Path | None = None


def _clean_table(entries: list) -> tuple[dict[str, str], set[str]]:
    """A table from raw entries, and the keys that cannot be trusted.

    Identical duplicate lines collapse; a key given two different values, or no value, is
    untrusted (its utterance is dropped).
    """
    table: dict[str, str] = {}
    bad: set[str] = set()
    for entry in entries:
        if not entry.value or table.get(entry.key, entry.value) != entry.value:
            bad.add(entry.key)
        table.setdefault(entry.key, entry.value)
    return {k: v for k, v in table.items() if k not in bad}, bad


def _fixed_tables(raw: dict[str, list]) -> dict[str, dict[str, str]]:
    """Tables restricted to the utterances every utterance-keyed table has (and spk2utt)."""
    tables, bad = {}, set()
    for name, entries in raw.items():
        if name != "spk2utt":
            tables[name], untrusted = _clean_table(entries)
            bad |= untrusted
    keyed = utt_keyed_tables(tables)
    keep = set.intersection(*(set(tables[n]) for n in keyed)) - bad
    if "segments" in tables:
        recordings = tables.get("wav.scp", {})
        keep = {u for u in keep if tables["segments"][u].split()[0] in recordings}
    fixed = DataDir(tables=tables).subset(keep).tables
    fixed["spk2utt"] = spk2utt_from(fixed["utt2spk"])
    return fixed


def _backup(path: Path, files: list[Path]) -> Path:
    """Copy ``files`` into ``path/.backup/``; an older backup of the same name is kept too."""
    backup = path / BACKUP
    backup.mkdir(exist_ok=True)
    for file in files:
        dest = backup / file.name
        if dest.exists() and filecmp.cmp(file, dest, shallow=False):
            continue
        k = 1
        while dest.exists():
            dest = backup / f"{file.name}.{k}"
            k += 1
        shutil.copyfile(file, dest)
    return backup


def _check_entry_ids(file: Path, entries: list[Entry]) -> None:
    """Every key (and utt2spk's speakers) a valid id: fix cannot repair a bad one."""
    for entry in entries:
        check_id(entry.key, f"{file}:{entry.lineno}")
        if file.name == "utt2spk" and entry.value:
            check_id(entry.value, f"{file}:{entry.lineno}", "speaker id")


def fix(path: str | os.PathLike) -> FixReport:
    """Keep the utterances present in every table, re-sort, regenerate spk2utt.

    The original tables are copied into ``path/.backup/`` before anything changes; a dir
    that needs no change is left untouched (no backup). An id that is not allowed
    (:func:`~trnet.data.datadir.check_id`) is an error naming its line: no change is made.
    """
    path = Path(path)
    _require_datadir(path)
    files = _table_files(path)
    raw = {f.name: read_entries(f) for f in files}
    for name, entries in raw.items():
        _check_entry_ids(path / name, entries)
    fixed = _fixed_tables(raw)
    if not fixed["utt2spk"]:
        raise TrnetError(f"{path}: no utterance is in every table; nothing would be left")
    report = FixReport(path=path, kept=len(fixed["utt2spk"]))
    old_text = {f.name: f.read_text(encoding="utf-8") for f in files}
    for name, table in fixed.items():
        if old_text.get(name) != _table_text(table):
            report.rewritten.append(name)
        lost = len(raw.get(name, [])) - len(table)
        if lost > 0 and name != "spk2utt":
            report.dropped[name] = lost
    if report.rewritten:
        report.backup = _backup(path, files)
        for name in report.rewritten:
            with atomic_write(path / name) as f:
                f.write(_table_text(fixed[name]))
    return report


# ---------------------------------------------------------------- subset


def read_id_list(path: str | os.PathLike) -> list[str]:
    """The first field of each non-blank line (Kaldi's utt/spk list files)."""
    return [e.key for e in read_entries(_existing(path))]


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: file not found")
    return path


def _check_known(ids: Sequence[str], known: Iterable[str], what: str, where: Path) -> None:
    unknown = kaldi_sorted(set(ids) - set(known))
    if unknown:
        more = " ..." if len(unknown) > 3 else ""
        raise TrnetError(
            f"{where}: {len(unknown)} {what} not in this data dir: {', '.join(unknown[:3])}{more}"
        )


def _check_count(n: int, have: int, option: str, where: Path) -> None:
    if not 1 <= n <= have:
        raise TrnetError(f"{option} {n}: must be between 1 and {have} (utterances in {where})")


def select_utts(
    source: DataDir,
    *,
    utt_list: Sequence[str] | None = None,
    spk_list: Sequence[str] | None = None,
    first: int | None = None,
    random: int | None = None,
    seed: int = 0,
) -> list[str]:
    """The utterances one selector picks (exactly one must be given), in Kaldi order."""
    selectors = {"utt-list": utt_list, "spk-list": spk_list, "first": first, "random": random}
    given = [name for name, value in selectors.items() if value is not None]
    if len(given) != 1:
        raise TrnetError(
            f"subset: give exactly one of --utt-list, --spk-list, --first, --random (got {given})"
        )
    utts, where = source.utts, source.path or Path("data dir")
    if utt_list is not None:
        _check_known(utt_list, utts, "utterances of the list", where)
        return kaldi_sorted(set(utt_list))
    if spk_list is not None:
        _check_known(spk_list, source["utt2spk"].values(), "speakers of the list", where)
        speakers = set(spk_list)
        return [u for u in utts if source["utt2spk"][u] in speakers]
    if first is not None:
        _check_count(first, len(utts), "--first", where)
        return utts[:first]
    _check_count(random, len(utts), "--random", where)
    return kaldi_sorted(Random(seed).sample(utts, random))


def write_datadir(
    data: DataDir, dst: Path, carried_from: Sequence[DataDir], overwrite: bool = False
) -> None:
    """Write ``data`` as a new dir at ``dst``, with the carried files of its sources.

    An existing data dir at ``dst`` is replaced only with ``overwrite`` (its stale tables
    removed); a carried file is copied only if every source that has it agrees.
    """
    if (dst / "utt2spk").exists():
        if not overwrite:
            raise TrnetError(f"{dst}: already a data directory; {overwrite_hint()}")
        for stale in _table_files(dst):
            if stale.name not in data.tables and stale.name != "spk2utt":
                stale.unlink()
    data.write(dst)
    for name in CARRIED_FILES:
        copies = [s.path / name for s in carried_from if s.path and (s.path / name).is_file()]
        if copies and all(filecmp.cmp(copies[0], c, shallow=False) for c in copies[1:]):
            shutil.copyfile(copies[0], dst / name)


def _same_dir(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def subset(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    utt_list: Sequence[str] | None = None,
    spk_list: Sequence[str] | None = None,
    first: int | None = None,
    random: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> DataDir:
    """Write at ``dst`` the tables of ``src`` restricted to the selected utterances.

    ``first``: the first N in Kaldi order; ``random``: N drawn with ``seed`` (then sorted).
    """
    src, dst = Path(src), Path(dst)
    source = DataDir.load(src)
    if _same_dir(src, dst):
        raise TrnetError(f"{dst}: the destination is the source")
    utts = select_utts(
        source, utt_list=utt_list, spk_list=spk_list, first=first, random=random, seed=seed
    )
    result = source.subset(utts)
    write_datadir(result, dst, [source], overwrite=overwrite)
    return result


# ---------------------------------------------------------------- split


def _block_bounds(weights: Sequence[int], n: int) -> list[int]:
    """Cut points of ``n`` non-empty contiguous blocks with near-equal weight sums."""
    cumulative = [0]
    for w in weights:
        cumulative.append(cumulative[-1] + w)
    cuts = [0]
    for k in range(1, n):
        target = cumulative[-1] * k / n
        candidates = range(cuts[-1] + 1, len(weights) - (n - k) + 1)
        cuts.append(min(candidates, key=lambda i: (abs(cumulative[i] - target), i)))
    return cuts + [len(weights)]


def split(src: str | os.PathLike, n: int, by: str = "utt") -> list[Path]:
    """Split ``src`` into ``src/split<n><by>/<k>/`` (k = 1..n), Kaldi's split_data.sh layout.

    Blocks are contiguous in Kaldi order and near-equal in utterances; ``by="spk"`` keeps
    each speaker's utterances in one block. A split newer than its source is reused.
    """
    if by not in ("utt", "spk"):
        raise TrnetError(f"--by {by}: must be 'utt' or 'spk'")
    src = Path(src)
    source = DataDir.load(src)
    utt2spk = source["utt2spk"]
    units = kaldi_sorted(set(utt2spk.values())) if by == "spk" else source.utts
    if not 1 <= n <= len(units):
        raise TrnetError(f"{src}: cannot split into {n} parts: it has {len(units)} {by}s")
    out = src / f"split{n}{by}"
    parts = [out / str(k) for k in range(1, n + 1)]
    done = out / ".done"
    newest_input = max(f.stat().st_mtime for f in _table_files(src))
    if done.is_file() and done.stat().st_mtime >= newest_input:
        return parts
    members = spk2utt_from(utt2spk) if by == "spk" else {u: u for u in units}
    groups = [members[u].split() for u in units]
    cuts = _block_bounds([len(g) for g in groups], n)
    for part, a, b in zip(parts, cuts[:-1], cuts[1:], strict=True):
        utts = [u for group in groups[a:b] for u in group]
        write_datadir(source.subset(utts), part, [source], overwrite=True)
    with atomic_write(done) as f:
        f.write(f"{n} {by}\n")
    return parts


# ---------------------------------------------------------------- combine


def _union(sources: Sequence[DataDir], name: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    origin: dict[str, Path | None] = {}
    for source in sources:
        for key, value in source[name].items():
            if key in merged and merged[key] != value:
                raise TrnetError(
                    f"{origin[key]} and {source.path}: {name} gives {key!r} different values "
                    f"({merged[key]!r} vs {value!r})"
                )
            merged.setdefault(key, value)
            origin.setdefault(key, source.path)
    return merged


@dataclass
class CombineReport:
    """What :func:`combine` wrote, and the tables it left out (absent from some source)."""

    data: DataDir
    left_out: list[str]


def combine(
    dst: str | os.PathLike, srcs: Sequence[str | os.PathLike], overwrite: bool = False
) -> CombineReport:
    """The union of the data dirs ``srcs`` at ``dst``.

    An id with different values in two sources is an error naming both; identical
    duplicates are fine. A table only some sources have is left out (Kaldi does the same).
    """
    dst = Path(dst)
    if not srcs:
        raise TrnetError("combine: give at least one source data dir")
    sources = [DataDir.load(s) for s in srcs]
    if any(_same_dir(dst, s.path) for s in sources):
        raise TrnetError(f"{dst}: the destination is one of the sources")
    segmented = {"segments" in s for s in sources}
    if len(segmented) > 1:
        raise TrnetError(f"{dst}: cannot combine dirs with and without segments")
    names = set.union(*(set(s.tables) for s in sources))
    shared = kaldi_sorted(n for n in names if all(n in s for s in sources))
    data = DataDir(tables={name: _union(sources, name) for name in shared})
    write_datadir(data, dst, sources, overwrite=overwrite)
    return CombineReport(data=data, left_out=kaldi_sorted(names - set(shared)))
