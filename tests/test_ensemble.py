"""Seed ensembles (train.ensemble): members are the seed runs, decoding averages them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_main import run_main
from ser_toy import make_toy, toy_config

from trnet import checkpoint
from trnet.errors import TrnetError
from trnet.kaldi_io import read_vectors
from trnet.train.config import config_from_dict, config_to_dict, dump_config
from trnet.train.decode import decode
from trnet.train.fold_data import load_z_clean
from trnet.train.fold_run import train_fold

CONDITIONS = ["clean", "esc50_0"]


def posteriors(d: Path) -> dict[str, np.ndarray]:
    rows = (line.split() for line in (d / "posteriors").read_text().splitlines())
    return {r[0]: np.array([float(v) for v in r[1:]]) for r in rows}


@pytest.fixture(scope="module")
def ens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ens")
    folds, dump = make_toy(root)
    cfg = toy_config("trnet_wo_high", epochs=2, seed=3, ensemble=2)
    out = root / "exp" / "ens" / "fold1"
    train_fold(cfg, 1, folds, dump, out, device="cpu")
    single = toy_config("trnet_wo_high", epochs=2, seed=4)  # what --seed 4 trains
    train_fold(single, 1, folds, dump, root / "exp" / "seed4" / "fold1", device="cpu")
    return {"root": root, "folds": folds, "dump": dump, "out": out}


def test_members_are_the_models_of_their_seeds(ens: dict[str, Path]) -> None:
    out = ens["out"]
    assert (out / ".done").read_text().startswith("ensemble 2\ndev_uar ")
    assert "ensemble: 2" in (out / "config.yaml").read_text()
    assert "  seed: 3\n" in (out / "member0" / "config.yaml").read_text()
    member = checkpoint.load(out / "member1" / "best.pt")
    alone = checkpoint.load(ens["root"] / "exp" / "seed4" / "fold1" / "best.pt")
    assert member["config"] == alone["config"]  # seed 4, no ensemble key
    for name, tensor in alone["model"].items():
        assert torch.equal(member["model"][name], tensor), name
    # the two members differ (else averaging them would be pointless)
    first = checkpoint.load(out / "member0" / "best.pt")["model"]
    assert not torch.equal(first["classifier.0.weight"], member["model"]["classifier.0.weight"])


def test_decoding_averages_the_members_log_posteriors(ens: dict[str, Path]) -> None:
    out, test = ens["out"], ens["folds"] / "fold1" / "test"
    dirs = decode(out, ens["dump"], test, CONDITIONS, out.parent / "decode", device="cpu")
    for d, condition in zip(dirs, CONDITIONS, strict=True):
        got = posteriors(d)
        members = [
            posteriors(
                decode(out / f"member{k}", ens["dump"], test, [condition], ens["root"] / f"m{k}")[0]
            )
            for k in (0, 1)
        ]
        for utt, row in got.items():
            logp = np.mean([np.log(np.maximum(m[utt], 1e-30)) for m in members], 0)
            want = np.exp(logp - logp.max())
            want /= want.sum()
            assert np.allclose(row, want, atol=2e-4), (utt, row, want)
            assert abs(row.sum() - 1) < 1e-5
        hyp = dict(line.split() for line in (d / "hyp").read_text().splitlines())
        assert hyp.keys() == got.keys()
        first = ens["root"] / "m0" / condition / "fold1"
        emb, emb0 = read_vectors(d / "emb.ark"), read_vectors(first / "emb.ark")
        assert all(np.array_equal(emb[u], emb0[u]) for u in emb)  # the first member's z
        s = [float(v.split()[1]) for v in (d / "utt2s").read_text().splitlines()]
        assert all(0 <= v <= 1 for v in s)


def test_a_finished_member_is_kept_and_a_lost_one_retrained(ens: dict[str, Path]) -> None:
    out = ens["out"]
    kept = (out / "member0" / "best.pt").stat().st_mtime_ns
    before = checkpoint.load(out / "member1" / "best.pt")["model"]
    shutil.rmtree(out / "member1")
    (out / ".done").unlink()
    cfg = toy_config("trnet_wo_high", epochs=2, seed=3, ensemble=2)
    train_fold(cfg, 1, ens["folds"], ens["dump"], out, resume=True, device="cpu")
    assert (out / "member0" / "best.pt").stat().st_mtime_ns == kept
    after = checkpoint.load(out / "member1" / "best.pt")["model"]
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert (out / ".done").is_file()


def test_an_ensemble_is_packaged_whole_and_a_broken_one_not_decoded(
    ens: dict[str, Path], tmp_path: Path
) -> None:
    """The fold is one package of all its members (test_export_kinds: it predicts as
    decode does); a member alone is refused, naming the fold to export."""
    from trnet.infer.package_export import export
    from trnet.infer.package_format import read_package
    from trnet.se.config import resolve_config
    from trnet.se.model import build_model, save_model

    se_conf = resolve_config({"model": "crn"})  # the blend input's SE (untrained here)
    save_model(tmp_path / "se" / "best.pt", build_model(se_conf), se_conf)
    pkg = read_package(export(ens["out"], tmp_path / "pkg", se=tmp_path / "se"))
    assert pkg.frontend["members"] == ["ser0.pt", "ser1.pt"] and pkg.card["members"] == 2
    with pytest.raises(TrnetError, match="a member of the ensemble .* export the fold"):
        export(ens["out"] / "member0", tmp_path / "member")
    assert not (tmp_path / "member").exists()
    broken = tmp_path / "fold1"
    broken.mkdir()
    (broken / ".done").write_text("ensemble 2\ndev_uar 0.5\n")
    with pytest.raises(TrnetError, match="member0/best.pt: ensemble member missing"):
        decode(broken, ens["dump"], ens["folds"] / "fold1" / "test", ["clean"], tmp_path / "d")


def test_ensemble_key_defaults_out_and_bad_values_fail() -> None:
    raw = config_to_dict(toy_config("baseline_noisy"))
    assert "ensemble" not in raw["train"]  # resolved configs of single models unchanged
    raw["train"]["ensemble"] = 0
    with pytest.raises(TrnetError, match="train.ensemble must be >= 1"):
        config_from_dict(raw, "c.yaml")


def test_an_ensemble_baseline_c_gives_trnet_its_first_members_embeddings(
    ens: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI as the recipe runs it (``--ensemble`` overrides the config)."""
    root = ens["root"]
    config = root / "baseline_clean.yaml"
    config.write_text(dump_config(toy_config("baseline_clean", epochs=2)))
    out = root / "exp" / "baseline_clean" / "fold1"
    args = ["train", "--config", config, "--fold", 1, "--data-root", ens["folds"]]
    args += ["--dump", ens["dump"], "--out", out, "--device", "cpu", "--seed", 5]
    assert run_main([*args, "--ensemble", 0], monkeypatch, capsys).error_line == (
        "--ensemble must be at least 1, got 0"
    )
    assert run_main([*args, "--ensemble", 2], monkeypatch, capsys).code in (0, None)
    assert "  seed: 6\n" in (out / "member1" / "config.yaml").read_text()
    assert not (out / "emb_clean.ark").exists()
    cfg = toy_config("trnet", z_clean_from=str(root / "exp" / "baseline_clean" / "fold{fold}"))
    utts = sorted(read_vectors(out / "member0" / "emb_clean.ark"))
    target = load_z_clean(cfg, 1, utts)
    first = read_vectors(out / "member0" / "emb_clean.ark")
    second = read_vectors(out / "member1" / "emb_clean.ark")
    assert all(np.array_equal(target[u], first[u]) for u in utts)
    assert not all(np.array_equal(target[u], second[u]) for u in utts)


