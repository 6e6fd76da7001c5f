"""``trnet plan`` (trnet/plan.py): what the recipe's shell asks instead of reading YAML and
JSON itself: the training order, what each system trains on, whether a trained system can
be packaged and which one stage 7 packages, a package's fold. On the recipes' real config
sets (paper size, slim, cpu)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from cli_main import run_main

from trnet.commands.plan import FIELDS
from trnet.train.config import config_to_dict, load_config

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "egs" / "TEMPLATE" / "ser1" / "conf"
Capture = pytest.CaptureFixture[str]
PAPER = "baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"
# the six systems of the paper in every set: kind, input, needs_se, deps (tab-separated)
SIX = (
    "baseline_clean\tdeep\tnoisy\tfalse\t\n"
    "baseline_noisy\tdeep\tnoisy\tfalse\t\n"
    "baseline_enhanced\tdeep\tenhanced\ttrue\t\n"
    "trnet\tdeep\tblend\ttrue\tbaseline_clean\n"
    "trnet_wo_low\tdeep\tblend\ttrue\tbaseline_clean\n"
    "trnet_wo_high\tdeep\tblend\ttrue\t\n"
)
INWARD = "trnet_inward\tdeep\tblend\ttrue\tbaseline_clean\n"  # slim only
EGEMAPS = "baseline_egemaps\tegemaps_svm\tnoisy\tfalse\t\n"  # cpu only
NEEDS = "trnet plan needs --conf-dir and --systems"


@pytest.mark.parametrize(
    ("conf_dir", "systems", "table"),
    [
        (CONF, PAPER, SIX),
        (CONF / "slim", f"{PAPER} trnet_inward", SIX + INWARD),
        (CONF / "cpu", f"{PAPER} baseline_egemaps", SIX + EGEMAPS),
        # another recipe's conf links to the shared set: the same answers through the link
        (ROOT / "egs" / "iemocap" / "conf" / "cpu", PAPER, SIX),
    ],
)  # fmt: skip
def test_plan_of_the_recipe_config_sets(
    conf_dir: Path, systems: str, table: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    base = ["plan", "--conf-dir", conf_dir, "--systems", systems]
    done = run_main(base, monkeypatch, capsys)
    assert (done.code, done.stdout) == (0, table)
    done = run_main([*base, "--json"], monkeypatch, capsys)
    plan = json.loads(done.stdout)
    assert plan["order"] == systems.split()  # baseline_clean, which TRNet reads, comes first
    assert plan["systems"]["trnet"] == {
        "config": str(conf_dir / "trnet.yaml"),
        "kind": "deep",
        "input": "blend",
        "needs_se": True,
        "deps": ["baseline_clean"],
        "train_corruptions": [],
    }
    # what stage 4 asks: a system after the one its config points at, the others in order
    done = run_main([*base[:-1], "trnet_wo_high trnet baseline_noisy", "--field", "order"],
                    monkeypatch, capsys)  # fmt: skip
    assert done.stdout == "trnet_wo_high baseline_clean trnet baseline_noisy\n"
    done = run_main([*base[:-1], "trnet", "--field", "needs_se"], monkeypatch, capsys)
    assert done.stdout == "true\n"  # one system: the bare value
    done = run_main([*base[:-1], "trnet baseline_noisy", "--field", "input"], monkeypatch, capsys)
    assert done.stdout == "trnet\tblend\nbaseline_noisy\tnoisy\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_deps_and_order_see_a_dependency_written_in_the_defaults_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """Configs are read, not validated, for the order: a dependency anywhere in the merged
    YAML (keys and values, the defaults file's included), in order, once each."""
    _write(tmp_path / "_base.yaml", "loss:\n  z_clean_from: exp/clean_a/fold{fold}  # exp/no/\n")
    own = "defaults: _base.yaml\nmodel:\n  note: [exp/other/x, exp/clean_a/y]\n"
    _write(tmp_path / "mine.yaml", own)
    _write(tmp_path / "clean_a.yaml", "system: clean_a\n")
    _write(tmp_path / "other.yaml", "loss:\n  z_clean_from: exp/clean_a/fold1\n")
    base = ["plan", "--conf-dir", tmp_path, "--systems"]
    done = run_main([*base, "mine", "--field", "deps"], monkeypatch, capsys)
    assert (done.code, done.stdout) == (0, "clean_a other\n")
    done = run_main([*base, "mine other", "--field", "deps"], monkeypatch, capsys)
    assert done.stdout == "mine\tclean_a other\nother\tclean_a\n"
    done = run_main([*base, "mine", "--field", "order"], monkeypatch, capsys)
    assert done.stdout == "clean_a other mine\n"
    done = run_main([*base, "gone", "--field", "order"], monkeypatch, capsys)
    assert done.code == 1 and done.error_line == f"{tmp_path / 'gone.yaml'}: no such system config"


def test_a_dependency_cycle_is_one_line_naming_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    for name, other in (("a", "b"), ("b", "c"), ("c", "b")):
        _write(tmp_path / f"{name}.yaml", f"loss:\n  z_clean_from: exp/{other}/fold1\n")
    args = ["plan", "--conf-dir", tmp_path, "--systems", "a", "--field", "order"]
    done = run_main(args, monkeypatch, capsys)
    assert done.code == 1
    assert done.error_line == f"{tmp_path}: configs depend on each other (a b c b)"


def test_a_wrong_key_is_named_when_the_config_is_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    text = (CONF / "slim" / "_base.yaml").read_text().replace("  hidden: 32\n", "  hiden: 32\n")
    _write(tmp_path / "_base.yaml", text)
    _write(tmp_path / "mine.yaml", (CONF / "slim" / "baseline_noisy.yaml").read_text())
    done = run_main(["plan", "--conf-dir", tmp_path, "--systems", "mine"], monkeypatch, capsys)
    assert done.code == 1 and "model: unknown key(s) hiden" in done.error_line


def _trained(exp: Path, system: str, fold: int, conf: str = "slim", **changes: dict) -> None:
    """``exp/<system>/fold<fold>/config.yaml`` as training writes it for ``conf``'s TRNet."""
    cfg = load_config(CONF / conf / "trnet.yaml")
    for section, values in changes.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)
    _write(exp / system / f"fold{fold}" / "config.yaml", yaml.safe_dump(config_to_dict(cfg)))


