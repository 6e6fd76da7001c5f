"""Scores of decode dirs, aggregated over folds, as tables (rich, TSV, Markdown).

Aggregation over folds is reported two ways, always labelled:
- ``mean ± std``: the metric per fold, then mean and population std (ddof=0) over folds
  (the paper's protocol);
- ``pooled``: one confusion matrix of all utterances of all folds together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trnet.contract import CLEAN, Condition, condition_name, parse_condition
from trnet.io import atomic_write
from trnet.scoring.decode_dir import DecodeDir
from trnet.scoring.metrics import row_normalise, score_cm, uar_from_cm, war_from_cm

NOISE_ORDER = (CLEAN, "esc50", "musan")
METRICS = ("uar", "war")


@dataclass
class TextTable:
    """A table of formatted cells; ``bold`` holds (row, column) of cells to emphasise."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    bold: set[tuple[int, int]] = field(default_factory=set)

    def to_tsv(self) -> str:
        lines = ["\t".join(self.header)] + ["\t".join(r) for r in self.rows]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        def cell(i: int, j: int, text: str) -> str:
            return f"**{text}**" if (i, j) in self.bold else text

        lines = [f"**{self.caption}**", ""] if self.caption else []
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        for i, row in enumerate(self.rows):
            lines.append("| " + " | ".join(cell(i, j, t) for j, t in enumerate(row)) + " |")
        return "\n".join(lines) + "\n"

    def transposed(self, corner: str = "") -> TextTable:
        """Columns become rows (for a terminal too narrow for many condition columns)."""
        rows = [
            [self.header[j], *(row[j] for row in self.rows)] for j in range(1, len(self.header))
        ]
        header = [corner, *(row[0] for row in self.rows)]
        bold = {(j - 1, i + 1) for i, j in self.bold}
        return TextTable(header, rows, self.caption, bold)

    def width(self) -> int:
        """Characters a rich table of this needs (cell widths plus borders and padding)."""
        columns = zip(self.header, *self.rows, strict=True)
        return sum(max(len(t) for t in col) + 3 for col in columns) + 1

    def for_terminal(self, width: int):
        """Rich renderable, transposed when the table is wider than ``width``."""
        fits = self.width() <= width or len(self.header) <= 2
        return (self if fits else self.transposed()).to_rich()

    def to_rich(self):
        """The caption on its own line (a rich title would wrap to the table's width)."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(*self.header)
        for i, row in enumerate(self.rows):
            cells = (f"[bold]{t}[/]" if (i, j) in self.bold else t for j, t in enumerate(row))
            table.add_row(*cells)
        return Group(Text(self.caption, style="bold"), table) if self.caption else table


def pct(x: float | None) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.2f}"


# ---------------------------------------------------------------- one decode dir


def score_decode_dir(d: DecodeDir) -> dict:
    """Scores of one decode dir, written into it as scores.json, confusion.tsv, summary."""
    cm = d.confusion()
    scores = score_cm(cm, d.classes)
    scores.update(system=d.system, fold=d.fold, condition=d.condition)
    scores.update(noise=d.noise, snr=d.snr, ref_size=d.ref_size, partial=d.ref_size != len(d.utts))
    if d.corruption:
        scores["corruption"] = d.corruption
    with atomic_write(d.path / "scores.json") as f:
        json.dump(scores, f, indent=2, sort_keys=True)
        f.write("\n")
    norm = row_normalise(cm)
    with atomic_write(d.path / "confusion.tsv") as f:
        f.write(
            "ref\\hyp\t"
            + "\t".join(d.classes)
            + "\t"
            + "\t".join(f"{c}_rate" for c in d.classes)
            + "\n"
        )
        for i, name in enumerate(d.classes):
            counts = "\t".join(str(int(v)) for v in cm[i])
            rates = "\t".join(f"{v:.4f}" for v in norm[i])
            f.write(f"{name}\t{counts}\t{rates}\n")
    with atomic_write(d.path / "summary") as f:
        f.write(summary_line(d.path, scores) + "\n")
    return scores


def summary_line(path: Path, scores: dict) -> str:
    partial = f" PARTIAL={scores['n']}/{scores['ref_size']}" if scores.get("partial") else ""
    return (
        f"{path} N={scores['n']} UAR={pct(scores['uar'])} WAR={pct(scores['war'])} "
        f"F1={pct(scores['macro_f1'])}{partial}"
    )


def decode_dir_tables(d: DecodeDir, scores: dict) -> list[TextTable]:
    """Overall scores, per-class scores, confusion counts and row-normalised rates."""
    overall = TextTable(
        ["N", "WAR", "UAR", "macro-F1"],
        [[str(scores["n"]), pct(scores["war"]), pct(scores["uar"]), pct(scores["macro_f1"])]],
        caption=f"{d.path} ({d.system}, {d.condition}, fold {d.fold})",
    )
    per_class = TextTable(
        ["class", "precision", "recall", "F1", "support"],
        [
            [c, pct(v["precision"]), pct(v["recall"]), pct(v["f1"]), str(v["support"])]
            for c, v in scores["per_class"].items()
        ],
        caption="per class (%)",
    )
    cm = np.asarray(scores["confusion"])
    counts = TextTable(
        ["ref \\ hyp", *d.classes],
        [[c, *(str(int(v)) for v in cm[i])] for i, c in enumerate(d.classes)],
        caption="confusion matrix (counts)",
    )
    rates = TextTable(
        ["ref \\ hyp", *d.classes],
        [[c, *(pct(v) for v in row_normalise(cm)[i])] for i, c in enumerate(d.classes)],
        caption="confusion matrix (row-normalised, %)",
    )
    return [overall, per_class, counts, rates]


# ---------------------------------------------------------------- folds → one cell


@dataclass
class Cell:
    """One (system, condition) over its folds."""

    folds: list[str]
    uar: list[float]
    war: list[float]
    confusion: np.ndarray

    def mean(self, metric: str) -> float:
        return float(np.mean(getattr(self, metric)))

    def std(self, metric: str) -> float:
        return float(np.std(getattr(self, metric)))

    def pooled(self, metric: str) -> float:
        return uar_from_cm(self.confusion) if metric == "uar" else war_from_cm(self.confusion)

    def to_json(self) -> dict:
        out: dict = {"folds": self.folds, "n": int(self.confusion.sum())}
        for m in METRICS:
            out[m] = {
                "per_fold": getattr(self, m),
                "fold_mean": self.mean(m),
                "fold_std": self.std(m),
                "pooled": self.pooled(m),
            }
        out["confusion_pooled"] = self.confusion.astype(int).tolist()
        return out


def aggregate(dirs: Iterable[DecodeDir]) -> dict[str, Cell]:
    """Decode dirs of one system → {condition: Cell}, folds in sorted order."""
    by_cond: dict[str, list[DecodeDir]] = {}
    for d in dirs:
        by_cond.setdefault(d.condition, []).append(d)
    cells = {}
    for cond, group in by_cond.items():
        group = sorted(group, key=lambda d: fold_key(d.fold))
        cms = [d.confusion() for d in group]
        cells[cond] = Cell(
            folds=[d.fold for d in group],
            uar=[uar_from_cm(cm) for cm in cms],
            war=[war_from_cm(cm) for cm in cms],
            confusion=np.sum(cms, axis=0),
        )
    return cells


def fold_key(fold: str) -> tuple[int, str]:
    return (int(fold), "") if fold.isdigit() else (1 << 30, fold)


def snr_key(snr: str) -> tuple[int, float]:
    return (0, 0.0) if snr == CLEAN else (1, -float(snr))


def noise_key(noise: str) -> tuple[int, str]:
    return (NOISE_ORDER.index(noise), "") if noise in NOISE_ORDER else (len(NOISE_ORDER), noise)


def split(cond: str) -> tuple[str, str]:
    """(noise, snr) of a condition; a corruption condition's noise part."""
    parsed = parse_condition(cond)
    return parsed.noise, parsed.snr


