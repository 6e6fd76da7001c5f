"""`trnet score` / `trnet compare` on decode dirs built by hand, checked against hand counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trnet.cli import app
from trnet.contract import CLASSES, snr_value, split_condition
from trnet.errors import TrnetError
from trnet.io import write_kv
from trnet.scoring.bootstrap import compare_to_reference
from trnet.scoring.decode_dir import load_all
from trnet.scoring.tables import aggregate

runner = CliRunner()


def make_decode(
    root: Path,
    system: str,
    condition: str,
    fold: int,
    ref: dict[str, str],
    hyp: dict[str, str],
    generated: bool = False,
) -> Path:
    """A decode dir in docs/formats.md's layout (posteriors one-hot on the hyp)."""
    path = root / system / "decode" / condition / f"fold{fold}"
    path.mkdir(parents=True)
    write_kv(path / "ref", ref)
    write_kv(path / "hyp", hyp)
    (path / "classes").write_text("\n".join(CLASSES) + "\n")
    write_kv(
        path / "posteriors",
        {u: " ".join("1.0" if c == h else "0.0" for c in CLASSES) for u, h in hyp.items()},
    )
    noise, snr = split_condition(condition)
    info = {
        "system": system,
        "fold": fold,
        "condition": condition,
        "noise": noise,
        "snr": snr_value(snr),
        "corpus": "iemocap",
        "generated": generated,
    }
    (path / "info.json").write_text(json.dumps(info))
    return path


def labels(*classes: str, prefix: str = "u") -> dict[str, str]:
    return {f"{prefix}{i:02d}": c for i, c in enumerate(classes)}


def invoke(*args: str):
    return runner.invoke(app, [*args], env={"COLUMNS": "200"})


def test_perfect_prediction_scores_one_and_writes_files(tmp_path):
    ref = labels("ang", "hap", "neu", "sad", "sad")
    path = make_decode(tmp_path, "trnet", "esc50_0", 1, ref, ref)
    result = invoke("score", str(path))
    assert result.exit_code == 0, result.output
    scores = json.loads((path / "scores.json").read_text())
    assert scores["uar"] == scores["war"] == scores["macro_f1"] == 1.0
    assert scores["n"] == 5 and scores["per_class"]["sad"]["support"] == 2
    summary = (path / "summary").read_text().strip()
    assert summary == f"{path} N=5 UAR=100.00 WAR=100.00 F1=100.00"
    assert summary in result.output.replace("\n", "")
    lines = (path / "confusion.tsv").read_text().splitlines()
    assert lines[1].split("\t")[:5] == ["ang", "1", "0", "0", "0"]
    assert lines[4].split("\t")[:5] == ["sad", "0", "0", "0", "2"]


def test_nan_posteriors_are_refused_not_scored(tmp_path):
    """A decode of a diverged model: NaN posteriors, hyp 'ang' (their argmax) everywhere;
    scoring it said UAR 25."""
    ref = labels("ang", "hap", "neu", "sad")
    path = make_decode(tmp_path, "trnet", "clean", 1, ref, dict.fromkeys(ref, "ang"))
    write_kv(path / "posteriors", dict.fromkeys(ref, "nan nan nan nan"))
    with pytest.raises(TrnetError) as err:
        load_all([tmp_path])
    assert str(err.value) == (
        f"{path / 'posteriors'}: u00: NaN or infinite posteriors (nan nan nan nan); not scored"
    )
    assert not (path / "scores.json").exists()


def test_nan_posteriors_through_the_cli(tmp_path, monkeypatch, capsys):
    from cli_main import run_main

    ref = labels("ang", "hap", "neu", "sad")
    path = make_decode(tmp_path, "trnet", "clean", 1, ref, dict.fromkeys(ref, "ang"))
    write_kv(path / "posteriors", {**dict.fromkeys(ref, "0.1 0.2 0.3 0.4"), "u02": "0 inf 0 0"})
    outcome = run_main(["score", path], monkeypatch, capsys)
    assert outcome.code == 1
    assert outcome.error_line == (
        f"{path / 'posteriors'}: u02: NaN or infinite posteriors (0 inf 0 0); not scored"
    )
    assert not (path / "scores.json").exists()