def test_export_field_reads_what_the_folds_were_trained_as(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """Every kind of trnet packages (hybrids and ensembles too); a kind registered without an
    export hook is named."""
    from nearest_mean import NearestMean

    from trnet.systems.registry import KINDS, register_kind

    exp = tmp_path / "exp"
    _trained(exp, "trnet", 1)
    _trained(exp, "hybrid", 2, "cpu")  # the cpu set's TRNet fuses eGeMAPS functionals
    _trained(exp, "ensemble", 1, train={"ensemble": 3})
    plain = {"system": "toy", "model": {"kind": "nearest_mean"}, "data": {"snrs": [10]}}
    _write(exp / "toy" / "fold2" / "config.yaml", yaml.safe_dump(plain))
    base = ["plan", "--exp", exp, "--folds", "1 2", "--field", "export", "--systems"]
    kind = register_kind(NearestMean()).kind
    try:
        done = run_main([*base, "trnet hybrid ensemble toy untrained"], monkeypatch, capsys)
        assert done.code == 0
        assert done.stdout == (
            "trnet\t\nhybrid\t\nensemble\t\n"
            "toy\ta nearest_mean system (its kind has no export hook)\nuntrained\t\n"
        )
        done = run_main([*base[:4], "1", *base[5:], "toy"], monkeypatch, capsys)
        assert done.stdout == "\n"  # fold 2, the toy one, not asked for
    finally:
        del KINDS[kind]
    done = run_main([*base[:4], "1 x", *base[5:], "hybrid"], monkeypatch, capsys)
    assert done.code == 1 and done.error_line == "--folds: expected fold numbers, got '1 x'"


def _done(exp: Path, system: str, uars: dict[int, float], ensemble: int = 1) -> None:
    """Each fold's ``.done`` as training writes it (an ensemble fold: its members' mean)."""
    for fold, uar in uars.items():
        head = f"ensemble {ensemble}" if ensemble > 1 else "best_epoch 3"
        _write(exp / system / f"fold{fold}" / ".done", f"{head}\ndev_uar {uar:.6f}\n")


def test_best_field_picks_the_best_mean_dev_uar_over_the_dev_conditions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """Stage 7's choice: the best mean over the folds of each fold's dev UAR, ensembles,
    hybrids and the SVM included; Baseline-c's dev UAR (clean dev speech only) is not
    compared with the others' (clean and noisy); a system not trained on every fold is out;
    --systems naming one system (--export_system) picks it."""
    from trnet.classic.svm import dump_svm_config, load_svm_config

    exp = tmp_path / "exp"
    folds = {"hybrid": (0.60, 0.80), "noisy": (0.70, 0.66), "ens": (0.72, 0.73)}
    for system, uars in folds.items():
        for fold in (1, 2):
            _trained(exp, system, fold, "cpu", train={"ensemble": 3 if system == "ens" else 1})
        _done(exp, system, dict(enumerate(uars, 1)), 3 if system == "ens" else 1)
    for fold in (1, 2):
        _trained(exp, "clean", fold, "cpu", data={"snrs": []})
        svm = dump_svm_config(load_svm_config(CONF / "cpu" / "baseline_egemaps.yaml"))
        _write(exp / "svm" / f"fold{fold}" / "config.yaml", svm)
    _done(exp, "clean", {1: 0.95, 2: 0.93})
    _done(exp, "svm", {1: 0.70, 2: 0.70})
    _trained(exp, "half", 1, "cpu")
    _done(exp, "half", {1: 0.99})
    systems = "clean svm hybrid noisy ens half"
    base = ["plan", "--exp", exp, "--folds", "1 2", "--systems"]
    done = run_main([*base, systems, "--field", "best"], monkeypatch, capsys)
    assert (done.code, done.stdout) == (0, "ens\n")
    done = run_main([*base, systems, "--field", "dev_uar"], monkeypatch, capsys)
    lines = dict(line.split("\t") for line in done.stdout.splitlines())
    assert lines["clean"].startswith("- (dev UAR on clean only, not on every dev condition")
    assert lines["half"] == "- (fold 2 not trained)"
    assert (lines["svm"], lines["hybrid"], lines["noisy"], lines["ens"]) == (
        "0.7000", "0.7000", "0.6800", "0.7250",
    )  # fmt: skip
    done = run_main([*base, "svm hybrid noisy", "--field", "best"], monkeypatch, capsys)
    assert done.stdout == "svm\n"  # a tie: the first named
    done = run_main([*base, "clean", "--field", "best"], monkeypatch, capsys)
    assert done.stdout == "clean\n"  # --export_system baseline_clean
    done = run_main([*base, "half untrained", "--field", "best"], monkeypatch, capsys)
    assert done.code == 1 and done.error_line == (
        f"{exp}: no system to package (half: fold 2 not trained; untrained: fold 1 not trained)"
    )
    as_json = json.loads(run_main([*base, systems, "--json"], monkeypatch, capsys).stdout)
    assert as_json["best"] == "ens"
    assert as_json["systems"]["noisy"]["dev_uar"] == pytest.approx(0.68)


def test_fold_field_reads_a_verified_package_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    from trnet.bench import untrained_package

    cfg = load_config(CONF / "slim" / "baseline_noisy.yaml")
    pkg = untrained_package(tmp_path / "pkg", cfg, None)
    done = run_main(["plan", "--package", pkg, "--field", "fold"], monkeypatch, capsys)
    assert (done.code, done.stdout) == (0, "0\n")
    card = json.loads((pkg / "card.json").read_text())
    (pkg / "card.json").write_text(json.dumps({**card, "fold": 3}))
    done = run_main(["plan", "--package", pkg, "--field", "fold"], monkeypatch, capsys)
    assert done.code == 1 and done.error_line.startswith(f"{pkg / 'card.json'}: checksum")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--field", "nope"], f"--field: one of {', '.join(FIELDS)}, got 'nope'"),
        (["--systems", "trnet"], NEEDS),
        (["--field", "fold"], "--field fold needs --package"),
        (["--field", "export", "--systems", "trnet"],
         "--field export needs --systems, --exp and --folds"),
        (["--field", "best", "--systems", "trnet"],
         "--field best needs --systems, --exp and --folds"),
        (["--json"], f"{NEEDS}, --exp, --folds and --systems, --package or --se-config"),
        (["--json", "--field", "order"], "--field and --json: give one of them"),
        (["--field", "rev_corruptions"],
         "--field rev_corruptions needs --test-corruptions or --conf-dir and --systems"),
        (["--field", "test_corruptions"], "--field test_corruptions needs --test-corruptions"),
    ],
)  # fmt: skip
def test_missing_options_are_one_line(
    args: list[str], line: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    done = run_main(["plan", *args], monkeypatch, capsys)
    assert done.code == 1 and done.error_line == line


def _jobs(lines: str) -> list[tuple[str, int, str, list[int]]]:
    """``--field jobs`` as (system, fold, member, after: line numbers) rows."""
    rows = []
    for line in lines.splitlines():
        system, fold, member, after = line.split(" ")
        waits = [] if after == "-" else [int(a) for a in after.split(",")]
        rows.append((system, int(fold), member, waits))
    return rows


def test_jobs_field_of_the_cpu_set_with_ensemble_3(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """Stage 4 of egs/emodb (conf/cpu, --ensemble 3): a job per member of every deep fold,
    one per fold of the SVM (it trains one model); TRNet's and trnet_wo_low's members of
    fold F wait for every member of Baseline-c's fold F (its records are what they sign),
    nothing else waits; in training order, each job after the jobs it waits for."""
    systems = f"{PAPER} baseline_egemaps"
    args = ["plan", "--conf-dir", CONF / "cpu", "--systems", systems, "--folds", "1 2 3"]
    done = run_main([*args, "--ensemble", "3", "--field", "jobs"], monkeypatch, capsys)
    assert done.code == 0
    rows = _jobs(done.stdout)
    assert len(rows) == 6 * 3 * 3 + 3
    deep = [s for s in PAPER.split()]
    want_order = [(s, f, m) for s in deep for f in (1, 2, 3) for m in "012"]
    want_order += [("baseline_egemaps", f, "-") for f in (1, 2, 3)]
    assert [r[:3] for r in rows] == want_order
    clean = {
        f: [i + 1 for i, r in enumerate(rows) if r[:2] == ("baseline_clean", f)] for f in (1, 2, 3)
    }
    for line, (system, fold, _, after) in enumerate(rows, 1):
        assert after == (clean[fold] if system in ("trnet", "trnet_wo_low") else []), line
        assert all(a < line for a in after)
    # under torchrun (--whole-folds) and with --ensemble 1: one job per fold
    for more in (["--ensemble", "3", "--whole-folds"], ["--ensemble", "1"]):
        done = run_main([*args, *more, "--field", "jobs"], monkeypatch, capsys)
        rows = _jobs(done.stdout)
        assert [r[2] for r in rows] == ["-"] * 7 * 3
        trnet = [r[3] for r in rows if r[0] == "trnet"]
        assert trnet == [[1], [2], [3]]  # baseline_clean's folds, its lines 1-3


def test_jobs_field_of_the_slim_set_and_dependencies_by_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """conf/slim (ensemble 1 in its configs): one job per fold. A config pointing at one
    fixed fold of a system (no {fold}) waits for every fold of it."""
    args = ["plan", "--conf-dir", CONF / "slim", "--systems", "trnet baseline_noisy"]
    done = run_main([*args, "--folds", "1 2", "--field", "jobs"], monkeypatch, capsys)
    assert done.stdout == (
        "baseline_clean 1 - -\nbaseline_clean 2 - -\ntrnet 1 - 1\ntrnet 2 - 2\n"
        "baseline_noisy 1 - -\nbaseline_noisy 2 - -\n"
    )
    conf = shutil.copytree(CONF / "slim", tmp_path / "conf")
    trnet = (conf / "trnet.yaml").read_text().replace("fold{fold}", "fold1")
    (conf / "trnet.yaml").write_text(trnet)
    args = ["plan", "--conf-dir", conf, "--systems", "trnet", "--folds", "1 2"]
    done = run_main([*args, "--field", "jobs"], monkeypatch, capsys)
    want = "baseline_clean 1 - -\nbaseline_clean 2 - -\ntrnet 1 - 1,2\ntrnet 2 - 1,2\n"
    assert done.stdout == want
    done = run_main([*args[:-2], "--field", "jobs"], monkeypatch, capsys)
    assert (
        done.code == 1 and done.error_line == "--field jobs needs --conf-dir, --systems and --folds"
    )


def test_corruption_fields_stage2_writes_the_test_and_the_training_corruptions(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """Stage 2 asks which corruption conditions to write: --test_corruptions (bare kinds at
    their default level, full names as they are) then what the configs train on (their
    dependencies' too), each once; the reverberation ones need RIRs."""
    cpu = ["--conf-dir", CONF / "cpu"]

    def field(*args: object) -> str:
        done = run_main(["plan", *args], monkeypatch, capsys)
        assert done.code == 0, done.stderr
        return done.stdout

    tests = ["--test-corruptions", "clip rev-0.9 tel8k clip-0.1"]
    assert field(*tests, "--field", "test_corruptions") == "clip-0.1 rev-0.9 tel8k\n"
    systems = ["--systems", "trnet_corrupt baseline_egemaps"]
    assert field(*cpu, *systems, "--field", "train_corruptions") == (
        "trnet_corrupt\tclip-0.1 loss-0.1 mp3-24k rev-0.6 tel8k\nbaseline_egemaps\t\n"
    )
    assert field(*cpu, *systems, *tests, "--field", "corruptions") == (
        "clip-0.1 rev-0.9 tel8k loss-0.1 mp3-24k rev-0.6\n"
    )
    assert field(*cpu, *systems, *tests, "--field", "rev_corruptions") == "rev-0.9 rev-0.6\n"
    assert field(*tests, "--field", "rev_corruptions") == "rev-0.9\n"
    # the default run: no test corruptions, configs that draw none → nothing to write
    assert field("--conf-dir", CONF / "slim", "--systems", PAPER, "--field", "corruptions") == "\n"
    plan = json.loads(field(*cpu, "--systems", "baseline_noisy_corrupt", "--json"))
    assert plan["systems"]["baseline_noisy_corrupt"]["train_corruptions"][0] == "clip-0.1"


@pytest.mark.parametrize(
    ("words", "line"),
    [
        ("clip_0.05", "--test_corruptions: 'clip_0.05': a noise-set name may not begin"),
        ("musan_0", "--test_corruptions: 'musan_0' is not one corruption without noise"),
        ("rev-0.6+musan_10", "--test_corruptions: 'rev-0.6+musan_10' is not one corruption"),
        ("loss-1", "--test_corruptions: condition 'loss-1': 'loss-1': bad loss level"),
    ],
)
def test_a_bad_test_corruption_is_one_line(
    words: str, line: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    args = ["plan", "--test-corruptions", words, "--field", "corruptions"]
    done = run_main(args, monkeypatch, capsys)
    assert done.code == 1 and done.error_line.startswith(line), done.error_line
