"""The whole recipe, stages 0-6, on a tiny GENERATED corpus, in a scratch recipe folder.

Quality is not the point here (epochs are cut to the bone); the point is that every stage
runs from the previous one's outputs, that those outputs validate, that a rerun skips what
is done, and that the scores come out in range.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from trnet.data.validate import validate
from trnet.scoring.decode_dir import find_decode_dirs

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "egs" / "iemocap"
SYSTEMS = "baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"


def _fast_confs(src: Path, dst: Path) -> None:
    """The slim configs with a handful of epochs (this test checks plumbing, not accuracy)."""
    dst.mkdir(parents=True)
    for path in src.glob("*.yaml"):
        conf = yaml.safe_load(path.read_text())
        if path.name == "se.yaml":
            conf["train"].update(epochs=1, steps_per_epoch=5, dev_size=4)
        else:
            conf["train"].update(max_epochs=2)
        (dst / path.name).write_text(yaml.safe_dump(conf))


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A recipe folder whose files link to egs/iemocap, run once through stages 0-6."""
    work = tmp_path_factory.mktemp("egs") / "iemocap"
    work.mkdir()
    for entry in RECIPE.iterdir():
        if entry.name not in {"conf", "data", "dump", "exp", "db", "downloads"}:
            (work / entry.name).symlink_to(entry.resolve())
    _fast_confs(RECIPE / "conf" / "slim", work / "conf" / "fast")
    env = {**os.environ, "PATH": f"{ROOT / 'tools' / 'venv' / 'bin'}:{os.environ['PATH']}"}
    args = [
        "./run.sh",
        "--corpus_size",
        "tiny",
        "--folds",
        "1",
        "--snrs",
        "10 0",
        "--nj",
        "1",
        "--conf_dir",
        "conf/fast",
        "--systems",
        SYSTEMS,
    ]
    done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (work / "first_run.log").write_text(done.stdout)
    again = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    (work / "second_run.log").write_text(again.stdout)
    return work


@pytest.fixture
def in_recipe(recipe, monkeypatch) -> Path:
    """The recipe folder as cwd: scp and wav.scp paths are relative to it, as in Kaldi."""
    monkeypatch.chdir(recipe)
    return recipe


def test_stage0_data_dir_and_folds_validate(in_recipe):
    recipe = in_recipe
    assert validate(recipe / "data" / "iemocap") == []
    corpus = json.loads((recipe / "data" / "iemocap" / "corpus.json").read_text())
    assert corpus["generated"] is True
    for role in ("train", "dev", "test"):
        assert validate(recipe / "data" / "folds" / "speaker" / "fold1" / role) == []


def test_stage2_and_3_write_every_condition_and_its_enhanced_twin(in_recipe):
    recipe = in_recipe
    dump = recipe / "dump" / "iemocap"
    conditions = ["clean"] + [
        f"{noise}_{snr}"
        for noise in ("esc50_train", "esc50_dev", "esc50", "musan")
        for snr in (10, 0)
    ]
    n_utts = len((recipe / "data" / "iemocap" / "utt2spk").read_text().splitlines())
    for cond in conditions:
        for name in (cond, f"{cond}_enh"):
            assert validate(dump / name, check_audio=False) == [], name
            feats = (dump / name / "feats.scp").read_text().splitlines()
            assert len(feats) == n_utts, name
    assert (recipe / "exp" / "se" / "scores.json").is_file()


def test_stage4_to_6_every_system_decoded_and_scored_in_range(in_recipe):
    recipe = in_recipe
    for system in SYSTEMS.split():
        assert (recipe / "exp" / system / "fold1" / ".done").is_file(), system
        decode_dirs = find_decode_dirs(recipe / "exp" / system / "decode")
        assert len(decode_dirs) == 5, system  # clean + {esc50, musan} x {10, 0}
        for d in decode_dirs:
            scores = json.loads((d / "scores.json").read_text())
            assert 0.0 <= scores["uar"] <= 1.0 and 0.0 <= scores["war"] <= 1.0
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert "GENERATED" in results
    assert all(system in results for system in SYSTEMS.split())
    assert any((recipe / "exp" / "figures").glob("*.png"))


def test_a_second_run_redoes_nothing(in_recipe):
    recipe = in_recipe
    log = (recipe / "second_run.log").read_text()
    assert "already complete" in log or "skipped" in log
    assert "SE epoch" not in log and "epoch 1" not in log


def test_generated_corpus_defaults_to_the_slim_configs(tmp_path):
    """No --conf_dir: the generated corpus gets conf/slim (paper-size configs need a GPU)."""
    work = tmp_path / "iemocap"
    work.mkdir()
    for entry in RECIPE.iterdir():
        if entry.name not in {"data", "dump", "exp", "db", "downloads"}:
            (work / entry.name).symlink_to(entry.resolve())
    env = {**os.environ, "PATH": f"{ROOT / 'tools' / 'venv' / 'bin'}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["./run.sh", "--stage", "7"], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "configs conf/slim," in done.stdout
    real = subprocess.run(
        ["./run.sh", "--stage", "7", "--iemocap_root", "/data/IEMOCAP"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "configs conf," in real.stdout
