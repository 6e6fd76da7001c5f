"""The spread between folds and the differences marked as beyond it (hand-derived)."""

from __future__ import annotations

import numpy as np

from trnet.scoring.spread import exceeds_spread, paired_spread_table, per_fold, spread_table
from trnet.scoring.tables import Cell


def _cells(uar: dict[str, list[float]]) -> dict[str, Cell]:
    folds = ["1", "2", "3"]
    return {c: Cell(folds, v, v, np.zeros((4, 4))) for c, v in uar.items()}


def test_exceeds_spread_is_a_paired_t_interval() -> None:
    # mean 0.10, std 0.02, t(0.975, 2) = 4.303: bound 4.303 * 0.02 / sqrt(3) = 0.0497
    assert exceeds_spread([0.10, 0.12, 0.08])
    # mean 0.0233, std 0.0751: bound 0.187
    assert not exceeds_spread([0.10, -0.05, 0.02])
    # std 0.04: bound 0.0994 < mean 0.10 (just beyond); std 0.05: bound 0.124 (inside)
    assert exceeds_spread([0.10, 0.14, 0.06])
    assert not exceeds_spread([0.10, 0.15, 0.05])
    assert not exceeds_spread([0.3, 0.3])  # two folds say nothing about the spread
    assert exceeds_spread([0.05, 0.05, 0.05])


def test_tables_average_conditions_within_each_fold() -> None:
    ref = _cells({"clean": [0.5, 0.6, 0.7], "esc50_0": [0.4, 0.4, 0.4], "musan_0": [0.3, 0.3, 0.3]})
    sys = _cells({"clean": [0.6, 0.7, 0.8], "esc50_0": [0.5, 0.3, 0.4], "musan_0": [0.3, 0.3, 0.3]})
    assert per_fold(sys, ["esc50_0", "musan_0"], "uar") == {"1": 0.4, "2": 0.3, "3": 0.35}
    table = paired_spread_table({"ref": ref, "sys": sys}, "ref")
    assert table.header == [
        "system",
        "clean",
        "esc50_0",
        "esc50 avg",
        "musan_0",
        "musan avg",
        "noisy avg",
    ]
    clean, esc = table.rows[0][1], table.rows[0][2]
    assert clean == "+10.00 ± 0.00 †"  # +10 points in every fold
    assert esc == "+0.00 ± 10.00"
    spread = spread_table({"ref": ref}, "uar")
    assert spread.rows[0][1] == "60.00 ± 10.00"


def test_the_fold_mean_sums_folds_in_their_order_whatever_the_hash_seed() -> None:
    """A generated run's baseline_noisy musan_5 folds: their mean is 50.625 % summed in fold
    order and a hair above it in some other orders, so a set's order (string hashes, random
    per process) printed 50.62 or 50.63 for the same decode dirs."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from trnet.scoring.spread import spread_table\n"
        "from trnet.scoring.tables import Cell\n"
        "v = [0.5, 0.5572916666666667, 0.5, 0.47395833333333337, 0.5]\n"
        "cells = {'musan_5': Cell(['1', '2', '3', '4', '5'], v, v, np.zeros((4, 4)))}\n"
        "print(spread_table({'s': cells}, 'uar').rows[0][1])\n"
    )
    seen = set()
    for seed in (0, 5):  # with seed 5 a set of the folds summed them to 50.63
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        seen.add(out.stdout.strip())
    assert seen == {"50.62 ± 3.07"}
