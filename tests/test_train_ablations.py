"""TRNet's training ablation knobs (issue 25): clean training utterances that bypass the SE
(``data.clean_through_se: false``) and the high-level target computed on the crop TRNet is
fed (``loss.z_clean_on: crop``)."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
from ser_toy import make_toy, toy_config

from trnet.ddp import setup_dist
from trnet.errors import TrnetError
from trnet.kaldi_io import read_vectors
from trnet.train.config import Config, config_from_dict, config_to_dict, dump_config
from trnet.train.data import FeatureStore, fit_length
from trnet.train.fold_run import train_fold
from trnet.train.loop import Trainer


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root, per_speaker=4)
    store = FeatureStore(dump)  # an SE that changes clean speech (the toy's leaves it as it is)
    enh = {u: 0.5 * store.load("clean", u) + 1.0 for u in store.scp("clean")}
    kaldiio.save_ark(
        str(dump / "clean_enh" / "feats.ark"), enh, scp=str(dump / "clean_enh/feats.scp")
    )
    base = root / "exp" / "baseline_clean" / "fold1"
    train_fold(toy_config("baseline_clean", epochs=1), 1, folds, dump, base, device="cpu")
    return {"root": root, "folds": folds, "dump": dump, "base": base}


def variant(system: str, toy: dict[str, Path], section: str, **keys: object) -> Config:
    z_from = str(toy["base"].parent / "fold{fold}")
    raw = config_to_dict(toy_config(system, z_clean_from=z_from))
    raw[section].update(keys)
    return config_from_dict(raw, "c.yaml")


def trainer(cfg: Config, toy: dict[str, Path], out: Path) -> Trainer:
    return Trainer(cfg, 1, toy["folds"], toy["dump"], out, setup_dist("cpu"))


def test_clean_training_examples_go_through_the_se_unless_told(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    """Today (the default) a clean example's enhanced input is clean_enh, as for a user's
    clean speech at test time; with clean_through_se false it is the clean features in
    training, and only there."""
    store = FeatureStore(toy["dump"])
    utt = sorted(store.scp("clean"))[0]
    feats = {c: fit_length(store.load(c, utt), 32) for c in ("clean", "clean_enh")}
    items = {}
    for through in (True, False):
        cfg = variant("trnet_wo_high", toy, "data", clean_through_se=through)
        assert ("clean_through_se" in dump_config(cfg)) == (not through)
        run = trainer(cfg, toy, tmp_path / str(through))
        items[through] = run.epoch_set([(utt, "clean"), (utt, "esc50_train_0")])
        assert run.dev_set.clean_through_se  # dev (and decoding) as a user's speech
    on, off = items[True][0]["inputs"].numpy(), items[False][0]["inputs"].numpy()
    assert np.array_equal(on[0], feats["clean"]) and np.array_equal(on[1], feats["clean_enh"])
    assert np.array_equal(off[0], feats["clean"]) and np.array_equal(off[1], feats["clean"])
    assert not np.array_equal(on[1], off[1])
    assert torch.equal(items[True][1]["inputs"], items[False][1]["inputs"])  # noisy: the same


@pytest.mark.parametrize(
    ("system", "keys"),
    [
        ("baseline_enhanced", {}),
        ("baseline_noisy", {}),
    ],
)
def test_clean_bypass_needs_a_blend_system(system: str, keys: dict, toy: dict[str, Path]) -> None:
    with pytest.raises(TrnetError, match=r"^c\.yaml: .*data\.clean_through_se: false needs"):
        variant(system, toy, "data", clean_through_se=False, **keys)


def test_crop_target_is_baseline_c_on_the_frames_fed(toy: dict[str, Path], tmp_path: Path) -> None:
    """On the first max_len frames (crop start, as Baseline-c exported them) the crop target
    is the exported embedding; on random crops of longer utterances it is not, and it is
    Baseline-c's z of the clean twin of exactly that crop."""
    from trnet import checkpoint
    from trnet.models.factory import build_ser_model

    ark = read_vectors(toy["base"] / "emb_clean.ark")
    teacher = build_ser_model(toy_config("baseline_clean").model).eval()
    teacher.load_state_dict(checkpoint.load(toy["base"] / "best.pt")["model"])
    for crop in ("start", "random"):
        cfg = variant("trnet", toy, "loss", z_clean_on="crop")
        cfg.data.crop = crop
        run = trainer(cfg, toy, tmp_path / crop)
        assert run.z_clean is None and run.z_teacher is not None
        batch = next(iter(run.epoch_batches()))
        utts = [run.epoch_set(run.epoch_examples()).examples[int(i)][0] for i in batch["index"]]
        exported = torch.from_numpy(np.stack([ark[u] for u in utts]))
        with torch.no_grad():
            own = teacher(batch["clean"])["z"]
        assert torch.allclose(batch["zc"], own, atol=1e-5)
        same = torch.isclose(batch["zc"], exported, atol=1e-4).all(1)
        assert bool(same.all()) == (crop == "start")
    out = tmp_path / "exp" / "fold1"
    train_fold(variant("trnet", toy, "loss", z_clean_on="crop"), 1, toy["folds"], toy["dump"], out)
    assert "z_clean_on: crop" in (out / "config.yaml").read_text() and (out / ".done").is_file()


def test_crop_target_validation(toy: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(TrnetError, match=r"^c\.yaml: loss\.z_clean_on must be one of utterance"):
        variant("trnet", toy, "loss", z_clean_on="frames")
    with pytest.raises(TrnetError, match=r"^c\.yaml: loss\.z_clean_on: crop needs loss\.beta > 0"):
        variant("trnet_wo_high", toy, "loss", z_clean_on="crop")
    other = variant("trnet_wo_high", toy, "loss")  # a TRNet fold as the "Baseline-c"
    wrong = tmp_path / "exp" / "wrong" / "fold1"
    train_fold(other, 1, toy["folds"], toy["dump"], wrong, device="cpu")
    (wrong / "emb_clean.ark").write_bytes(b"")
    cfg = variant("trnet", toy, "loss", z_clean_on="crop")
    cfg.loss.z_clean_from = str(wrong.parent / "fold{fold}")
    with pytest.raises(TrnetError, match=r"best\.pt: loss\.z_clean_on: crop needs a one-input"):
        trainer(cfg, toy, tmp_path / "t")