def test_a_foreign_member_is_refused(ens: dict[str, Path], tmp_path: Path) -> None:
    """A member retrained by hand (here: the seed-4 model put in as member 0, whose seed is 3)
    would be averaged in unasked: decoding refuses the fold."""
    fold = tmp_path / "fold1"
    shutil.copytree(ens["out"], fold)
    shutil.copy(ens["root"] / "exp" / "seed4" / "fold1" / "best.pt", fold / "member0" / "best.pt")
    with pytest.raises(TrnetError, match="member0: not member 0 of this ensemble"):
        decode(fold, ens["dump"], ens["folds"] / "fold1" / "test", ["clean"], tmp_path / "d")


def _train_cli(ens: dict[str, Path], config: Path, out: Path, *more: str) -> list[str]:
    return [
        sys.executable, "-m", "trnet", "train", "--config", str(config), "--fold", "1",
        "--data-root", str(ens["folds"]), "--dump", str(ens["dump"]), "--out", str(out),
        "--device", "cpu", "--resume", *more,
    ]  # fmt: skip


def test_members_as_their_own_jobs_are_the_ensemble_of_one_job(
    ens: dict[str, Path], tmp_path: Path
) -> None:
    """`trnet train --member K` (stage 4's jobs): two members' jobs started at the same
    moment (each claims the fold in turn) give the bytes of the fold trained as one job;
    the job that finds both members done writes the fold's .done; a plain `trnet train`
    afterwards skips the fold, and so does a member's job."""
    config = tmp_path / "ens.yaml"
    cfg = toy_config("trnet_wo_high", epochs=2, seed=3, ensemble=2)
    config.write_text(yaml.safe_dump(config_to_dict(cfg)))
    out, ref = tmp_path / "exp" / "fold1", tmp_path / "one" / "fold1"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [_train_cli(ens, config, out, "--member", str(k)) for k in (1, 0)]
    runs.append(_train_cli(ens, config, ref))  # the fold as one job
    jobs = [
        subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for run in runs
    ]
    ended = [job.communicate(timeout=600) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0, 0], ended
    names = [".done", ".signature.json", "config.yaml"]
    names += [f"member{k}/{n}" for k in (0, 1) for n in ("best.pt", ".done", "config.yaml")]
    for name in names:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert not list(out.rglob(".lock"))
    again = subprocess.run(_train_cli(ens, config, out), env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "already trained" in again.stdout, again.stderr
    member = subprocess.run(
        _train_cli(ens, config, out, "--member", "1"), env=env, capture_output=True, text=True
    )
    assert member.returncode == 0 and "already trained" in member.stdout, member.stderr


def test_a_member_job_finishes_a_fold_whose_other_member_is_done(
    ens: dict[str, Path], tmp_path: Path
) -> None:
    """A fold with one member done and no .done (a killed run): the other member's job
    trains it and writes .done; `--member` of a member that is done trains nothing."""
    out = tmp_path / "fold1"
    shutil.copytree(ens["out"], out)
    shutil.rmtree(out / "member0")
    (out / ".done").unlink()
    kept = (out / "member1" / "best.pt").stat().st_mtime_ns
    cfg = toy_config("trnet_wo_high", epochs=2, seed=3, ensemble=2)
    train_fold(cfg, 1, ens["folds"], ens["dump"], out, device="cpu", member=1)
    assert not (out / ".done").exists() and not (out / "member0").exists()
    train_fold(cfg, 1, ens["folds"], ens["dump"], out, device="cpu", member=0)
    assert (out / ".done").read_bytes() == (ens["out"] / ".done").read_bytes()
    assert (out / "member1" / "best.pt").stat().st_mtime_ns == kept
    got = (out / "member0" / "best.pt").read_bytes()
    assert got == (ens["out"] / "member0" / "best.pt").read_bytes()


def test_member_refusals(ens: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    """--member of a one-model fold, out of range, or with --overwrite is one line; a member
    locked by a live process is refused (not trained beside it), and so is a fold whose lock
    a live process holds longer than the claim waits."""
    from trnet.stage import LOCK
    from trnet.train import fold_run

    args = (1, ens["folds"], ens["dump"], tmp_path / "f")
    single = toy_config("trnet_wo_high", epochs=2, seed=3)
    cfg = toy_config("trnet_wo_high", epochs=2, seed=3, ensemble=2)
    for c, k, over, match in (
        (single, 0, False, "trains one model per fold"),
        (cfg, 2, False, "members are 0 to 1"),
        (cfg, 0, True, "--member and --overwrite"),
    ):
        with pytest.raises(TrnetError, match=match):
            train_fold(c, *args, device="cpu", member=k, overwrite=over)
    out = tmp_path / "locked"  # signed, member1 done, member0 being trained by another
    shutil.copytree(ens["out"], out)
    shutil.rmtree(out / "member0")
    (out / ".done").unlink()
    (out / "member0").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = f'{{"pid": {holder.pid}, "host": "{socket.gethostname()}"}}'
        (out / "member0" / LOCK).write_text(lock)
        with pytest.raises(TrnetError, match=f"member0: in use by pid {holder.pid}"):
            train_fold(cfg, 1, ens["folds"], ens["dump"], out, device="cpu", member=0)
        assert not (out / "member0" / "config.yaml").exists()
        monkeypatch.setattr(fold_run, "CLAIM_WAIT_S", 0.3)
        (out / LOCK).write_text(lock)
        with pytest.raises(TrnetError, match=f"locked: in use by pid {holder.pid}"):
            train_fold(cfg, 1, ens["folds"], ens["dump"], out, device="cpu", member=1)
        assert not (out / ".done").exists()
    finally:
        holder.kill()
        holder.wait()