def is_corrupted(cond: str) -> bool:
    """A corruption condition: its own table, never in the noise × SNR grid or averages."""
    return parse_condition(cond).corrupted


def corruption_row(cond: Condition) -> tuple[str, str]:
    """(corruption, level) of a corruption condition in the corruption × level table:
    ``rev-0.6+musan_10`` → (``rev+musan_10``, ``0.6``); ``tel8k`` → (``tel8k``, ``-``)."""
    noise = condition_name(cond.noise, cond.snr)
    kinds = "+".join(c.kind for c in cond.corruptions) + ("" if noise == CLEAN else f"+{noise}")
    return kinds, "/".join(c.level or "-" for c in cond.corruptions)


def _level_key(level: str) -> tuple[int, float, str]:
    number = level.removesuffix("k")
    try:
        return (0, float(number), level)
    except ValueError:
        return (1, 0.0, level)


def sort_conditions(conditions: Iterable[str]) -> list[str]:
    """clean first, then by noise (esc50, musan, others) and SNR from high to low; then the
    corruption conditions, by corruption and level."""

    def key(cond: str):
        parsed = parse_condition(cond)
        noise = (noise_key(parsed.noise), snr_key(parsed.snr))
        if not parsed.corrupted:
            return (0, ("", ()), noise)
        kinds, levels = corruption_row(parsed)
        return (1, (kinds, tuple(_level_key(v) for v in levels.split("/"))), noise)

    return sorted(set(conditions), key=key)


