"""How far results move between independently trained models, and which differences exceed it.

A fold's model is trained on its own training set from its own random start; float rounding
that differs between CPUs acts on training like another random start. So the spread of a
system's UAR over folds (and, paired, of the difference between two systems over folds)
bounds what a rerun on another machine or with another seed can change. A difference is
marked only where its fold mean exceeds that spread: a paired t interval over the folds,
|mean| > t(0.975, n-1) * std / sqrt(n), which needs at least three folds (two give no
usable estimate of the spread).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from trnet.scoring.tables import Cell, TextTable, table_columns


def per_fold(cells: dict[str, Cell], conds: list[str], metric: str) -> dict[str, float] | None:
    """Fold → the metric averaged over ``conds`` (None when a condition is missing), folds in
    the cells' (sorted) order: the mean over folds sums them in this order, and a set's order
    (string hashes, random per process) moved a table's last digit between runs."""
    if not conds or any(c not in cells for c in conds):
        return None
    folds = [f for f in cells[conds[0]].folds if all(f in cells[c].folds for c in conds)]
    return {
        f: float(np.mean([getattr(cells[c], metric)[cells[c].folds.index(f)] for c in conds]))
        for f in folds
    }


def paired_interval(diffs: list[float]) -> tuple[float, float] | None:
    """The mean of paired per-fold differences and the half width of its 95% t interval,
    ``t(0.975, n-1) * std / sqrt(n)`` (ddof=1); None for fewer than three folds."""
    n = len(diffs)
    if n < 3:
        return None
    sd = float(np.std(diffs, ddof=1))
    return float(np.mean(diffs)), float(stats.t.ppf(0.975, n - 1)) * sd / float(np.sqrt(n))


def exceeds_spread(diffs: list[float]) -> bool:
    """Whether the mean of paired per-fold differences lies outside their 95% t interval."""
    interval = paired_interval(diffs)
    if interval is None:
        return False
    mean, half = interval
    return mean != 0.0 if half == 0.0 else abs(mean) > half


def _pm(values: list[float], star: bool = False) -> str:
    mean = round(100 * float(np.mean(values)), 2) + 0.0  # no "-0.00"
    sd = 100 * float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{mean:+.2f} ± {sd:.2f}{' †' if star else ''}"


def spread_table(systems: dict[str, dict[str, Cell]], metric: str, tag: str = "") -> TextTable:
    """Each system's metric per column: mean ± std over folds (ddof=1), in %."""
    columns = table_columns([c for cells in systems.values() for c in cells])
    rows = []
    for name, cells in systems.items():
        row = [name]
        for _, group in columns:
            values = per_fold(cells, group, metric)
            row.append("-" if values is None else _pm(list(values.values())).lstrip("+"))
        rows.append(row)
    caption = (
        f"{tag}{metric.upper()} (%), mean ± std over folds (ddof=1): the spread between "
        "independently trained fold models"
    )
    return TextTable(["system", *(c for c, _ in columns)], rows, caption=caption)


def paired_spread_table(
    systems: dict[str, dict[str, Cell]], ref: str, metric: str = "uar", tag: str = ""
) -> TextTable:
    """Difference to ``ref`` per column: mean ± std over folds of the per-fold difference,
    † where it exceeds the spread (see the module docstring)."""
    columns = table_columns([c for cells in systems.values() for c in cells])
    rows = []
    for name, cells in systems.items():
        if name == ref:
            continue
        row = [name]
        for _, group in columns:
            mine, theirs = per_fold(cells, group, metric), per_fold(systems[ref], group, metric)
            folds = sorted(set(mine or {}) & set(theirs or {}))
            if not folds:
                row.append("-")
                continue
            diffs = [mine[f] - theirs[f] for f in folds]
            row.append(_pm(diffs, exceeds_spread(diffs)))
        rows.append(row)
    caption = (
        f"{tag}{metric.upper()} difference to {ref} in % points, mean ± std over folds of the "
        "per-fold difference; † = beyond the spread between folds (paired t, 95%)"
    )
    return TextTable(["system", *(c for c, _ in columns)], rows, caption=caption)
