"""Paired bootstrap confidence intervals for a difference of UAR between two systems.

The statistic is the table's: UAR per fold, mean over folds. Each resample draws, within
each fold (stratified), utterances with replacement; both systems are scored on the same
draw (paired by utterance id). The draw of a (condition, fold) depends only on the seed and
that (condition, fold), so adding a system or a condition leaves the other intervals as
they were. The average over noisy conditions resamples every condition independently and
averages the per-condition differences.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from trnet.errors import TrnetError
from trnet.scoring.decode_dir import DecodeDir


@dataclass
class Diff:
    """UAR(system) - UAR(reference), with a percentile CI, in [0, 1] units."""

    delta: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def resample_counts(n: int, n_boot: int, seed: int, key: str) -> np.ndarray:
    """(n_boot, n) multiplicities of a with-replacement draw of n items, seeded by key."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)


def boot_uar(ref: np.ndarray, hyp: np.ndarray, counts: np.ndarray, num_classes: int) -> np.ndarray:
    """UAR of each resample (rows of ``counts``); a class absent from a resample is skipped."""
    onehot = np.eye(num_classes, dtype=np.float64)[ref]  # (n, C)
    correct = onehot * (ref == hyp)[:, None]
    support = counts @ onehot
    hits = counts @ correct
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / np.where(support > 0, support, 1), np.nan)
    return np.nanmean(recall, axis=1)


def _check_pair(a: DecodeDir, b: DecodeDir) -> None:
    if a.utts != b.utts or not np.array_equal(a.ref, b.ref):
        raise TrnetError(
            f"{a.path} vs {b.path}: different utterances or labels "
            f"({len(a.utts)} vs {len(b.utts)}); cannot pair for the bootstrap"
        )
    if a.classes != b.classes:
        raise TrnetError(f"{a.path} vs {b.path}: different classes; cannot compare")


def condition_boot(
    sys_dirs: dict[str, DecodeDir],
    ref_dirs: dict[str, DecodeDir],
    condition: str,
    n_boot: int,
    seed: int,
) -> tuple[float, np.ndarray, int] | None:
    """(point difference, bootstrap differences, N) over the folds both systems have."""
    folds = sorted(set(sys_dirs) & set(ref_dirs))
    if not folds:
        return None
    point, boots, total = [], [], 0
    for fold in folds:
        a, b = sys_dirs[fold], ref_dirs[fold]
        _check_pair(a, b)
        c = len(a.classes)
        counts = resample_counts(len(a.utts), n_boot, seed, f"{condition}/{fold}")
        ones = np.ones((1, len(a.utts)))
        point.append(boot_uar(a.ref, a.hyp, ones, c)[0] - boot_uar(b.ref, b.hyp, ones, c)[0])
        boots.append(boot_uar(a.ref, a.hyp, counts, c) - boot_uar(b.ref, b.hyp, counts, c))
        total += len(a.utts)
    return float(np.mean(point)), np.mean(boots, axis=0), total


def _by_cond_fold(dirs: list[DecodeDir]) -> dict[str, dict[str, DecodeDir]]:
    out: dict[str, dict[str, DecodeDir]] = {}
    for d in dirs:
        out.setdefault(d.condition, {})[d.fold] = d
    return out


def compare_to_reference(
    system: list[DecodeDir],
    reference: list[DecodeDir],
    averages: list[tuple[str, list[str]]],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Diff]:
    """{condition or average name: Diff} for every condition both systems were decoded on."""
    sys_cf, ref_cf = _by_cond_fold(system), _by_cond_fold(reference)
    raw = {}
    for cond in sorted(set(sys_cf) & set(ref_cf)):
        result = condition_boot(sys_cf[cond], ref_cf[cond], cond, n_boot, seed)
        if result is not None:
            raw[cond] = result
    out = {cond: _diff(p, b, n) for cond, (p, b, n) in raw.items()}
    for name, conds in averages:
        if conds and all(c in raw for c in conds):
            point = float(np.mean([raw[c][0] for c in conds]))
            boots = np.mean([raw[c][1] for c in conds], axis=0)
            out[name] = _diff(point, boots, sum(raw[c][2] for c in conds))
    return out


def _diff(point: float, boots: np.ndarray, n: int) -> Diff:
    low, high = np.percentile(boots, [2.5, 97.5])
    return Diff(delta=point, low=float(low), high=float(high), n=n)
