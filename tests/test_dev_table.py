"""``trnet dev-table`` (issue 25): dev UAR per fold from each fold's ``.done``, the mean and
the fold-paired difference to a reference with its t interval, on an exp tree written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_main import run_main
from scipy import stats

from trnet.errors import TrnetError
from trnet.scoring.dev_table import dev_table, fold_dev_uar, read_dev_uars

Capture = pytest.CaptureFixture[str]

REF = [0.70, 0.60, 0.80, 0.65, 0.75]
BETTER = [r + d for r, d in zip(REF, [0.01, 0.02, 0.03, 0.02, 0.02], strict=True)]
SAME = [r + d for r, d in zip(REF, [-0.02, 0.03, 0.0, 0.01, -0.01], strict=True)]


def done(fold: Path, text: str) -> None:
    fold.mkdir(parents=True, exist_ok=True)
    (fold / ".done").write_text(text)


def make_exp(root: Path) -> Path:
    """trnet (one model per fold), an ensemble ablation, the SVM's .done, and a system whose
    fold 3 is still training (its dir, no .done)."""
    exp = root / "exp"
    for k in range(5):
        done(exp / "trnet" / f"fold{k + 1}", f"best_epoch 30\ndev_uar {REF[k]:.6f}\n")
        done(exp / "trnet_abl_x" / f"fold{k + 1}", f"ensemble 3\ndev_uar {BETTER[k]:.6f}\n")
        done(exp / "baseline_egemaps" / f"fold{k + 1}", f"best_c 10\ndev_uar {SAME[k]:.6f}\n")
        if k != 2:
            done(exp / "partial" / f"fold{k + 1}", f"best_epoch 3\ndev_uar {BETTER[k]:.6f}\n")
    (exp / "partial" / "fold3" / "checkpoints").mkdir(parents=True)
    (exp / "trnet" / "log").mkdir()  # not a fold dir
    return exp


def interval(diffs: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t interval, in % points, computed here from scratch."""
    d = 100 * np.asarray(diffs)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


def test_fold_dev_uar_reads_every_kind_of_done(tmp_path: Path) -> None:
    exp = make_exp(tmp_path)
    assert fold_dev_uar(exp / "trnet" / "fold2") == pytest.approx(0.60)
    assert fold_dev_uar(exp / "trnet_abl_x" / "fold2") == pytest.approx(0.62)
    assert fold_dev_uar(exp / "baseline_egemaps" / "fold2") == pytest.approx(0.63)
    with pytest.raises(TrnetError, match=r"partial/fold3: training not finished \(no \.done\)"):
        fold_dev_uar(exp / "partial" / "fold3")
    for text, why in [
        ("best_epoch 3\n", "records no dev_uar"),
        ("dev_uar nan\n", "dev_uar 'nan' is not a UAR in [0, 1]"),
        ("dev_uar 1.5\n", "dev_uar '1.5' is not a UAR in [0, 1]"),
        ("dev_uar 0.5 0.6\n", "dev_uar '0.5 0.6' is not a UAR in [0, 1]"),
    ]:
        done(tmp_path / "bad" / "fold1", text)
        with pytest.raises(TrnetError) as err:
            fold_dev_uar(tmp_path / "bad" / "fold1")
        assert str(err.value) == f"{tmp_path / 'bad' / 'fold1' / '.done'}: {why}"


def test_table_means_and_paired_intervals(tmp_path: Path) -> None:
    exp = make_exp(tmp_path)
    uars, folds = read_dev_uars(exp, ["trnet", "trnet_abl_x", "baseline_egemaps", "partial"])
    assert folds == [1, 2, 3, 4, 5] and sorted(uars["partial"]) == [1, 2, 4, 5]
    table = dev_table(uars, folds, "trnet")
    rows = {row[0]: dict(zip(table.header, row, strict=True)) for row in table.rows}
    assert [row[0] for row in table.rows] == ["trnet", "trnet_abl_x", "baseline_egemaps", "partial"]
    assert rows["trnet"]["mean"] == "70.00" and rows["trnet"]["Δ vs trnet"] == "ref"
    assert rows["trnet_abl_x"]["fold3"] == "83.00" and rows["trnet_abl_x"]["mean"] == "72.00"
    mean, lo, hi = interval([b - r for b, r in zip(BETTER, REF, strict=True)])
    assert rows["trnet_abl_x"]["Δ vs trnet"] == f"{mean:+.2f} †" and lo > 0  # beyond the spread
    assert rows["trnet_abl_x"]["95% t interval"] == f"[{lo:+.2f}, {hi:+.2f}]"
    mean, lo, hi = interval([s - r for s, r in zip(SAME, REF, strict=True)])
    assert rows["baseline_egemaps"]["Δ vs trnet"] == f"{mean:+.2f}" and lo < 0 < hi
    assert rows["baseline_egemaps"]["95% t interval"] == f"[{lo:+.2f}, {hi:+.2f}]"
    partial = rows["partial"]  # paired on the four folds both finished
    assert partial["fold3"] == "-" and partial["folds"] == "4/5"
    assert (
        partial["paired folds"] == "4"
        and partial["mean"] == f"{100 * np.mean([BETTER[k] for k in (0, 1, 3, 4)]):.2f}"
    )
    mean, lo, hi = interval([BETTER[k] - REF[k] for k in (0, 1, 3, 4)])
    assert partial["95% t interval"] == f"[{lo:+.2f}, {hi:+.2f}]"
    two = dev_table(read_dev_uars(exp, ["trnet", "trnet_abl_x"], [1, 2])[0], [1, 2], "trnet")
    assert two.rows[1][-3:] == ["+1.50", "-", "2"]  # two folds give no interval


def test_command_prints_and_writes_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    exp = make_exp(tmp_path)
    args = ["dev-table", exp, "--systems", "trnet_abl_x baseline_egemaps"]
    result = run_main(args, monkeypatch, capsys)
    assert result.code == 0, result.stderr
    assert "trnet_abl_x" in result.stdout and "Δ vs trnet" in result.stdout
    assert f"wrote {exp / 'dev_table.tsv'} and {exp / 'dev_table.md'}" in result.stdout
    tsv = (exp / "dev_table.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in tsv] == [
        "system",
        "trnet",
        "trnet_abl_x",
        "baseline_egemaps",
    ]  # the reference first: added, not named
    md = (exp / "dev_table.md").read_text()
    assert "| trnet_abl_x | 71.00 | 62.00 | 83.00 | 67.00 | 77.00 | 72.00 | 5/5 |" in md
    assert not list(exp.glob(".lock*"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--systems", "../trnet"], "'../trnet': not a system name (a dir name under"),
        (["--systems", "nothing"], "nothing: no such system dir"),
        (["--systems", "trnet", "--ref", "x/y"], "'x/y': not a system name"),
        (["--systems", "trnet", "--folds", "1 two"], "--folds: expected fold numbers, got"),
        (["--systems", "partial", "--ref", "bad"], "bad/fold1/.done: records no dev_uar"),
        (["--systems", " "], "--systems: no system named"),
    ],
)
def test_bad_input_is_one_line(
    extra: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Capture,
) -> None:
    exp = make_exp(tmp_path)
    done(exp / "bad" / "fold1", "best_epoch 3\n")
    result = run_main(["dev-table", exp, *extra], monkeypatch, capsys)
    assert result.code == 1 and message in result.error_line
    assert not (exp / "dev_table.tsv").exists()
