"""Keep/drop decisions on dev folds (issue 25): each system's dev UAR per fold, its mean, and
the fold-paired difference to a reference with its 95% t interval (``trnet dev-table``).

The rule of an ablation study without tuning on test: a variant is chosen on the dev UAR
its folds record when they finish, written down before any test row is read. Only the
training dirs are read here (``exp/<system>/fold<K>/.done``), never a decode dir.
:func:`fold_dev_uar` is the one reader of a fold's dev UAR, for this table and for any other
choice made on dev folds (a system or fold to export).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.scoring.spread import exceeds_spread, paired_interval
from trnet.scoring.tables import TextTable

FOLD_DIR = re.compile(r"fold([1-9]\d*)")
"""A fold's training dir under ``exp/<system>/``."""


def fold_dev_uar(exp_fold: str | Path) -> float:
    """The dev UAR that the finished training dir ``exp_fold`` records in its ``.done``
    (``dev_uar``, in [0, 1]): a deep system's kept epoch (``train.select``) scored on the
    fold's dev set, each dev utterance in one dev condition drawn once for every system
    (:func:`trnet.train.data.dev_examples`); an ensemble fold's, its members' mean; the
    eGeMAPS SVM's, its chosen C on every dev utterance in every dev condition. No ``.done``
    (training not finished), or no such number in it: a one-line error naming the fold."""
    from trnet.train.ensemble import read_done

    exp_fold = Path(exp_fold)
    text = read_done(exp_fold).get("dev_uar", "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # nan too
        raise TrnetError(
            f"{exp_fold / '.done'}: dev_uar {text.strip()!r} is not a UAR in [0, 1]"
            if text
            else f"{exp_fold / '.done'}: records no dev_uar"
        )
    return value


def system_folds(exp: Path, system: str) -> dict[int, Path]:
    """Fold number → ``exp/<system>/fold<K>``; a name that is not a plain dir name, or no
    such dir, is a one-line error."""
    if not system or system in (".", "..") or Path(system).name != system or "\\" in system:
        raise TrnetError(f"{system!r}: not a system name (a dir name under {exp})")
    root = exp / system
    if not root.is_dir():
        raise TrnetError(f"{root}: no such system dir")
    folds = {}
    for path in root.iterdir():
        match = FOLD_DIR.fullmatch(path.name)
        if match and path.is_dir():
            folds[int(match.group(1))] = path
    return folds


def read_dev_uars(
    exp: str | Path, systems: Sequence[str], folds: Sequence[int] | None = None
) -> tuple[dict[str, dict[int, float]], list[int]]:
    """Each system's dev UAR per finished fold (a fold without ``.done`` is left out), and
    the folds of the table: ``folds``, or every ``fold<K>`` dir of any of the systems."""
    exp = Path(exp)
    dirs = {name: system_folds(exp, name) for name in systems}
    shown = sorted(set(folds) if folds else {k for found in dirs.values() for k in found})
    uars = {
        name: {
            k: fold_dev_uar(found[k])
            for k in shown
            if k in found and (found[k] / ".done").is_file()
        }
        for name, found in dirs.items()
    }
    return uars, shown


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _signed(value: float) -> str:
    return f"{round(100 * value, 2) + 0.0:+.2f}"  # no "-0.00"


def dev_table(uars: dict[str, dict[int, float]], folds: Sequence[int], ref: str) -> TextTable:
    """Rows in ``uars`` order: the dev UAR of each fold (``-``: not finished), the mean over
    the finished ones (and how many), and for every system but ``ref`` the mean difference to
    ``ref`` over the folds both finished with its 95% t interval (``-`` below three folds),
    marked † where the interval leaves out 0 (:func:`trnet.scoring.spread.exceeds_spread`)."""
    if ref not in uars:
        raise TrnetError(f"--ref {ref}: not among the systems ({', '.join(uars)})")
    header = ["system", *(f"fold{k}" for k in folds), "mean", "folds"]
    header += [f"Δ vs {ref}", "95% t interval", "paired folds"]
    rows = []
    for name, values in uars.items():
        row = [name, *(_pct(values[k]) if k in values else "-" for k in folds)]
        mean = sum(values.values()) / len(values) if values else None
        row += ["-" if mean is None else _pct(mean), f"{len(values)}/{len(folds)}"]
        if name == ref:
            rows.append([*row, "ref", "", ""])
            continue
        paired = [k for k in folds if k in values and k in uars[ref]]
        diffs = [values[k] - uars[ref][k] for k in paired]
        interval = paired_interval(diffs)
        if not diffs:
            row += ["-", "-", "0"]
        elif interval is None:
            row += [_signed(sum(diffs) / len(diffs)), "-", str(len(diffs))]
        else:
            mid, half = interval
            span = f"[{_signed(mid - half)}, {_signed(mid + half)}]"
            row += [_signed(mid) + (" †" if exceeds_spread(diffs) else ""), span, str(len(diffs))]
        rows.append(row)
    caption = (
        "Dev UAR (%) per fold, as each fold's .done records it (deep: the kept epoch on the "
        "dev set, one drawn dev condition per utterance; an ensemble: its members' mean; the "
        f"SVM: its chosen C on every dev condition); Δ vs {ref}: mean of the fold-paired "
        "differences in % points and its 95% t interval; † = the interval leaves out 0"
    )
    return TextTable(header, rows, caption=caption)


def write_dev_table(exp: str | Path, table: TextTable) -> tuple[Path, Path]:
    """``exp/dev_table.tsv`` and ``exp/dev_table.md`` (each written whole or not at all)."""
    exp = Path(exp)
    paths = (exp / "dev_table.tsv", exp / "dev_table.md")
    for path, text in zip(paths, (table.to_tsv(), table.to_markdown()), strict=True):
        with atomic_write(path) as f:
            f.write(text)
    return paths


def build_dev_table(
    exp: str | Path,
    systems: Sequence[str],
    ref: str,
    folds: Sequence[int] | None = None,
) -> tuple[TextTable, tuple[Path, Path]]:
    """``trnet dev-table``: the table of ``systems`` (``ref`` added first when not among
    them) under ``exp``, written to ``exp/dev_table.{tsv,md}`` under ``exp``'s lock."""
    from trnet.stage import lock

    exp = Path(exp)
    if not exp.is_dir():
        raise TrnetError(f"{exp}: no such exp dir")
    names = list(dict.fromkeys([*([] if ref in systems else [ref]), *systems]))
    with lock(exp):
        uars, shown = read_dev_uars(exp, names, folds)
        if not shown:
            raise TrnetError(f"{exp}: no fold<K> dir under {', '.join(names)}")
        table = dev_table(uars, shown, ref)
        return table, write_dev_table(exp, table)
