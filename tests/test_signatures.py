"""Signatures cover the content of what decides a stage's output (issue 22, item 5).

A condition re-mixed with another seed is a new input: the decodes, enhanced twins and
trainings made from the old one are refused (``exists with other settings``, naming what
changed), and redone with ``--overwrite``; so is an SE training asked for with another
config or sources. An unchanged rerun still keeps everything. Real (tiny) data through the
real stages: ``trnet mix`` audio and fbank, the toy SER config, a tiny CRN.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from cli_main import run_main
from mix_toy import run_mix
from se_toy import TINY, make_source, synth_speech
from ser_toy import toy_config

from trnet.contract import CLASSES
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.train.decode import decode
from trnet.train.fold_run import train_fold

SR = 16000
SPEAKERS = {"train": ["Ses01F", "Ses01M", "Ses02F"], "dev": ["Ses02M"], "test": ["Ses03F"]}
REFUSED = "exists with other settings; use --overwrite; changed: "


def _voice(k: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced 0.6 s tone whose pitch and loudness depend on the class k."""
    t = np.arange(int(0.6 * SR)) / SR
    f0 = 110.0 * 1.5**k * (1 + 0.03 * rng.normal())
    wave = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
    return (0.1 * (1 + k) * wave / 3).astype(np.float32)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A labelled data dir (wav), its fold lists, and three noise sets."""
    root = tmp_path_factory.mktemp("sig")
    rng = np.random.default_rng(0)
    wav, utt2spk, utt2emo = {}, {}, {}
    for speakers in SPEAKERS.values():
        for spk in speakers:
            for i in range(4):
                utt = f"{spk}-{spk}_u{i}"
                path = root / "wav" / f"{utt}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, _voice(i, rng), SR, subtype="PCM_16")
                wav[utt], utt2spk[utt], utt2emo[utt] = str(path), spk, CLASSES[i]
    data = DataDir({"wav.scp": wav, "utt2spk": utt2spk, "utt2emo": utt2emo})
    data.write(root / "data")
    corpus = json.dumps({"corpus": "iemocap", "generated": True}) + "\n"
    (root / "data" / "corpus.json").write_text(corpus)
    for split, speakers in SPEAKERS.items():
        d = root / "folds" / "fold1" / split
        data.subset([u for u, s in utt2spk.items() if s in speakers]).write(d)
        (d / "corpus.json").write_text(corpus)
    for name in ("esc50_train", "esc50_dev", "esc50"):
        clips = [(0.1 * rng.standard_normal(SR)).astype(np.float32) for _ in range(2)]
        noise = make_source(root / "noise", name, clips)
        ids = sorted(read_kv(noise / "wav.scp"))
        (noise / "utt2category").write_text("".join(f"{c} noise\n" for c in ids))
        (noise / "utt2dur").write_text("".join(f"{c} 1.000\n" for c in ids))
    return {"data": root / "data", "folds": root / "folds", "noise": root / "noise"}


def mix(src: dict[str, Path], dump: Path, noise: str, *snrs: str, seed: int = 0) -> str:
    """``trnet mix`` (with fbank) of one noise set at ``snrs``; ``seed`` ≠ 0 re-mixes."""
    args = [src["data"], dump, "--noise", src["noise"] / noise, "--snr", *snrs, "--nj", 1]
    args += ["--seed", seed, *(["--overwrite"] if seed else [])]
    res = run_mix(*args)
    assert res.exit_code == 0, res.output
    return res.output


def mtimes(*paths: Path) -> list[int]:
    return [p.stat().st_mtime_ns for p in paths]


def test_decode_after_a_remix_is_refused_then_decoded_anew(sources, tmp_path):
    dump, exp_fold, out = tmp_path / "dump", tmp_path / "exp" / "fold1", tmp_path / "decode"
    test_dir = sources["folds"] / "fold1" / "test"
    mix(sources, dump, "esc50", "0", "clean")
    cfg = toy_config("baseline_clean", epochs=1)
    train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu")
    (dest,) = decode(exp_fold, dump, test_dir, ["esc50_0"], out)
    old = (dest / "posteriors").read_text()
    kept = mtimes(exp_fold / "best.pt", dest / "posteriors", dump / "esc50_0" / "feats.ark")
    # an unchanged rerun keeps every output
    assert "kept" in mix(sources, dump, "esc50", "0", "clean")
    train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu")
    decode(exp_fold, dump, test_dir, ["esc50_0"], out, overwrite=True)
    assert mtimes(exp_fold / "best.pt", dest / "posteriors", dump / "esc50_0" / "feats.ark") == kept

    mix(sources, dump, "esc50", "0", seed=9)  # the test condition, re-mixed
    with pytest.raises(TrnetError, match=f"esc50_0/fold1: {REFUSED}inputs esc50_0$"):
        decode(exp_fold, dump, test_dir, ["esc50_0"], out)
    assert (dest / "posteriors").read_text() == old  # refused: nothing rewritten
    decode(exp_fold, dump, test_dir, ["esc50_0"], out, overwrite=True)
    new = (dest / "posteriors").read_text()
    assert new != old
    (fresh,) = decode(exp_fold, dump, test_dir, ["esc50_0"], tmp_path / "fresh")
    assert (fresh / "posteriors").read_text() == new  # what the new audio decodes to


def test_training_after_its_condition_was_remixed_is_refused_then_redone(sources, tmp_path, capsys):
    dump, exp_fold = tmp_path / "dump", tmp_path / "exp" / "fold1"
    mix(sources, dump, "esc50_train", "10", "0", "clean")
    mix(sources, dump, "esc50_dev", "10", "0")
    cfg = toy_config("baseline_noisy", epochs=1)
    train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu")
    before = (exp_fold / "best.pt").read_bytes()
    stamp = mtimes(exp_fold / "best.pt")
    train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu")  # unchanged: kept
    assert "already trained" in capsys.readouterr().out
    assert mtimes(exp_fold / "best.pt") == stamp

    mix(sources, dump, "esc50_train", "0", seed=9)  # a training condition, re-mixed
    with pytest.raises(TrnetError, match=f"fold1: {REFUSED}inputs dump esc50_train_0$"):
        train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu")
    assert (exp_fold / "best.pt").read_bytes() == before
    train_fold(cfg, 1, sources["folds"], dump, exp_fold, device="cpu", overwrite=True)
    assert (exp_fold / "best.pt").read_bytes() != before  # trained on the new audio


def test_trnet_after_baseline_c_was_retrained_is_refused(sources, tmp_path):
    """TRNet's high-level target is Baseline-c's embeddings: a retrained Baseline-c (on a
    re-mixed clean condition) is a new input of every TRNet fold."""
    dump, exp = tmp_path / "dump", tmp_path / "exp"
    mix(sources, dump, "esc50_train", "10", "0", "clean")
    mix(sources, dump, "esc50_dev", "10", "0")
    base = toy_config("baseline_clean", epochs=1)
    trnet = toy_config("baseline_noisy", epochs=1)  # with TRNet's high-level loss alone
    trnet.loss.beta, trnet.loss.z_clean_from = 0.5, str(exp / "bc" / "fold{fold}")
    train_fold(base, 1, sources["folds"], dump, exp / "bc" / "fold1", device="cpu")
    train_fold(trnet, 1, sources["folds"], dump, exp / "trnet" / "fold1", device="cpu")
    other = toy_config("baseline_clean", epochs=1, seed=3)
    train_fold(other, 1, sources["folds"], dump, exp / "bc" / "fold1", "cpu", overwrite=True)
    with pytest.raises(TrnetError, match=f"trnet/fold1: {REFUSED}inputs z_clean$"):
        train_fold(trnet, 1, sources["folds"], dump, exp / "trnet" / "fold1", device="cpu")


def test_enhance_after_a_remix_is_refused_then_redone(sources, tmp_path):
    from trnet.se.config import resolve_config
    from trnet.se.enhance_dirs import enhance_dump
    from trnet.se.model import build_model, save_model

    dump = tmp_path / "dump"
    mix(sources, dump, "esc50", "0")
    conf = resolve_config(TINY)
    save_model(tmp_path / "se.pt", build_model(conf), conf)

    def enhance(**kw: object) -> list[str]:
        runs = enhance_dump(dump, tmp_path / "se.pt", ["esc50_0"], device="cpu", **kw)
        return [status for _, status in runs]

    assert enhance() == ["written"]
    assert enhance() == ["skipped"]
    mix(sources, dump, "esc50", "0", seed=9)
    with pytest.raises(TrnetError, match=f"esc50_0_enh: {REFUSED}source$"):
        enhance()
    assert enhance(overwrite=True) == ["written"]


@pytest.fixture(scope="module")
def se_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("se_sig")
    rng = np.random.default_rng(0)
    noise = [(0.1 * rng.standard_normal(SR)).astype(np.float32) for _ in range(6)]
    return {
        "speech": make_source(root, "speech", [synth_speech(rng, 1.0) for _ in range(6)]),
        "speech2": make_source(root, "speech2", [synth_speech(rng, 1.0) for _ in range(6)]),
        "noise": make_source(root, "noise", noise[:2]),
        "noise2": make_source(root, "noise2", noise[2:4]),
        "dev_noise": make_source(root, "dev_noise", noise[4:]),
    }


def test_train_se_with_other_settings_is_refused_not_already_trained(
    se_sources, tmp_path, monkeypatch, capsys
):
    small = {**TINY, "train": {**TINY["train"], "epochs": 1, "steps_per_epoch": 3}}
    config, other_lr = tmp_path / "se.yaml", tmp_path / "se_lr.yaml"
    config.write_text(yaml.safe_dump(small))
    other_lr.write_text(yaml.safe_dump({**small, "train": {**small["train"], "lr": 3e-3}}))
    out = tmp_path / "exp" / "se"

    def train_se(conf: Path, speech: str = "speech", noise: str = "noise", *more: str):
        args = ["train-se", "--config", conf, "--speech", se_sources[speech]]
        args += ["--noise", se_sources[noise], "--dev-noise", se_sources["dev_noise"]]
        return run_main([*args, "--out", out, "--device", "cpu", *more], monkeypatch, capsys)

    assert train_se(config).code == 0
    before, stamp = (out / "best.pt").read_bytes(), mtimes(out / "best.pt")
    again = train_se(config)
    assert again.code == 0 and "already trained" in again.stdout
    assert mtimes(out / "best.pt") == stamp
    for args, what in (
        ((other_lr,), "config train lr"),
        ((config, "speech2"), "inputs speech"),
        ((config, "speech", "noise2"), "inputs noise"),
    ):
        refused = train_se(*args)
        assert refused.code == 1
        assert refused.error_line == f"{out}: {REFUSED}{what}"
    assert (out / "best.pt").read_bytes() == before
    assert train_se(other_lr, "speech", "noise", "--overwrite").code == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["lr"] == 3e-3
    assert (out / "best.pt").read_bytes() != before


def test_svm_after_its_condition_was_remixed_is_refused_then_redone(sources, tmp_path, capsys):
    pytest.importorskip("opensmile")
    from trnet.classic.svm import KIND, svm_config_from_dict
    from trnet.systems.registry import KINDS, decode_fold

    train_svm_fold = KINDS[KIND].train
    dump, exp_fold = tmp_path / "dump", tmp_path / "exp" / "fold1"
    mix(sources, dump, "esc50_train", "10", "clean")
    mix(sources, dump, "esc50_dev", "10")
    raw = {"system": "baseline_egemaps", "model": {"kind": "egemaps_svm", "c_grid": [1.0]}}
    cfg = svm_config_from_dict({**raw, "data": {"snrs": [10]}})
    train_svm_fold(cfg, 1, sources["folds"], dump, exp_fold)
    test_dir, out = sources["folds"] / "fold1" / "test", tmp_path / "decode"
    (dest,) = decode_fold(exp_fold, dump, test_dir, ["clean"], out)
    stamp = mtimes(exp_fold / "train.log")
    train_svm_fold(cfg, 1, sources["folds"], dump, exp_fold)  # unchanged: kept
    assert "already trained" in capsys.readouterr().out
    assert mtimes(exp_fold / "train.log") == stamp

    mix(sources, dump, "esc50_train", "10", seed=9)
    with pytest.raises(TrnetError, match=f"fold1: {REFUSED}inputs dump esc50_train_10$"):
        train_svm_fold(cfg, 1, sources["folds"], dump, exp_fold)
    assert mtimes(exp_fold / "train.log") == stamp
    train_svm_fold(cfg, 1, sources["folds"], dump, exp_fold, overwrite=True)
    assert mtimes(exp_fold / "train.log") != stamp
    # the decode made by the old fit is not kept as complete
    with pytest.raises(TrnetError, match=f"clean/fold1: {REFUSED}model_sha256$"):
        decode_fold(exp_fold, dump, test_dir, ["clean"], out)
    assert decode_fold(exp_fold, dump, test_dir, ["clean"], out, overwrite=True) == [dest]


def test_a_remix_drops_the_cached_functionals_of_the_old_audio(sources, tmp_path):
    """The eGeMAPS cache of a condition (SVM, hybrids) is of its audio: after a re-mix the
    functionals are those of the new audio, as in a dump mixed with that seed from scratch."""
    pytest.importorskip("opensmile")
    from trnet.classic.egemaps import condition_functionals

    dump, fresh = tmp_path / "dump", tmp_path / "fresh"
    utts = sorted(read_kv(sources["data"] / "utt2spk"))[:3]
    mix(sources, dump, "esc50_train", "10")
    old = condition_functionals(dump, "esc50_train_10", utts)
    mix(sources, dump, "esc50_train", "10", seed=9)
    got = condition_functionals(dump, "esc50_train_10", utts)
    mix(sources, fresh, "esc50_train", "10", seed=9)
    want = condition_functionals(fresh, "esc50_train_10", utts)
    assert all(np.array_equal(got[u], want[u]) for u in utts)
    assert not all(np.array_equal(got[u], old[u]) for u in utts)
