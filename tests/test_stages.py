"""Stage dirs (issue 15): a lock keeps a second run off a dir; stale locks are taken over;
a dir made with other settings is refused, not kept."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mix_toy import make_data_dir, make_noise_set, run_mix
from ser_toy import make_toy, toy_config
from typer.testing import CliRunner

from trnet.cli import app
from trnet.data.folds import write_folds
from trnet.errors import TrnetError
from trnet.io import write_kv
from trnet.train.config import config_to_dict
from trnet.train.fold_run import train_fold

REPO = Path(__file__).resolve().parents[1]
LOCK = ".lock"  # trnet.stage.LOCK


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    utts = [f"spk{s}-u{i}" for s in range(4) for i in range(3)]
    write_kv(data / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_kv(data / "utt2emo", {u: "neu" for u in utts})
    write_kv(data / "wav.scp", {u: f"/x/{u}.wav" for u in utts})
    return data


def _lock(dest: Path, pid: int) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    meta = {"pid": pid, "host": socket.gethostname(), "start": "2026-01-01T00:00:00"}
    (dest / LOCK).write_text(json.dumps(meta))


def test_a_dir_locked_by_a_live_process_is_refused_naming_it(tmp_path):
    data = _data(tmp_path)
    _lock(tmp_path / "folds" / "kfold", os.getppid())  # alive, and not us
    with pytest.raises(TrnetError, match=f"in use by pid {os.getppid()} on "):
        write_folds(data, tmp_path / "folds", "kfold", k=2)
    assert not (tmp_path / "folds" / "kfold" / ".done").exists()


def test_a_stale_lock_is_taken_over_with_a_notice(tmp_path, capsys):
    data = _data(tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    _lock(tmp_path / "folds" / "kfold", gone.pid)
    folds, _ = write_folds(data, tmp_path / "folds", "kfold", k=2)
    assert f"taking over the lock of pid {gone.pid}" in capsys.readouterr().err
    assert (tmp_path / "folds" / "kfold" / ".done").is_file()
    assert not (tmp_path / "folds" / "kfold" / LOCK).exists()  # released at the end


def test_mix_refuses_a_condition_made_from_another_source_or_noise_set(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    data_a, noise_a = make_data_dir(first), make_noise_set(first)
    data_b, noise_b = make_data_dir(second), make_noise_set(second)
    write_kv(data_b / "utt2emo", {u: "ang" for u in ["spkA-u1", "spkA-u2", "spkB-u3", "spkB-u4"]})
    dump = tmp_path / "dump"
    args = ["--snr", 10, "--nj", 1, "--no-feats"]
    ok = run_mix(data_a, dump, "--noise", noise_a, *args)
    assert ok.exit_code == 0, ok.output
    again = run_mix(data_a, dump, "--noise", noise_a, *args)
    assert again.exit_code == 0 and "kept" in again.output  # same inputs: kept
    for src, noise in ((data_b, noise_a), (data_a, noise_b)):
        res = run_mix(src, dump, "--noise", noise, *args)
        assert res.exit_code == 1, res.output
        assert "exists with other settings; use --overwrite" in str(res.exception)
    forced = run_mix(data_b, dump, "--noise", noise_a, *args, "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert "spkA-u1 ang" in (dump / "noise_10" / "utt2emo").read_text()


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root, per_speaker=4)
    return {"root": root, "folds": folds, "dump": dump}


def test_train_refuses_a_finished_fold_of_another_config_or_seed(toy, tmp_path):
    out = tmp_path / "exp" / "fold1"
    cfg = toy_config("baseline_noisy", epochs=1)
    train_fold(cfg, 1, toy["folds"], toy["dump"], out, device="cpu")
    before = (out / "best.pt").read_bytes()
    train_fold(cfg, 1, toy["folds"], toy["dump"], out, device="cpu")  # same: skipped
    other_seed = toy_config("baseline_noisy", epochs=1, seed=7)
    for other in (toy_config("baseline_noisy", epochs=2), other_seed):
        with pytest.raises(TrnetError, match="exists with other settings; use --overwrite"):
            train_fold(other, 1, toy["folds"], toy["dump"], out, device="cpu")
    assert (out / "best.pt").read_bytes() == before
    train_fold(other_seed, 1, toy["folds"], toy["dump"], out, device="cpu", overwrite=True)
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["seed"] == 7


def _train_cmd(toy: dict[str, Path], config: Path, out: Path, seed: int) -> list[str]:
    return [
        sys.executable, "-m", "trnet", "train", "--config", str(config), "--fold", "1",
        "--data-root", str(toy["folds"]), "--dump", str(toy["dump"]), "--out", str(out),
        "--device", "cpu", "--seed", str(seed),
    ]  # fmt: skip


def test_two_trainings_on_one_dir_the_second_refuses(toy, tmp_path):
    """A second ``trnet train`` on a dir being trained refuses, naming the first's pid."""
    config = tmp_path / "long.yaml"
    long = toy_config("baseline_noisy", epochs=400, early_stop=400)
    config.write_text(yaml.safe_dump(config_to_dict(long)))
    out = tmp_path / "exp" / "fold1"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        _train_cmd(toy, config, out, 1), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "metrics.tsv").is_file() and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)  # the first run is training (it wrote an epoch)
        # the same job, resumed: without a lock it would train into the dir beside the first
        second = subprocess.run(
            [*_train_cmd(toy, config, out, 1), "--resume"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 1, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"in use by pid {first.pid} on {socket.gethostname()}" in lines[0]
    assert "resumed" not in (out / "train.log").read_text()  # the second one wrote nothing
    assert not (out / LOCK).exists()  # the interrupted first run let go of its lock


def test_cli_train_has_overwrite():
    result = CliRunner().invoke(app, ["train", "--help"])
    assert "--overwrite" in result.output


def test_a_lock_being_written_by_a_waiting_job_is_not_content(tmp_path: Path) -> None:
    """Two member jobs of one fold: while one holds the fold's lock and claims it, the other
    writes ``.lock.<pid>.tmp`` each time it tries the lock; the claim must not read that as
    files of another run (it refused the fold: 'records no signature')."""
    from trnet.stage import SIGNATURE_RECORD, claim, lock

    dest = tmp_path / "fold1"
    with lock(dest):
        (dest / ".lock.99999.tmp").write_text("{}\n")
        assert claim(dest, {"a": 1}, False, SIGNATURE_RECORD) is False
