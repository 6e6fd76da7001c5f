"""The trainer on a toy fold: outputs, clean embeddings, resume, checks, torchrun DDP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from ser_toy import make_toy, toy_config

from trnet import checkpoint
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.kaldi_io import read_vectors
from trnet.models.ser import with_deltas
from trnet.train.config import config_to_dict
from trnet.train.data import ExampleSet, FeatureStore
from trnet.train.fold_run import train_fold


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root)
    base = root / "exp" / "baseline_clean" / "fold1"
    train_fold(toy_config("baseline_clean", epochs=2), 1, folds, dump, base, device="cpu")
    return {"root": root, "folds": folds, "dump": dump, "base": base}


def z_from(toy: dict[str, Path]) -> str:
    return str(toy["root"] / "exp" / "baseline_clean" / "fold{fold}")


def test_outputs_and_clean_embeddings(toy: dict[str, Path]) -> None:
    base = toy["base"]
    for name in (
        "config.yaml",
        "best.pt",
        "train.log",
        "metrics.tsv",
        ".done",
        "checkpoints/epoch2.pt",
    ):
        assert (base / name).is_file(), name
    rows = (base / "metrics.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:3] == ["epoch", "lr", "loss"] and len(rows) == 3
    assert yaml.safe_load((base / "config.yaml").read_text()) == config_to_dict(
        toy_config("baseline_clean", epochs=2)
    )
    emb = read_vectors(base / "emb_clean.ark")
    assert len(emb) == 40 and {v.shape for v in emb.values()} == {(8,)}
    assert set(read_kv(base / "emb_clean.scp")) == set(emb)


def test_done_fold_is_skipped(toy: dict[str, Path]) -> None:
    before = (toy["base"] / "best.pt").stat().st_mtime_ns
    train_fold(
        toy_config("baseline_clean", epochs=2),  # another config is refused: test_stages.py
        1,
        toy["folds"],
        toy["dump"],
        toy["base"],
        device="cpu",
    )
    assert (toy["base"] / "best.pt").stat().st_mtime_ns == before


def test_a_done_fold_is_found_done_without_importing_torch(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    """The verdict (signature, claim) comes before torch loads: a rerun's training job that
    finds its fold done costs no torch import (over a second per process); one that trains
    loads it."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from ser_toy import toy_config\n"
        "from trnet.train.fold_run import train_fold\n"
        "train_fold(toy_config('baseline_clean', epochs=2), 1, sys.argv[1], sys.argv[2], "
        "sys.argv[3], device='cpu')\n"
        "print('torch' in sys.modules)\n"
    )
    for out, loads in ((toy["base"], "False"), (tmp_path / "fold1", "True")):
        args = [sys.executable, "-c", script, str(toy["folds"]), str(toy["dump"]), str(out)]
        done = subprocess.run(args, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines()[-1] == loads, (out, done.stdout)
    assert (tmp_path / "fold1" / ".done").is_file()


@pytest.mark.parametrize("fast", [False, True])
def test_kill_and_resume_equals_uninterrupted(
    toy: dict[str, Path], tmp_path: Path, fast: bool
) -> None:
    extra = {"bn_recalib": 12, "cache_feats": True, "threads": 1} if fast else {}
    cfg = toy_config("trnet", z_clean_from=z_from(toy), epochs=4, keep_checkpoints=4, **extra)
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    train_fold(cfg, 1, toy["folds"], toy["dump"], full, device="cpu")
    # a run killed after epoch 2 leaves its epoch-2 checkpoint (and files of no importance)
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(full / "checkpoints" / "epoch2.pt", resumed / "checkpoints" / "epoch2.pt")
    shutil.copy(full / ".signature.json", resumed / ".signature.json")  # signed at its start
    with pytest.raises(TrnetError, match="pass --resume"):
        train_fold(cfg, 1, toy["folds"], toy["dump"], resumed, device="cpu")
    train_fold(cfg, 1, toy["folds"], toy["dump"], resumed, resume=True, device="cpu")
    a, b = (checkpoint.load(d / "checkpoints" / "epoch4.pt") for d in (full, resumed))
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])
    drop = {"seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in a["history"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in b["history"]
    ]
    assert a["history"][-1]["low"] > 0 and a["history"][-1]["high"] > 0