def test_all_one_class_gives_one_over_classes_present(tmp_path):
    # 3 classes present in ref (no sad): predicting all ang recalls ang only -> UAR 1/3
    ref = labels("ang", "ang", "hap", "neu", "neu", "neu")
    path = make_decode(tmp_path, "trnet", "clean", 1, ref, dict.fromkeys(ref, "ang"))
    assert invoke("score", str(path)).exit_code == 0
    scores = json.loads((path / "scores.json").read_text())
    assert scores["uar"] == pytest.approx(1 / 3)
    assert scores["war"] == pytest.approx(2 / 6)
    assert scores["per_class"]["sad"]["recall"] is None


def test_known_confusion_through_the_cli(tmp_path):
    # the matrix of test_metrics: ang 3/4, hap 1/2, neu 2/2, sad 0/2
    ref = labels("ang", "ang", "ang", "ang", "hap", "hap", "neu", "neu", "sad", "sad")
    hyp = labels("ang", "ang", "ang", "hap", "hap", "neu", "neu", "neu", "neu", "neu")
    path = make_decode(tmp_path, "trnet", "clean", 1, ref, hyp)
    assert invoke("score", str(path)).exit_code == 0
    scores = json.loads((path / "scores.json").read_text())
    # precision: ang 3/3, hap 1/2, neu 2/5, sad 0 (never predicted)
    # F1: ang 2*1*.75/1.75=6/7, hap 2*.5*.5/1=.5, neu 2*.4*1/1.4=4/7, sad 0
    assert scores["macro_f1"] == pytest.approx((6 / 7 + 0.5 + 4 / 7 + 0) / 4)
    assert (path / "summary").read_text().split()[1:] == [
        "N=10",
        "UAR=56.25",
        "WAR=60.00",
        "F1=48.21",
    ]


def _two_folds(root: Path, system: str = "trnet") -> None:
    # fold1: ang ang hap neu -> hyp ang hap hap neu: ang 1/2 hap 1 neu 1 -> UAR 5/6, WAR 3/4
    make_decode(
        root, system, "esc50_0", 1, labels("ang", "ang", "hap", "neu"),
        labels("ang", "hap", "hap", "neu"),
    )  # fmt: skip
    # fold2: sad sad -> hyp sad ang : recall sad 1/2 -> UAR 1/2, WAR 1/2
    make_decode(root, system, "esc50_0", 2, labels("sad", "sad", prefix="v"),
                labels("sad", "ang", prefix="v"))  # fmt: skip


