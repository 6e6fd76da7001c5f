"""Scale-out: Kaldi-style job backends (utils/run.pl, utils/slurm.pl) chosen in cmd.sh, and
multi-process training through torchrun from the recipe (issue 15, scale-out).

run.pl runs for real; slurm.pl runs against a fake ``sbatch``/``srun`` on PATH that records
its command line and then runs the job script as Slurm would (each array index in turn).
The recipe-level checks run ser.sh stages 4-5 in a scratch recipe folder on the toy data of
``ser_toy``: a 2-process CPU (gloo) torchrun training gives the metrics of 1 process.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ser_toy import make_toy, toy_config

from trnet.io import read_kv
from trnet.train.config import config_to_dict

ROOT = Path(__file__).resolve().parents[1]
RUN_PL = ROOT / "utils" / "run.pl"
EPOCHS = 2
SLURM_PL = ROOT / "utils" / "slurm.pl"

FAKE_SBATCH = """#!/usr/bin/env bash
echo "sbatch $*" >> "$FAKE_SLURM_LOG"
range= script=${!#}
for a in "$@"; do case $a in --array=*) range=${a#--array=}; range=${range%%%*} ;; esac; done
ret=0
for ((i = ${range%-*}; i <= ${range#*-}; i++)); do
  SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=77 bash "$script" || ret=1
done
echo 77
exit $ret
"""
FAKE_SRUN = """#!/usr/bin/env bash
echo "srun $*" >> "$FAKE_SLURM_LOG"
while [[ ${1:-} == --* ]]; do shift; done
SLURM_JOB_ID=78 "$@"
"""


@pytest.fixture
def fake_slurm(tmp_path: Path) -> dict[str, str]:
    """Environment with a fake sbatch/srun first on PATH; their calls go to env[log]."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "slurm_calls.txt"
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SLURM_LOG": str(log)}


def _calls(env: dict[str, str]) -> list[str]:
    path = Path(env["FAKE_SLURM_LOG"])
    return path.read_text().splitlines() if path.is_file() else []


def test_run_pl_runs_job_arrays_with_one_log_per_job(tmp_path: Path) -> None:
    cmd = [str(RUN_PL), "--max-jobs-run", "2", "JOB=1:3", "exp/log/sq.JOB.log"]
    done = subprocess.run(
        [*cmd, "echo", "job JOB of 3:", "$((JOB * JOB))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for job in (1, 2, 3):
        lines = (tmp_path / f"exp/log/sq.{job}.log").read_text().splitlines()
        assert lines[0] == f'# echo "job {job} of 3:" "$(({job} * {job}))" '
        assert f"job {job} of 3: {job * job}" in lines
        assert lines[-1].startswith("# Ended (code 0)")
    failed = subprocess.run(
        [str(RUN_PL), "JOB=1:3", "exp/log/t.JOB.log", "test", "JOB", "-ne", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip() == "run.pl: 1 / 3 failed, log is in exp/log/t.2.log"
    assert (
        (tmp_path / "exp/log/t.2.log").read_text().splitlines()[-1].startswith("# Ended (code 1)")
    )
    assert (
        (tmp_path / "exp/log/t.3.log").read_text().splitlines()[-1].startswith("# Ended (code 0)")
    )


def test_slurm_pl_submits_array_jobs_with_resources(tmp_path: Path, fake_slurm) -> None:
    cmd = [str(SLURM_PL), "--gpu", "2", "--mem", "8G", "--time", "4:00:00"]
    cmd += ["--num-threads", "4", "--max-jobs-run", "2", "JOB=1:3", "exp/s/log/train.JOB.log"]
    done = subprocess.run(
        [*cmd, "echo", "fold", "JOB"], cwd=tmp_path, env=fake_slurm, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert _calls(fake_slurm) == [
        "sbatch --parsable --wait --array=1-3%2 --output=exp/s/log/q/train-%a.out "
        "--job-name=train --gres=gpu:2 --mem=8G --time=4:00:00 --cpus-per-task=4 "
        "exp/s/log/q/train.sh"
    ]
    for job in (1, 2, 3):
        log = (tmp_path / f"exp/s/log/train.{job}.log").read_text().splitlines()
        assert f"fold {job}" in log and log[-1].startswith("# Ended (code 0)")
        assert "(Slurm job 77)" in log[1]
    # one failed task: the exit status and the message name its log
    failed = subprocess.run(
        [str(SLURM_PL), "JOB=1:2", "exp/s/log/t.JOB.log", "test", "JOB", "-ne", "2"],
        cwd=tmp_path,
        env=fake_slurm,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("slurm.pl: 1 / 2 failed, log is in exp/s/log/t.2.log")


def test_slurm_pl_single_job_goes_through_srun_and_nodes_are_requested(
    tmp_path: Path, fake_slurm
) -> None:
    done = subprocess.run(
        [str(SLURM_PL), "--mem", "2G", "exp/log/one.log", "echo", "single"],
        cwd=tmp_path,
        env=fake_slurm,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _calls(fake_slurm) == [
        "srun --job-name=one --mem=2G --output=exp/log/q/one.out bash exp/log/q/one.sh"
    ]
    assert "single" in (tmp_path / "exp/log/one.log").read_text().splitlines()
    subprocess.run(
        [str(SLURM_PL), "--gpu", "4", "--num-nodes", "2", "JOB=1:1", "l/x.JOB.log", "true"],
        cwd=tmp_path,
        env=fake_slurm,
        capture_output=True,
    )
    assert "--gres=gpu:4 --nodes=2 --ntasks-per-node=1" in _calls(fake_slurm)[-1]
    refused = subprocess.run(
        [str(RUN_PL), "--num-nodes", "2", "l/y.log", "true"], cwd=tmp_path, capture_output=True
    )
    assert refused.returncode == 1 and b"this machine only" in refused.stderr


# ---------------------------------------------------------------- the recipe


def _scratch_recipe(work: Path) -> Path:
    """A recipe folder (files linked to egs/emodb's) holding the toy folds, dump and config."""
    work.mkdir(parents=True)
    for entry in (ROOT / "egs" / "emodb").iterdir():
        if entry.name not in ("conf", "data", "dump", "exp"):
            (work / entry.name).symlink_to(entry.resolve())
    folds, dump = make_toy(work / "toy", per_speaker=4)
    (work / "data" / "folds").mkdir(parents=True)
    (work / "data" / "folds" / "speaker").symlink_to(folds)
    (work / "dump").mkdir()
    (work / "dump" / "toy").symlink_to(dump)
    (work / "conf").mkdir()
    conf = config_to_dict(toy_config("baseline_clean", epochs=EPOCHS))
    (work / "conf" / "baseline_clean.yaml").write_text(yaml.safe_dump(conf))
    return work


def _ser(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = ["./ser.sh", "--corpus", "toy", "--corpus_root", "/unused", "--systems"]
    cmd += ["baseline_clean", "--folds", "1", "--device", "cpu", "--nj", "1", *args]
    base = {**os.environ, "OMP_NUM_THREADS": "1"} if env is None else env
    return subprocess.run(cmd, cwd=work, env=base, capture_output=True, text=True, timeout=900)


def _metrics(out: Path) -> list[dict[str, str]]:
    with open(out / "metrics.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """Stage 4 trained once in the default way (no backend, one process)."""
    work = _scratch_recipe(tmp_path_factory.mktemp("cluster") / "toy")
    done = _ser(work, "--stage", "4", "--stop_stage", "4")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return work


def test_recipe_torchrun_two_cpu_processes_through_run_pl_match_one_process(recipe: Path) -> None:
    one = _metrics(recipe / "exp/baseline_clean/fold1")
    work = recipe.parent / "ddp"
    shutil.copytree(recipe, work, symlinks=True, ignore=shutil.ignore_patterns("exp"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "cuda_cmd": "utils/run.pl"}
    done = _ser(work, "--stage", "4", "--stop_stage", "4", "--ngpu", "2", env=env)
    log_path = work / "exp/baseline_clean/log/train.1.log"
    log = log_path.read_text() if log_path.is_file() else ""
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:] + log[-3000:]
    # stage 4's job, run by run.pl as the script of its wave (trnet run-jobs --backend)
    header = log.splitlines()[3]
    assert header.startswith("# torchrun --standalone --nproc_per_node 2 -m trnet train ")
    assert "--fold 1 " in header and "--member" not in header and "# Ended (code 0)" in log
    assert "2 process(es)" in (work / "exp/baseline_clean/fold1/train.log").read_text()
    two = _metrics(work / "exp/baseline_clean/fold1")
    epochs = [str(e) for e in range(1, EPOCHS + 1)]
    assert [r["epoch"] for r in two] == [r["epoch"] for r in one] == epochs
    # 2 processes see each batch split in two (BatchNorm statistics per process): the
    # same metrics within tolerance. (The toy stays at chance UAR in 2 epochs, so the
    # training loss is what tells the runs apart; trainer-level DDP equivalence is checked
    # in tests/test_trainer.py.)
    for key in ("loss", "dev_uar", "dev_war"):
        for a, b in zip(one, two, strict=True):
            assert float(b[key]) == pytest.approx(float(a[key]), abs=0.15), (key, one, two)


def test_stage4_trains_ensemble_members_as_jobs_here_and_through_run_pl(recipe: Path) -> None:
    """--ensemble 2, --nj 2: a job per member (baseline_clean's first, TRNet's after both,
    as TRNet reads Baseline-c's fold), here and as run.pl arrays in two waves: the same
    bytes; every job's log; a rerun trains nothing."""
    runs = {}
    for name, env in (("here", None), ("run_pl", {"train_cmd": "utils/run.pl"})):
        work = recipe.parent / f"members_{name}"
        shutil.copytree(recipe, work, symlinks=True, ignore=shutil.ignore_patterns("exp"))
        conf = config_to_dict(toy_config("trnet", epochs=EPOCHS))
        (work / "conf" / "trnet.yaml").write_text(yaml.safe_dump(conf))
        args = ["--stage", "4", "--stop_stage", "4", "--systems", "trnet", "--ensemble", "2"]
        args += ["--nj", "2", "--snrs", "0"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        done = _ser(work, *args, env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        runs[name] = (work, done.stdout)
    work, stdout = runs["here"]
    jobs = [line.split("\t")[:3] for line in (work / "exp/log/train.jobs").read_text().splitlines()]
    assert jobs == [
        ["training baseline_clean fold 1 member 0", "-", "exp/baseline_clean/log/train.1.0.log"],
        ["training baseline_clean fold 1 member 1", "-", "exp/baseline_clean/log/train.1.1.log"],
        ["training trnet fold 1 member 0", "1,2", "exp/trnet/log/train.1.0.log"],
        ["training trnet fold 1 member 1", "1,2", "exp/trnet/log/train.1.1.log"],
    ]
    assert [line for line in stdout.splitlines() if "(log exp/" in line] != []
    for (work, _), system in ((runs[n], s) for n in runs for s in ("baseline_clean", "trnet")):
        for k in (0, 1):
            log = (work / f"exp/{system}/log/train.1.{k}.log").read_text()
            assert f" --member {k} " in log and log.splitlines()[-1].startswith("# Ended (code 0)")
    names = [".done", ".signature.json", "config.yaml"]
    names += [f"member{k}/{n}" for k in (0, 1) for n in ("best.pt", ".done", "emb_clean.ark")]
    for system in ("baseline_clean", "trnet"):
        for name in names:
            if system == "trnet" and name.endswith("emb_clean.ark"):
                continue
            ours, theirs = (runs[n][0] / f"exp/{system}/fold1/{name}" for n in runs)
            assert ours.read_bytes() == theirs.read_bytes(), (system, name)
    work = runs["here"][0]
    best = work / "exp/trnet/fold1/member1/best.pt"
    before = best.stat().st_mtime_ns
    again = _ser(work, *args)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert best.stat().st_mtime_ns == before
    assert "already trained" in (work / "exp/trnet/log/train.1.1.log").read_text()


def test_recipe_decodes_as_slurm_array_jobs(recipe: Path, fake_slurm) -> None:
    fake_slurm = {**fake_slurm, "OMP_NUM_THREADS": "1"}
    fake_slurm["decode_cmd"] = "utils/slurm.pl --mem 4G --time 1:00:00"
    done = _ser(recipe, "--stage", "5", "--stop_stage", "5", "--snrs", "0", env=fake_slurm)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert _calls(fake_slurm) == [
        "sbatch --parsable --wait --array=1-1%1 "
        "--output=exp/baseline_clean/decode/log/q/decode-%a.out --job-name=decode "
        "--mem=4G --time=1:00:00 exp/baseline_clean/decode/log/q/decode.sh"
    ]
    log = (recipe / "exp/baseline_clean/decode/log/decode.1.log").read_text()
    assert log.startswith("# trnet decode exp/baseline_clean/fold$JOB ")
    assert "# Ended (code 0)" in log
    for cond in ("clean", "esc50_0", "musan_0"):
        hyp = read_kv(recipe / f"exp/baseline_clean/decode/{cond}/fold1/hyp")
        assert sorted(hyp) == sorted(read_kv(recipe / "data/folds/speaker/fold1/test/utt2spk"))


# ---------------------------------------------------------------- a real Slurm


@pytest.fixture(scope="session")
def real_slurm() -> None:
    """A one-node Slurm on this machine (tools/slurm_local.sh: apt install, start; idempotent),
    stopped afterwards when it was not running before. Skipped only where the packages cannot
    be installed (not root, no apt-get, apt failed)."""
    # a fresh machine has no scontrol until slurm_local.sh installs it
    was_up = (
        subprocess.run(["scontrol", "ping"], capture_output=True, text=True).returncode
        if shutil.which("scontrol")
        else 1
    )
    up = subprocess.run(
        ["bash", str(ROOT / "tools" / "slurm_local.sh")], capture_output=True, text=True
    )
    if up.returncode == 2:
        pytest.skip(f"no Slurm here: {up.stderr.strip()}")
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    if was_up != 0:
        subprocess.run(["bash", str(ROOT / "tools" / "slurm_local.sh"), "stop"], check=True)


def test_recipe_stages_4_5_on_a_real_slurm_equal_the_local_run(
    recipe: Path, real_slurm: None
) -> None:
    """Stage 4 trains and stage 5 decodes as real Slurm array jobs (utils/slurm.pl: sbatch
    --array --wait); the posteriors are byte for byte those of the local run."""
    local = recipe.parent / "local"  # the fixture's local training, decoded here
    shutil.copytree(recipe, local, symlinks=True, ignore=shutil.ignore_patterns("decode"))
    done = _ser(local, "--stage", "5", "--stop_stage", "5", "--snrs", "0")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    work = recipe.parent / "slurm"
    shutil.copytree(recipe, work, symlinks=True, ignore=shutil.ignore_patterns("exp"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["train_cmd"] = "utils/slurm.pl --mem 1G --time 10:00"
    env["decode_cmd"] = "utils/slurm.pl --mem 1G --time 10:00"
    done = _ser(work, "--stage", "4", "--stop_stage", "5", "--snrs", "0", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    exp = work / "exp/baseline_clean"
    for log, q in (
        ("log/train.1.log", "../log/train.jobs.waves/wave1/log/q/job"),
        ("decode/log/decode.1.log", "decode/log/q/decode"),
    ):
        job = (exp / f"{q}.jobid").read_text().strip()
        assert job.isdigit(), job  # sbatch --parsable: the id Slurm gave the array
        lines = (exp / log).read_text().splitlines()
        # a one-task array runs as the array's own job id, set by slurmd
        assert lines[1].endswith(f" (Slurm job {job})"), lines[1]
        assert lines[-1].startswith("# Ended (code 0)")
    for cond in ("clean", "esc50_0", "musan_0"):
        for name in ("posteriors", "hyp"):
            ours = (exp / f"decode/{cond}/fold1/{name}").read_bytes()
            assert ours == (local / f"exp/baseline_clean/decode/{cond}/fold1/{name}").read_bytes()