def test_feature_cache_gives_the_same_items_without_rereading(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(toy["dump"], dump)
    for scp in dump.glob("*/feats.scp"):  # point the copy's tables at the copied arks
        scp.write_text(scp.read_text().replace(str(toy["dump"]), str(dump)))
    utts = sorted(read_kv(dump / "clean" / "feats.scp"))[:6]
    examples = [(u, c) for u in utts for c in ("esc50_train_0", "clean")]
    kwargs = {"input_kind": "blend", "max_len": 40, "with_clean": True}
    lazy = ExampleSet(examples, FeatureStore(dump), **kwargs)
    cached = ExampleSet(examples, FeatureStore(dump, cache=True), **kwargs)
    expect = [lazy[i] for i in range(len(lazy))]
    first = [cached[i] for i in range(len(cached))]
    for name in ("clean", "esc50_train_0", "esc50_train_0_enh", "clean_enh"):
        with open(dump / name / "feats.ark", "r+b") as f:
            f.truncate(0)  # from now on only the cache can answer
    with pytest.raises(Exception):  # noqa: B017 (whatever kaldiio raises on an empty ark)
        lazy[0]
    for i in range(len(examples)):
        again = cached[i]
        for key, value in expect[i].items():
            assert torch.equal(value, first[i][key]) and torch.equal(value, again[key]), key
    first[0]["clean"] += 1.0  # items own their memory: the cache is not touched
    assert torch.equal(cached[0]["clean"], expect[0]["clean"])


def test_bn_recalib_sets_exact_statistics_of_the_epoch_head(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    """With bn_recalib = N <= batch, bn0 holds the mean and unbiased variance of those N."""
    cfg = toy_config("baseline_noisy", epochs=1, bn_recalib=8)
    out = tmp_path / "exp"
    train_fold(cfg, 1, toy["folds"], toy["dump"], out, device="cpu")
    state = checkpoint.load(out / "checkpoints" / "epoch1.pt")
    from trnet.ddp import setup_dist
    from trnet.train.loop import Trainer

    trainer = Trainer(cfg, 1, toy["folds"], toy["dump"], tmp_path / "other", setup_dist("cpu"))
    head = trainer.epoch_set(trainer.epoch_examples()[:8])
    x = torch.stack([head[i]["inputs"][0] for i in range(8)])
    m = state["model"]
    feats = with_deltas((x - m["cmvn_mean"]) / m["cmvn_std"])  # (8, 3, T, 80)
    bins = feats.transpose(0, 3).reshape(80, -1)
    assert torch.allclose(m["backbone.bn0.running_mean"], bins.mean(1), atol=1e-5)
    assert torch.allclose(m["backbone.bn0.running_var"], bins.var(1), atol=1e-4)
    assert int(m["backbone.bn0.num_batches_tracked"]) == 1


def test_missing_features_are_listed_before_training(toy: dict[str, Path], tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(toy["dump"], dump)
    scp = dump / "esc50_train_0_enh" / "feats.scp"
    lines = scp.read_text().splitlines()
    scp.write_text("\n".join(lines[2:]) + "\n")
    shutil.rmtree(dump / "esc50_dev_10")
    out = tmp_path / "exp"
    cfg = toy_config("trnet_wo_high")
    with pytest.raises(TrnetError) as err:
        train_fold(cfg, 1, toy["folds"], dump, out, device="cpu")
    msg = str(err.value)
    assert "esc50_train_0_enh/feats.scp: 2 utterances missing" in msg
    assert lines[0].split()[0] in msg and "esc50_dev_10/feats.scp: missing" in msg
    assert not (out / "checkpoints").exists()


def test_trnet_needs_baseline_clean_embeddings(toy: dict[str, Path], tmp_path: Path) -> None:
    cfg = toy_config("trnet_wo_low", z_clean_from=str(tmp_path / "none" / "fold{fold}"))
    with pytest.raises(TrnetError, match=r"none/fold1/emb_clean\.ark: clean embeddings missing"):
        train_fold(cfg, 1, toy["folds"], toy["dump"], tmp_path / "exp", device="cpu")


def test_fold_without_training_data(toy: dict[str, Path], tmp_path: Path) -> None:
    folds = tmp_path / "folds"
    shutil.copytree(toy["folds"], folds)
    (folds / "fold1" / "train" / "utt2spk").write_text("")
    with pytest.raises(TrnetError, match="no training utterances"):
        train_fold(
            toy_config("baseline_noisy"), 1, folds, toy["dump"], tmp_path / "exp", device="cpu"
        )


DUMP_RANKS = """
import sys

import torch

from trnet.train import loop

run = loop.Trainer.run


def run_and_dump(self, resume):
    run(self, resume)
    params = {n: p.detach().cpu() for n, p in self.net.named_parameters()}
    torch.save(params, self.out / f"rank{self.env.rank}.pt")


loop.Trainer.run = run_and_dump
from trnet.cli import main

sys.argv = ["trnet", *sys.argv[1:]]
main()
"""


def test_torchrun_two_processes_cpu(toy: dict[str, Path], tmp_path: Path) -> None:
    conf = tmp_path / "noisy.yaml"
    conf.write_text(
        yaml.safe_dump(config_to_dict(toy_config("trnet", z_clean_from=z_from(toy), epochs=2)))
    )
    out = tmp_path / "ddp"
    # `trnet train` through its entry point, each rank then saving the parameters it holds
    script = tmp_path / "train_and_dump.py"
    script.write_text(DUMP_RANKS)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += [
        str(script),
        "train",
        "--config",
        str(conf),
        "--fold",
        "1",
        "--data-root",
        str(toy["folds"]),
    ]
    cmd += ["--dump", str(toy["dump"]), "--out", str(out), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / ".done").is_file()
    assert "2 process(es)" in (out / "train.log").read_text()
    assert len((out / "metrics.tsv").read_text().splitlines()) == 3
    state = checkpoint.load(out / "checkpoints" / "epoch2.pt")
    assert len(state["rng"]) == 2
    # one model, not two that trained apart on their halves of the data: after every step
    # the ranks hold the same parameters, those of the checkpoint
    ranks = [torch.load(out / f"rank{r}.pt") for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys() and len(ranks[0]) > 10
    for name, param in ranks[0].items():
        assert torch.equal(param, ranks[1][name]), name
        assert torch.equal(param, state["model"][name]), name


class _Evil:
    """Runs code when unpickled (what ``weights_only=True`` refuses)."""

    def __reduce__(self):  # noqa: ANN204
        return (print, ("pwned",))


def test_checkpoints_load_weights_only(toy: dict[str, Path], tmp_path: Path) -> None:
    state = checkpoint.load(toy["base"] / "checkpoints" / "epoch2.pt")  # the full resume state
    assert state["rng"][0]["torch"].dtype == torch.uint8 and state["epoch"] == 2
    bad = tmp_path / "best.pt"
    torch.save({"model": _Evil()}, bad)
    with pytest.raises(TrnetError, match=r"best\.pt: not a trnet checkpoint of weights only"):
        checkpoint.load(bad)
