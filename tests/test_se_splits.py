"""``trnet enhance`` and ``trnet score-se`` as array jobs (``--split K/N``) merged with
``--from-splits``: what one job writes (per key, CMVN and signature byte for byte)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import kaldiio
import pytest
import torch
from se_toy import TINY, make_condition
from typer.testing import CliRunner

from trnet.audio import read_audio
from trnet.cli import app
from trnet.io import read_kv
from trnet.se.config import resolve_config
from trnet.se.model import build_model, save_model

CONDS = ("clean", "noise_0")
N_UTTS = 9
BATCH = ["--batch-size", "2"]  # 5 batches: job 1 of 4 enhances two of them


def trnet(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _per_key(cond: Path) -> tuple[dict, dict, dict]:
    """The tables of a data dir (scp files aside), each utterance's waveform and matrix."""
    skip = {"wav.scp", "feats.scp"}
    tables = {
        p.name: read_kv(p)
        for p in cond.iterdir()
        if p.is_file() and "." not in p.name and p.name not in skip
    }
    waves = {u: read_audio(s).tolist() for u, s in read_kv(cond / "wav.scp").items()}
    mats = {u: m.tolist() for u, m in kaldiio.load_scp_sequential(str(cond / "feats.scp"))}
    return tables, waves, mats


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A model, ``one/`` enhanced by one job, and ``split/`` (the same dump, not enhanced)."""
    root = tmp_path_factory.mktemp("se_splits")
    one = make_condition(root / "one", N_UTTS)
    shutil.copytree(one, root / "split")
    torch.manual_seed(3)
    conf = resolve_config(TINY)
    save_model(root / "se.pt", build_model(conf).eval(), conf)
    trnet("enhance", one, "--model", root / "se.pt", *BATCH, "--nj", "1", "--device", "cpu")
    return root / "se.pt", one, root / "split"


def test_enhance_as_4_split_jobs_equals_one_job(dumps, tmp_path, monkeypatch):
    """Four `trnet enhance --split K/4` jobs and `--from-splits`: per utterance the one
    job's waveform and matrix, the same tables, CMVN and signatures byte for byte (a
    one-job rerun skips the merged dirs); a part that did not finish is one line. Job K
    enhances the one job's batches K, K+4, ...: an utterance's output depends on its batch."""
    model, one, split = dumps
    monkeypatch.chdir(tmp_path)
    parts = tmp_path / "parts"
    common = ["--model", model, *BATCH, "--device", "cpu"]
    for k in range(1, 5):
        trnet("enhance", split, *common, "--nj", "1", "--split", f"{k}/4", "--split-root", parts)
    held = [set(read_kv(parts / str(k) / "noise_0_enh" / "wav.scp")) for k in range(1, 5)]
    assert [len(h) for h in held] == [3, 2, 2, 2] and len(set.union(*held)) == N_UTTS
    # a job that did not finish: the merge names its part; rerun, that job alone redoes it
    (parts / "3" / "clean_enh" / ".done").unlink()
    failed = CliRunner().invoke(
        app, ["enhance", *map(str, [split, *common]), "--from-splits", str(parts)]
    )
    assert failed.exit_code == 1
    assert "3/clean_enh: not complete (no .done: its split job failed" in str(failed.exception)
    assert "written" in trnet("enhance", split, *common, "--split", "3/4", "--split-root", parts)
    assert "merged" in trnet("enhance", split, *common, "--from-splits", parts)
    for cond in CONDS:
        ours, ref = split / f"{cond}_enh", one / f"{cond}_enh"
        assert _per_key(ours) == _per_key(ref), cond
        for name in ("cmvn.ark", ".done", ".feats.done"):
            assert (ours / name).read_bytes() == (ref / name).read_bytes(), (cond, name)
        assert not (ours / "wav.ark").exists()  # the scp files point into the parts
    assert "skipped" in trnet("enhance", split, *common)
    assert "skipped" in trnet("enhance", split, *common, "--split", "2/4", "--split-root", parts)


def test_enhance_with_more_jobs_than_batches(dumps, tmp_path):
    """6 jobs, 5 batches: job 6 enhances nothing, and the merge is still the one job's."""
    model, one, _ = dumps
    six = tmp_path / "six"
    shutil.copytree(one, six, ignore=shutil.ignore_patterns("*_enh"))
    common = ["--model", model, *BATCH, "--device", "cpu", "--conditions", "noise_0"]
    for k in range(1, 7):
        out = trnet("enhance", six, "--split", f"{k}/6", "--split-root", tmp_path / "p", *common)
        assert ("no batch" in out) == (k == 6), out
    assert "merged" in trnet("enhance", six, "--from-splits", tmp_path / "p", *common)
    assert _per_key(six / "noise_0_enh") == _per_key(one / "noise_0_enh")
    for name in ("cmvn.ark", ".done", ".feats.done"):
        assert (six / "noise_0_enh" / name).read_bytes() == (
            one / "noise_0_enh" / name
        ).read_bytes()


def test_score_se_as_4_split_jobs_equals_one_job(dumps, tmp_path, monkeypatch):
    """Four `trnet score-se --split K/4` jobs merged: the one job's scores.tsv and
    scores.json byte for byte, and the same table printed."""
    _, one, _ = dumps
    monkeypatch.chdir(tmp_path)
    # --nj 1 everywhere: in this process, not in worker pools that other tests started
    # (and that keep the numerics of the environment they were started in)
    args = ["score-se", one, "--nj", "1", "--max-utts", "7", "--seed", "4", "--conditions", *CONDS]
    printed = trnet(*args, "--out", tmp_path / "one")
    for k in range(1, 5):
        trnet(*args[:-3], "--split", f"{k}/4", "--split-root", "parts", *args[-3:])
    scored = [json.loads(Path(f"parts/{k}/scores.json").read_text()) for k in range(1, 5)]
    assert [len(s["scores"]["noise_0"]) for s in scored] == [2, 2, 2, 1]
    merged = trnet(*args[:-3], "--from-splits", "parts", "--out", tmp_path / "split", *args[-3:])
    assert merged == printed
    for ext in (".tsv", ".json"):
        ours, ref = tmp_path / f"split{ext}", tmp_path / f"one{ext}"
        assert ours.read_bytes() == ref.read_bytes(), ext
    # a part scored with another seed: one line naming it
    trnet(*args[:6], "--seed", "5", "--split", "2/4", "--split-root", "bad", *args[8:])
    for k in (1, 3, 4):
        shutil.copytree(f"parts/{k}", f"bad/{k}")
    result = CliRunner().invoke(
        app, [*map(str, args[:-3]), "--from-splits", "bad", "--out", "x", *args[-3:]]
    )
    assert result.exit_code == 1
    assert "bad/2/scores.json: scored with info" in str(result.exception)