# ---------------------------------------------------------------- noise × SNR grid


def grid_tables(cells: dict[str, Cell], system: str, tag: str = "") -> list[TextTable]:
    """Per metric: a ``mean ± std over folds`` grid and a ``pooled over folds`` grid; with
    corruption conditions, then a corruption × level table."""
    conds = [c for c in sort_conditions(cells) if not is_corrupted(c)]
    noises = sorted({split(c)[0] for c in conds}, key=noise_key)
    snrs = sorted({split(c)[1] for c in conds}, key=snr_key)
    nfolds = max(len(c.folds) for c in cells.values())
    tables = []
    for metric in METRICS if conds else ():
        for how in ("mean ± std over folds", "pooled over folds"):
            rows = []
            for noise in noises:
                row = [noise]
                for snr in snrs:
                    cell = (
                        cells.get(condition_name(noise, snr))
                        if (noise == CLEAN) == (snr == CLEAN)
                        else None
                    )
                    if cell is None:
                        row.append("-")
                    elif how.startswith("mean"):
                        row.append(f"{pct(cell.mean(metric))} ± {pct(cell.std(metric))}")
                    else:
                        row.append(pct(cell.pooled(metric)))
                rows.append(row)
            caption = f"{tag}{system}: {metric.upper()} (%), {how} ({nfolds} fold(s))"
            tables.append(TextTable(["noise \\ SNR", *snrs], rows, caption=caption))
    corrupted = [c for c in sort_conditions(cells) if is_corrupted(c)]
    if corrupted:
        tables.append(corruption_table(cells, corrupted, system, tag, nfolds))
    return tables


def corruption_table(
    cells: dict[str, Cell], conds: list[str], system: str, tag: str, nfolds: int
) -> TextTable:
    """One row per corruption condition: corruption, level and each metric's mean ± std
    and pooled over folds."""
    header = ["corruption", "level"]
    for m in METRICS:
        header += [f"{m.upper()} mean ± std", f"{m.upper()} pooled"]
    rows = []
    for cond in conds:
        cell = cells[cond]
        row = list(corruption_row(parse_condition(cond)))
        for m in METRICS:
            row += [f"{pct(cell.mean(m))} ± {pct(cell.std(m))}", pct(cell.pooled(m))]
        rows.append(row)
    caption = f"{tag}{system}: corruption × level (%), over folds ({nfolds} fold(s))"
    return TextTable(header, rows, caption=caption)


