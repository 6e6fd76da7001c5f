"""The real-speech options of the trainer (conf/cpu): VAD trim, random crops, whole-utterance
masked decoding, SpecAugment, class-balanced loss; and their defaults keep the old behaviour."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from ser_toy import make_toy, toy_config

from trnet.errors import TrnetError
from trnet.models.ser import SerModel
from trnet.train.config import config_from_dict, config_to_dict
from trnet.train.data import (
    ExampleSet,
    FeatureStore,
    class_weights,
    crop_start,
    pad_collate,
    spec_augment,
    vad_bounds,
)
from trnet.train.fold_run import train_fold
from trnet.train.predict import predict


def test_vad_trims_quiet_edges_only() -> None:
    rng = np.random.default_rng(0)
    x = np.full((100, 80), -12.0, np.float32)  # -12 nats: ~52 dB below the speech
    x[30:70] = rng.normal(size=(40, 80)).astype(np.float32)
    lo, hi = vad_bounds(x, 30.0)
    assert (lo, hi) == (25, 75)  # the loud span and 5 frames of margin on each side
    assert vad_bounds(x, 0.0) == (0, 100)  # off
    quiet = np.full((100, 80), -12.0, np.float32)
    quiet[50] = 0.0  # a single loud frame would leave fewer than 16: kept whole
    assert vad_bounds(quiet, 30.0) == (0, 100)


def test_random_crop_is_reproducible_and_inside() -> None:
    starts = {crop_start(300, 160, 0, epoch, "u1") for epoch in range(20)}
    assert len(starts) > 5 and all(0 <= s <= 140 for s in starts)
    assert crop_start(300, 160, 0, 3, "u1") == crop_start(300, 160, 0, 3, "u1")
    assert crop_start(100, 160, 0, 3, "u1") == 0


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root)
    return {"root": root, "folds": folds, "dump": dump}


def test_example_set_windows(toy: dict[str, Path]) -> None:
    store = FeatureStore(toy["dump"])
    utt = sorted(store.scp("clean"))[0]
    x = store.load("clean", utt)
    examples = [(utt, "esc50_train_0")]
    old = ExampleSet(examples, store, "blend", 16)[0]["inputs"]
    x_noisy = store.load("esc50_train_0", utt)
    assert torch.equal(old[0], torch.from_numpy(x_noisy[:16]))
    for epoch in range(3):
        item = ExampleSet(examples, store, "blend", 16, crop_key=(0, epoch))[0]
        start = crop_start(len(x), 16, 0, epoch, utt)
        assert torch.equal(item["inputs"][0], torch.from_numpy(x_noisy[start : start + 16]))
    full = ExampleSet(examples, store, "blend", 16, full=True)[0]
    assert full["inputs"].shape == (2, len(x), 80) and int(full["length"]) == len(x)


def test_padded_batch_gives_the_posteriors_of_single_utterances(toy: dict[str, Path]) -> None:
    torch.manual_seed(0)
    model = SerModel(channels=[4, 8], emb_dim=8, hidden=8, compensation=True, bridge=True)
    model.eval()
    store = FeatureStore(toy["dump"])
    utts = sorted(store.scp("clean"))[:12]
    data = ExampleSet([(u, "musan_0") for u in utts], store, "blend", 16, full=True)
    assert len({data.length(i) for i in range(len(data))}) > 3  # lengths really differ
    batched = predict(model, data, 8, torch.device("cpu"))
    single = predict(model, data, 1, torch.device("cpu"))
    # rows back in dataset order; each utterance's deltas are its own (its last frame held
    # over the padding), so a padded batch gives the posteriors of utterances alone
    assert np.abs(batched.posteriors - single.posteriors).max() < 1e-5
    assert np.abs(batched.s - single.s).max() < 1e-5  # padded zeros add nothing to the cosine
    batch = pad_collate([data[0], data[1]])
    assert batch["inputs"].shape[2] == max(data.length(0), data.length(1))


def test_spec_augment_masks_both_inputs_alike() -> None:
    cfg = config_from_dict(
        {
            "system": "x",
            "model": {"channels": [4], "emb_dim": 4, "compensation": True},
            "data": {
                "input": "blend",
                "snrs": [0],
                "max_len": 50,
                "freq_masks": 2,
                "freq_width": 10,
                "time_masks": 2,
                "time_width": 10,
            },
            "optim": {"lr": 1e-3},
            "train": {"batch_size": 4, "max_epochs": 1},
        },
    ).data
    x = torch.randn(4, 2, 50, 80)
    fill = torch.full((80,), 7.0)
    out = spec_augment(x, fill, cfg, (0, 1, 0, 0))
    masked = out == 7.0
    assert masked.any() and torch.equal(masked[:, 0], masked[:, 1])
    assert torch.equal(out[~masked], x[~masked])
    assert torch.equal(out, spec_augment(x, fill, cfg, (0, 1, 0, 0)))
    assert not torch.equal(out, spec_augment(x, fill, cfg, (0, 2, 0, 0)))


def test_class_weights_inverse_frequency() -> None:
    w = class_weights([0, 0, 0, 1, 2, 2], 4)
    assert torch.allclose(w, torch.tensor([0.5, 1.5, 0.75, 0.0]))


def test_defaults_keep_the_resolved_config_and_bad_values_fail() -> None:
    cfg = toy_config("baseline_noisy")
    raw = config_to_dict(cfg)
    assert "crop" not in raw["data"] and "class_weight" not in raw["loss"]
    raw["data"]["crop"] = "middle"
    with pytest.raises(TrnetError, match="data.crop"):
        config_from_dict(raw, "c.yaml")


def test_trainer_with_every_option_trains_and_decodes_whole(toy: dict[str, Path]) -> None:
    from trnet.train.decode import decode

    cfg = toy_config("baseline_noisy", epochs=2)
    cfg.data.crop, cfg.data.eval_full, cfg.data.vad_db = "random", True, 30.0
    cfg.data.freq_masks = cfg.data.time_masks = 1
    cfg.loss.class_weight = "balanced"
    out = toy["root"] / "exp" / "cpu" / "fold1"
    train_fold(cfg, 1, toy["folds"], toy["dump"], out, device="cpu")
    assert (out / ".done").is_file()
    assert "eval_full: true" in (out / "config.yaml").read_text()
    dirs = decode(out, toy["dump"], toy["folds"] / "fold1" / "test", ["clean"], out / "dec")
    assert len((dirs[0] / "hyp").read_text().splitlines()) == 8


def test_stop_lr_ends_training_where_the_schedule_drops_below_it(toy: dict[str, Path]) -> None:
    """train.stop_lr: the same epochs as a run without it, up to the first epoch after which
    the plateau schedule set the lr below stop_lr; then stopped, that epoch kept (select:
    last); a rerun with --resume trains nothing more."""
    import csv

    def run(name: str, stop_lr: float, resume: bool = False) -> list[dict]:
        cfg = toy_config("baseline_noisy", epochs=12, select="last", stop_lr=stop_lr)
        cfg.optim.lr_patience, cfg.optim.lr_factor = 0, 0.1
        out = toy["root"] / "exp" / name / "fold1"
        train_fold(cfg, 1, toy["folds"], toy["dump"], out, device="cpu", resume=resume)
        with open(out / "metrics.tsv") as f:
            return [
                {k: v for k, v in row.items() if k != "seconds"}
                for row in csv.DictReader(f, delimiter="\t")
            ]

    full = run("full", 0.0)
    lrs = [float(r["lr"]) for r in full]
    assert len(full) == 12 and min(lrs) < 5e-5  # the schedule went below 5e-5 on its own
    cut = next(i for i, lr in enumerate(lrs) if lr < 5e-5)  # first epoch trained below it
    stopped = run("stopped", 5e-5)
    assert stopped == full[:cut]
    done = (toy["root"] / "exp" / "stopped" / "fold1" / ".done").read_text()
    assert done.startswith(f"best_epoch {cut}\n")
    assert (
        "stopped at epoch" in (toy["root"] / "exp" / "stopped" / "fold1" / "train.log").read_text()
    )
    assert run("stopped", 5e-5, resume=True) == stopped


def test_cpu_recipe_configs_load() -> None:
    """conf/cpu: the paper's six systems with the real-speech keys, plus baseline_egemaps and
    the variants trained with corruptions (``*_corrupt``, tests/test_train_corruptions.py)."""
    from ser_toy import SYSTEMS

    from trnet.classic.svm import load_svm_config
    from trnet.systems.registry import DEEP, system_of_config
    from trnet.train.config import load_config

    conf = Path(__file__).resolve().parents[1] / "egs" / "iemocap" / "conf" / "cpu"
    paths = {  # the issue-25 ablations of trnet: tests/test_ablation_configs.py
        p.stem: p for p in conf.glob("*.yaml") if not p.stem.startswith(("se", "_", "trnet_abl_"))
    }
    corrupt = {"baseline_noisy", "baseline_enhanced", "trnet", "trnet_wo_low"}
    assert set(paths) == set(SYSTEMS) | {"baseline_egemaps", "trnet_blendfun"} | {
        f"{s}_corrupt" for s in corrupt
    }
    svm = load_svm_config(paths.pop("baseline_egemaps"))
    cfgs = {name: load_config(p) for name, p in paths.items()}
    # trnet_blendfun (issue 25): trnet whose functionals branch gets the blended functionals
    blendfun = cfgs["trnet_blendfun"]
    assert blendfun.model.functionals_input == "blend"
    assert cfgs["trnet"].model.functionals_input == "noisy"
    same = dataclasses.replace(blendfun.model, functionals_input="noisy")
    assert same == cfgs["trnet"].model
    assert (blendfun.data, blendfun.loss, blendfun.optim, blendfun.train) == (
        cfgs["trnet"].data,
        cfgs["trnet"].loss,
        cfgs["trnet"].optim,
        cfgs["trnet"].train,
    )
    assert all(system_of_config(p).kind == DEEP for p in paths.values())
    assert all(cfgs[name].system == name for name in cfgs)
    # the SVM sees the conditions baseline_noisy draws from
    assert svm.train_conditions() == cfgs["baseline_noisy"].train_conditions()
    # one training recipe for every deep system: only the system-defining keys differ
    recipe = {
        (tuple(c.model.channels), c.data.max_len, c.data.crop, c.data.eval_full, c.data.vad_db)
        for c in cfgs.values()
    }
    assert len(recipe) == 1
    assert all(c.data.eval_full and c.data.crop == "random" for c in cfgs.values())
    # the hybrid of every deep system: a kernel machine on all-condition-standardised
    # functionals, prefitted, with the last epoch kept (egs/emodb/RESULTS.md's ablation)
    assert all(
        c.model.functionals_head == "kernel"
        and c.model.functionals_norm == "train"
        and c.train.kernel_prefit > 0
        and c.train.select == "last"
        for c in cfgs.values()
    )


def test_hybrid_model_needs_and_uses_the_functionals() -> None:
    torch.manual_seed(0)
    model = SerModel(channels=[4], emb_dim=4, hidden=8, functionals=88).eval()
    x = torch.randn(3, 40, 80)
    with pytest.raises(ValueError, match="functionals"):
        model(x)
    func = torch.randn(3, 88)
    a = model(x, func=func)["logits"]
    b = model(x, func=func + 5.0)["logits"]
    assert not torch.allclose(a, b)
    assert torch.equal(model(x, func=func)["z"], model(x, func=func + 5.0)["z"])  # z is the CNN's


def test_kernel_features_approximate_the_rbf_kernel() -> None:
    from trnet.models.ser import KernelFeatures

    gamma = 1.0 / 88
    phi = KernelFeatures(88, 20000, gamma, seed=0)
    x = torch.randn(6, 88) * 0.8
    approx = phi(x) @ phi(x).T
    exact = torch.exp(-gamma * torch.cdist(x, x) ** 2)
    assert torch.allclose(approx, exact, atol=0.04)
    # fixed: drawn from the seed, buffers of the checkpoint, never trained
    again = KernelFeatures(88, 20000, gamma, seed=0)
    assert torch.equal(phi.weight, again.weight) and torch.equal(phi.phase, again.phase)
    assert not list(phi.parameters()) and "weight" in phi.state_dict()


def test_kernel_hybrid_adds_the_branch_logits() -> None:
    torch.manual_seed(0)
    model = SerModel(
        channels=[4], emb_dim=4, hidden=8, functionals=88, functionals_head="kernel", kernel_dim=64
    ).eval()
    x, func = torch.randn(3, 40, 80), torch.randn(3, 88)
    out = model(x, func=func)
    assert torch.allclose(out["logits"], out["logits_z"] + out["logits_f"])
    moved = model(x, func=func + 1.0)
    assert torch.equal(moved["logits_z"], out["logits_z"])
    assert not torch.allclose(moved["logits_f"], out["logits_f"])


def test_kernel_keys_default_out_of_the_resolved_config_and_bad_values_fail() -> None:
    cfg = toy_config("baseline_noisy")
    raw = config_to_dict(cfg)
    for section, key in (
        ("model", "functionals_head"),
        ("model", "functionals_norm"),
        ("loss", "branch_ce"),
        ("optim", "kernel_lr_scale"),
        ("train", "select"),
        ("train", "kernel_prefit"),
        ("train", "stop_lr"),
    ):
        assert key not in raw[section]
    for section, key, value in (
        ("model", "functionals_head", "svm"),
        ("model", "functionals_norm", "test"),
        ("train", "select", "first"),
        ("optim", "kernel_lr_scale", 0.0),
        ("train", "stop_lr", -1e-4),
    ):
        bad = config_to_dict(cfg)
        bad[section][key] = value
        with pytest.raises(TrnetError, match=key):
            config_from_dict(bad, "c.yaml")
