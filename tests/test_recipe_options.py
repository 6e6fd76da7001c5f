"""The recipe's options and refusals, each on a scratch recipe folder of its own (no shared
run: test_recipe_e2e.py holds the tests of one whole run), so that pytest-xdist can run this
file beside that one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

from recipe_scratch import (
    ENV,
    OUTPUTS,
    RECIPE,
    ROOT,
    condition_per_key,
    fast_confs,
    scratch_recipe,
)


def test_generated_corpus_defaults_to_the_slim_configs(tmp_path):
    """No --conf_dir: the generated corpus gets conf/slim (paper-size configs need a GPU)."""
    work = scratch_recipe(RECIPE, tmp_path / "iemocap")
    env = ENV
    done = subprocess.run(
        ["./run.sh", "--stage", "7"], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "configs conf/slim," in done.stdout
    real = subprocess.run(
        ["./run.sh", "--stage", "7", "--corpus_root", "/data/IEMOCAP"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "configs conf," in real.stdout


def test_help_prints_every_option_with_the_value_in_force(tmp_path):
    """`run.sh --help`: each option of ser.sh once, with run.sh's corpus flags applied."""
    work = scratch_recipe(RECIPE, tmp_path / "iemocap")
    done = subprocess.run(["./run.sh", "--help"], cwd=work, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shown = dict(re.findall(r"^  --(\w+) +'([^']*)'", done.stdout, re.MULTILINE))
    script = (RECIPE / "ser.sh").read_text().split(". utils/parse_options.sh")[0]
    declared = re.findall(r"^([a-z_]+)=", script, re.MULTILINE)
    assert sorted(shown) == sorted(set(declared) - {"help_message"})
    assert shown["corpus"] == "iemocap" and shown["corpus_size"] == "small"
    assert shown["protocol"] == "session" and shown["snrs"] == "20 15 10 5 0"
    assert shown["corpus_root"] == "" and shown["stage"] == "0"


def test_a_missing_corpus_root_is_one_line_naming_the_option(tmp_path):
    work = scratch_recipe(ROOT / "egs" / "emodb", tmp_path / "emodb")
    env = {k: v for k, v in ENV.items() if k != "EMODB"}
    done = subprocess.run(["./run.sh"], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "--corpus_root" in done.stderr
    assert not (work / "data").exists()


def test_generated_noise_has_the_corpus_size_and_a_replaced_corpus_is_refused(tmp_path):
    """--noise_dir generated with a tiny generated corpus: stage 1 uses the corpus made by
    stage 0 (same size) instead of failing on it; when db/generated is later made again
    with another seed, stage 2 refuses data/iemocap instead of mixing other audio."""
    work = scratch_recipe(RECIPE, tmp_path / "iemocap")
    args = ["./run.sh", "--corpus_size", "tiny", "--noise_dir", "generated"]
    done = subprocess.run(
        [*args, "--stop_stage", "1"], cwd=work, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    marker = json.loads((work / "db" / "generated" / "TRNET_GENERATED").read_text())
    assert marker["size"] == "tiny"
    assert (work / "data" / "noise" / "esc50_train" / "wav.scp").is_file()
    trnet = shutil.which("trnet", path=ENV["PATH"]) or f"{sys.executable} -m trnet"
    again = [*trnet.split(), "make-corpus", "db/generated", "--size", "tiny", "--seed", "1"]
    subprocess.run([*again, "--overwrite"], cwd=work, env=ENV, capture_output=True, check=True)
    done = subprocess.run(
        [*args, "--stage", "2", "--stop_stage", "2"],
        cwd=work,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: data/iemocap: prepared from other audio: "), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert not (work / "dump").exists()


def test_a_dependency_cycle_between_configs_stops_stage4(tmp_path):
    work = scratch_recipe(RECIPE, tmp_path / "iemocap", OUTPUTS | {"conf"})
    (work / "conf").mkdir()
    for name, other in (("a", "b"), ("b", "a")):
        (work / "conf" / f"{name}.yaml").write_text(f"loss:\n  z_clean_from: exp/{other}/fold1\n")
    done = subprocess.run(
        ["./run.sh", "--stage", "4", "--stop_stage", "4", "--systems", "a", "--conf_dir", "conf"],
        cwd=work,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "depend on each other" in done.stderr and "a b a" in done.stderr
    assert not (work / "exp").exists()


def test_stage4_reads_dependencies_through_defaults_files(tmp_path):
    """a's dependency on b is written in a's defaults file (b depends on a): still a cycle;
    a defaults file that is not there stops stage 4 with the one line naming it."""
    work = scratch_recipe(RECIPE, tmp_path / "iemocap", OUTPUTS | {"conf"})
    (work / "conf").mkdir()
    (work / "conf" / "_a.yaml").write_text("loss:\n  z_clean_from: exp/b/fold1\n")
    (work / "conf" / "a.yaml").write_text("defaults: _a.yaml\n")
    (work / "conf" / "b.yaml").write_text("loss:\n  z_clean_from: exp/a/fold1\n")
    (work / "conf" / "c.yaml").write_text("defaults: _gone.yaml\n")
    args = ["./run.sh", "--stage", "4", "--stop_stage", "4", "--conf_dir", "conf", "--systems"]
    cycle = subprocess.run([*args, "a"], cwd=work, env=ENV, capture_output=True, text=True)
    assert cycle.returncode == 1
    assert "depend on each other" in cycle.stderr and "a b a" in cycle.stderr
    gone = subprocess.run([*args, "c"], cwd=work, env=ENV, capture_output=True, text=True)
    assert gone.returncode == 1
    assert "error: conf/c.yaml:1:11: defaults file conf/_gone.yaml not found\n" in gone.stderr
    assert "stage 4" not in gone.stderr + gone.stdout and not (work / "exp").exists()


def test_split_jobs_4_gives_stages_2_to_5_of_one_job(tmp_path):
    """`--split_jobs 4`: stages 2-3 (trnet mix, enhance, score-se) as 4 run.pl array jobs
    each, merged; per condition and utterance the one job's waveform and matrix, its CMVN
    and markers, exp/se/scores.* byte for byte, and stage 5's posteriors (stages 0-1 run once,
    exp/se is trained once: train-se stays one job)."""
    one = scratch_recipe(RECIPE, tmp_path / "one", OUTPUTS | {"conf"})
    fast_confs(RECIPE / "conf" / "slim", one / "conf" / "fast")
    args = ["./run.sh", "--corpus_size", "tiny", "--folds", "1", "--snrs", "0", "--nj", "2"]
    args += ["--conf_dir", "conf/fast", "--systems", "baseline_enhanced", "--stop_stage", "5"]
    done = subprocess.run(args, cwd=one, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    split = scratch_recipe(RECIPE, tmp_path / "split", OUTPUTS | {"conf"})
    (split / "conf").symlink_to(one / "conf")
    shutil.copytree(one / "data", split / "data", symlinks=True)
    shutil.copytree(one / "exp" / "se", split / "exp" / "se", ignore=lambda *_: {"scores.json"})
    args += ["--stage", "2", "--split_jobs", "4"]
    done = subprocess.run(args, cwd=split, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "already trained" in done.stdout
    conds = sorted(p.name for p in (one / "dump" / "iemocap").iterdir())
    assert len(conds) == 10 and (split / "dump" / "iemocap" / "split4enh" / "4").is_dir()
    assert (split / "exp" / "se" / "split4" / "4" / "scores.json").is_file()
    for cond in conds:
        assert condition_per_key(split, cond) == condition_per_key(one, cond), cond
    for name in ("scores.json", "scores.tsv"):
        assert (split / "exp/se" / name).read_bytes() == (one / "exp/se" / name).read_bytes()
    decoded = sorted((one / "exp" / "baseline_enhanced" / "decode").glob("*/fold1/posteriors"))
    assert len(decoded) == 3
    for path in decoded:
        rel = path.relative_to(one)
        assert (split / rel).read_bytes() == path.read_bytes(), rel