def write_grid(cells: dict[str, Cell], system: str, out_dir: Path) -> tuple[Path, Path]:
    """``scores_grid.tsv`` (one row per condition) and ``scores_grid.json`` in ``out_dir``."""
    header = ["system", "condition", "noise", "snr", "folds", "n"]
    for m in METRICS:
        header += [f"{m}_fold_mean", f"{m}_fold_std", f"{m}_pooled"]
    rows = []
    for cond in sort_conditions(cells):
        cell = cells[cond]
        row = [system, cond, *split(cond), ",".join(cell.folds), str(int(cell.confusion.sum()))]
        for m in METRICS:
            row += [pct(cell.mean(m)), pct(cell.std(m)), pct(cell.pooled(m))]
        rows.append(row)
    tsv, js = out_dir / "scores_grid.tsv", out_dir / "scores_grid.json"
    with atomic_write(tsv) as f:
        f.write(
            "# rates in %; fold_mean/fold_std: over folds (std ddof=0); "
            "pooled: all folds' utterances together\n"
        )
        f.write(TextTable(header, rows).to_tsv())
    with atomic_write(js) as f:
        payload = {
            "system": system,
            "conditions": {c: cells[c].to_json() for c in sort_conditions(cells)},
        }
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")
    return tsv, js


# ---------------------------------------------------------------- systems × conditions


def noisy_average(cells: dict[str, Cell], conds: list[str], metric: str) -> float | None:
    """Mean of the fold-mean metric over ``conds``; None when the system lacks any of them
    (so that an average never mixes different sets of conditions across systems)."""
    if not conds or any(c not in cells for c in conds):
        return None
    return float(np.mean([cells[c].mean(metric) for c in conds]))


def table_columns(conditions: list[str]) -> list[tuple[str, list[str]]]:
    """(column, conditions it averages): each condition, each noise set's average after its
    conditions, and the average over all noisy conditions when there are several noise sets;
    then each corruption condition (in no average)."""
    every = sort_conditions(conditions)
    conds = [c for c in every if not is_corrupted(c)]
    noises = sorted({split(c)[0] for c in conds if c != CLEAN}, key=noise_key)
    cols = [(CLEAN, [CLEAN])] if CLEAN in conds else []
    for noise in noises:
        group = [c for c in conds if split(c)[0] == noise]
        cols += [(c, [c]) for c in group] + [(f"{noise} avg", group)]
    if len(noises) > 1:
        cols.append(("noisy avg", [c for c in conds if c != CLEAN]))
    return cols + [(c, [c]) for c in every if is_corrupted(c)]


def systems_table(systems: dict[str, dict[str, Cell]], metric: str, tag: str = "") -> TextTable:
    """Rows = systems, columns = conditions and noisy averages; fold means in %, best in bold."""
    columns = table_columns([c for cells in systems.values() for c in cells])
    values = [
        [noisy_average(cells, group, metric) for _, group in columns] for cells in systems.values()
    ]
    table = TextTable(
        ["system", *(name for name, _ in columns)],
        [[name, *(pct(v) for v in row)] for name, row in zip(systems, values, strict=True)],
        caption=f"{tag}{metric.upper()} (%), mean over folds; best per column in bold",
    )
    for j in range(len(columns)):
        column = [row[j] for row in values]
        present = [round(v, 6) for v in column if v is not None]
        if len(present) > 1:
            best = max(present)
            table.bold |= {
                (i, j + 1) for i, v in enumerate(column) if v is not None and round(v, 6) == best
            }
    return table


def write_text(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    with atomic_write(path) as f:
        f.write(text)
    return path