def test_folds_mean_std_and_pooled_by_hand(tmp_path):
    _two_folds(tmp_path)
    make_decode(tmp_path, "trnet", "clean", 1, labels("ang", "hap"), labels("ang", "hap"))
    result = invoke("score", str(tmp_path / "trnet"))
    assert result.exit_code == 0, result.output
    grid = json.loads((tmp_path / "trnet" / "decode" / "scores_grid.json").read_text())
    cell = grid["conditions"]["esc50_0"]
    assert cell["uar"]["per_fold"] == pytest.approx([5 / 6, 1 / 2])
    assert cell["uar"]["fold_mean"] == pytest.approx(2 / 3)
    assert cell["uar"]["fold_std"] == pytest.approx(1 / 6)  # population std of {5/6, 1/2}
    # pooled: ang 1/2, hap 1, neu 1, sad 1/2 -> UAR 3/4; WAR 4/6
    assert cell["uar"]["pooled"] == pytest.approx(0.75)
    assert cell["war"]["fold_mean"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert cell["war"]["pooled"] == pytest.approx(4 / 6)
    tsv = (tmp_path / "trnet" / "decode" / "scores_grid.tsv").read_text()
    assert "trnet\tesc50_0\tesc50\t0\t1,2\t6\t66.67\t16.67\t75.00\t62.50\t12.50\t66.67" in tsv
    assert "66.67 ± 16.67" in result.output and "pooled over folds" in result.output


def _population(rng, n: int, acc: tuple[float, float, float, float]):
    ref = rng.integers(0, 4, n)
    right = rng.random(n) < np.asarray(acc)[ref]
    hyp = np.where(right, ref, (ref + 1) % 4)
    return ref, hyp


def test_bootstrap_ci_holds_true_difference_and_is_seeded(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    ref, hyp_a = _population(rng, n, (0.8, 0.7, 0.75, 0.65))  # true UAR 0.725
    right_b = rng.random(n) < np.asarray((0.6, 0.55, 0.6, 0.45))[ref]  # true UAR 0.55
    hyp_b = np.where(right_b, ref, (ref + 2) % 4)
    ref_t = {f"u{i:03d}": CLASSES[k] for i, k in enumerate(ref)}
    for system, hyp in (("good", hyp_a), ("weak", hyp_b)):
        hyp_t = {f"u{i:03d}": CLASSES[k] for i, k in enumerate(hyp)}
        make_decode(tmp_path, system, "esc50_5", 1, ref_t, hyp_t)
    dirs = load_all([tmp_path])
    good = [d for d in dirs if d.system == "good"]
    weak = [d for d in dirs if d.system == "weak"]
    diff = compare_to_reference(good, weak, [], n_boot=1000, seed=3)["esc50_5"]
    assert diff.low < 0.725 - 0.55 < diff.high
    assert diff.low < diff.delta < diff.high and diff.significant
    same = compare_to_reference(good, weak, [], n_boot=1000, seed=3)["esc50_5"]
    assert same == diff
    assert compare_to_reference(good, weak, [], n_boot=1000, seed=4)["esc50_5"] != diff
    # against itself the difference is exactly zero on every resample
    self_diff = compare_to_reference(good, good, [], n_boot=200, seed=3)["esc50_5"]
    assert self_diff.low == self_diff.high == self_diff.delta == 0


def test_compare_table_marks_best_and_writes_files(tmp_path):
    _two_folds(tmp_path, "trnet")
    make_decode(tmp_path, "baseline_noisy", "esc50_0", 1, labels("ang", "ang", "hap", "neu"),
                labels("hap", "hap", "hap", "neu"))  # fmt: skip
    make_decode(tmp_path, "baseline_noisy", "esc50_0", 2, labels("sad", "sad", prefix="v"),
                labels("sad", "ang", prefix="v"))  # fmt: skip
    result = invoke(
        "compare", str(tmp_path / "baseline_noisy"), str(tmp_path / "trnet"),
        "--ref", "baseline_noisy", "--n-boot", "200", "--out", str(tmp_path / "cmp"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    md = (tmp_path / "cmp.md").read_text()
    # baseline_noisy fold1: ang 0/2 hap 1 neu 1 -> 2/3; fold2 1/2 -> mean 58.33; trnet 66.67
    assert "| baseline_noisy | 58.33 | 58.33 |" in md
    assert "| trnet | **66.67** | **66.67** |" in md
    assert "UAR difference to baseline_noisy" in md and "| trnet | +8.33 [" in md
    assert (tmp_path / "cmp.tsv").read_text().startswith("# UAR (%)")


def test_compare_names_one_system_from_two_recipe_folders(tmp_path):
    """--names: the same system (trnet) decoded in two folders, compared fold by fold as
    'before' and 'after'; without names the two are one system seen twice (an error), and
    a name list that does not fit the dirs is one line."""
    _two_folds(tmp_path / "a", "trnet")
    make_decode(tmp_path / "b", "trnet", "esc50_0", 1, labels("ang", "ang", "hap", "neu"),
                labels("ang", "ang", "hap", "neu"))  # fmt: skip
    make_decode(tmp_path / "b", "trnet", "esc50_0", 2, labels("sad", "sad", prefix="v"),
                labels("sad", "sad", prefix="v"))  # fmt: skip
    dirs = [str(tmp_path / "a" / "trnet"), str(tmp_path / "b" / "trnet")]
    out = ["--n-boot", "200", "--out", str(tmp_path / "cmp")]
    result = invoke("compare", *dirs, "--names", "before after", "--ref", "before", *out)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "cmp.md").read_text()
    # before: fold1 5/6, fold2 1/2 -> 66.67; after: 100 on both folds
    assert "| before | 66.67 |" in md and "| after | **100.00** |" in md
    assert "| after | +33.33 ± 23.57 |" in md  # fold differences +16.67 and +50.00
    assert invoke("compare", *dirs, *out).exit_code == 1  # one system twice
    bad = invoke("compare", *dirs, "--names", "before", *out)
    assert "--names: one distinct name per dir" in str(bad.exception)


BAD_CASES = {
    "no_decode": "no decode dirs found",
    "missing": "hyp covers 2/3 utterances of ref; missing e.g. u02",
    "extra": "1 utterance(s) not in ref, e.g. zz",
    "bad_class": "class 'fru' of u01 not in classes (ang hap neu sad)",
    "empty": "empty test set",
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_one_line_error(tmp_path, case):
    ref = labels("ang", "hap", "sad")
    target = tmp_path / "nothing"
    target.mkdir()
    if case == "missing":
        target = make_decode(tmp_path, "s", "clean", 1, ref, {"u00": "ang", "u01": "hap"})
    elif case == "extra":
        target = make_decode(tmp_path, "s", "clean", 1, ref, {**ref, "zz": "ang"})
    elif case == "bad_class":
        target = make_decode(tmp_path, "s", "clean", 1, ref, {**ref, "u01": "fru"})
    elif case == "empty":
        target = make_decode(tmp_path, "s", "clean", 1, {}, {})
    result = invoke("score", str(target))
    assert result.exit_code == 1
    assert isinstance(result.exception, TrnetError)
    message = str(result.exception)
    assert BAD_CASES[case] in message and "\n" not in message
    assert not (target / "scores.json").exists()


def test_allow_partial_scores_overlap_and_says_so(tmp_path):
    ref = labels("ang", "hap", "sad")
    path = make_decode(tmp_path, "s", "clean", 1, ref, {"u00": "ang", "u01": "neu"})
    result = invoke("score", str(path), "--allow-partial")
    assert result.exit_code == 0, result.output
    assert (path / "summary").read_text().split()[1:] == [
        "N=2",
        "UAR=50.00",
        "WAR=50.00",
        "F1=50.00",
        "PARTIAL=2/3",
    ]


def test_aggregate_rejects_nothing_and_orders_folds(tmp_path):
    _two_folds(tmp_path)
    cells = aggregate(load_all([tmp_path / "trnet" / "decode" / "esc50_0"]))
    assert cells["esc50_0"].folds == ["1", "2"]
    assert cells["esc50_0"].confusion.sum() == 6


def test_the_one_condition_parser_reads_every_name_mix_writes():
    """``split_condition`` inverts ``format_condition`` (``%g`` SNRs, negative and exponent
    forms, noise sets with ``_`` in their name) and ``condition_name``; anything else is
    refused, as decode refuses it on ``--conditions``."""
    from trnet.contract import condition_name, format_condition

    for noise, snr, value in [
        ("esc50", 10.0, 10),
        ("esc50_train", -5.0, -5),
        ("musan", 2.5, 2.5),
        ("babble", 1e6, 1000000),
        ("white", 1e-5, 1e-05),
    ]:
        name = format_condition(noise, snr)
        assert split_condition(name) == (noise, name.rpartition("_")[2])
        assert condition_name(*split_condition(name)) == name
        assert snr_value(split_condition(name)[1]) == value
    assert split_condition("clean") == ("clean", "clean") and snr_value("clean") is None
    for bad in ("musan", "esc50_", "_10", "esc50_ten", "esc50_inf", "esc50_+5"):
        with pytest.raises(TrnetError, match="is neither clean nor <noise>_<snr>"):
            split_condition(bad)
