"""Training with corruption conditions (issue 27, item 4): ``data.train_corruptions`` draws a
corruption condition per utterance and epoch with its probability, strictly validated,
invisible at its default, and a system trains with one on the toy data."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from ser_toy import _write, make_toy, toy_config

from trnet.errors import TrnetError
from trnet.kaldi_io import read_matrix
from trnet.stage import SIGNATURE_RECORD
from trnet.train.config import config_from_dict, config_to_dict, dump_config, load_config
from trnet.train.data import every_train_example, train_examples
from trnet.train.fold_data import load_fold
from trnet.train.signature import fold_needs, fold_signature

CONF = Path(__file__).resolve().parents[1] / "egs" / "TEMPLATE" / "ser1" / "conf"
NOISE = ["clean", "esc50_train_10", "esc50_train_0"]
DRAWS = {"rev-0.6": 0.1, "clip-0.1": 0.05, "loss-0.1": 0.25}


def _within(count: int, n: int, p: float) -> bool:
    """``count`` of ``n`` draws is within 4 standard deviations of ``n p``."""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_the_draw_follows_the_probabilities_and_leaves_the_rest_as_it_was() -> None:
    utts = [f"spk{i % 40}-utt{i}" for i in range(8000)]
    plain = train_examples(utts, NOISE, 3, 7)
    drawn = train_examples(utts, NOISE, 3, 7, DRAWS)
    assert drawn == train_examples(utts, NOISE, 3, 7, dict(reversed(DRAWS.items())))  # seeded
    counts = Counter(c for _, c in drawn)
    for condition, p in DRAWS.items():
        assert _within(counts[condition], len(utts), p), (condition, counts)
    rest = 1 - sum(DRAWS.values())
    for condition in NOISE:  # the noise conditions share the rest evenly
        assert _within(counts[condition], len(utts), rest / len(NOISE)), (condition, counts)
    # an utterance drawn no corruption gets the condition it gets without the key
    kept = [(u, c) for u, c in drawn if c in NOISE]
    assert kept == [(u, c) for (u, c), (_, d) in zip(plain, drawn, strict=True) if d in NOISE]
    # another epoch (or seed) draws anew; no corruptions: exactly the draw of before
    again = train_examples(utts, NOISE, 3, 8, DRAWS)
    assert sum(a != b for a, b in zip(drawn, again, strict=True)) > len(utts) // 2
    assert train_examples(utts, NOISE, 3, 7, {}) == plain


def test_every_training_example_holds_the_corruptions_in_their_share() -> None:
    utts = [f"u{i}" for i in range(3000)]
    whole = every_train_example(utts, NOISE, 0)
    assert whole == [(u, c) for c in NOISE for u in utts]
    drawn = every_train_example(utts, NOISE, 0, DRAWS)
    assert len(drawn) == len(whole) and [u for u, _ in drawn] == [u for u, _ in whole]
    counts = Counter(c for _, c in drawn)
    for condition, p in DRAWS.items():
        assert _within(counts[condition], len(whole), p), (condition, counts)


def _system(tmp_path: Path, data: str) -> Path:
    """A cpu system config in a copy of conf/cpu whose ``data`` section is ``data``."""
    conf = tmp_path / "conf"
    if not conf.is_dir():
        shutil.copytree(CONF / "cpu", conf)
    path = conf / "mine.yaml"
    path.write_text(f"defaults: _base.yaml\nsystem: mine\ndata:\n{data}")
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("  train_corruptions: {rev_0.6: 0.1}", "a noise-set name may not begin"),
        ("  train_corruptions: {clip-2: 0.1}", "bad clip level"),
        ("  train_corruptions: {rev-0.60: 0.1}", "bad rev level"),
        ("  train_corruptions: {rev: 0.1}", "'rev' needs its level, e.g. rev-0.6"),
        ("  train_corruptions: {esc50_10: 0.1}", "'esc50_10' is not one corruption"),
        ("  train_corruptions: {rev-0.6+musan_10: 0.1}", "is not one corruption without noise"),
        ("  train_corruptions: {rev-0.6+tel8k: 0.1}", "is not one corruption without noise"),
        ("  train_corruptions: {tel8k: -0.1}", "train_corruptions.tel8k: a probability must be"),
        ("  train_corruptions: {tel8k: 1.5}", "must be in [0, 1], got 1.5"),
        ("  train_corruptions: {tel8k: .nan}", "must be in [0, 1], got nan"),
        ("  train_corruptions: {tel8k: 0.6, loss-0.1: 0.5}", "sum to 1.1, more than 1"),
        ("  train_corruptions: {tel8k: high}", "expected float"),
        ("  train_corruptions: [tel8k]", "train_corruptions: expected a mapping"),
    ],
)
def test_a_bad_train_corruptions_key_is_one_line_naming_the_config(
    tmp_path: Path, data: str, message: str
) -> None:
    path = _system(tmp_path, data + "\n")
    with pytest.raises(TrnetError) as err:
        load_config(path)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text, text


def test_probabilities_may_sum_to_one_and_are_stored_sorted(tmp_path: Path) -> None:
    path = _system(tmp_path, "  train_corruptions: {tel8k: 0.7, loss-0.1: 0.2, clip-0.1: 0.1}\n")
    cfg = load_config(path)  # 0.7 + 0.2 + 0.1 is 1.0000000000000002 in floats
    assert list(cfg.data.train_corruptions) == ["clip-0.1", "loss-0.1", "tel8k"]
    assert cfg.train_corruption_conditions() == ["clip-0.1", "loss-0.1", "tel8k"]
    zero = load_config(_system(tmp_path, "  train_corruptions: {tel8k: 0.0, clip-0.1: 0.5}\n"))
    assert zero.train_corruption_conditions() == ["clip-0.1"]  # never drawn: not read


def test_the_key_at_its_default_changes_neither_config_yaml_nor_the_signature(
    tmp_path: Path,
) -> None:
    """An empty mapping resolves as no key at all (every config of the recipes stays as it
    is: tests/test_config_defaults.py pins their digests); a given one is written and signed."""
    without = load_config(_system(tmp_path, "  snrs: [10, 0]\n"))
    empty = load_config(_system(tmp_path, "  snrs: [10, 0]\n  train_corruptions: {}\n"))
    assert dump_config(empty) == dump_config(without)
    assert "train_corruptions" not in dump_config(without)
    sign = [fold_signature(config_to_dict(c), 1, tmp_path, tmp_path, {}) for c in (without, empty)]
    assert json.dumps(sign[0], sort_keys=True) == json.dumps(sign[1], sort_keys=True)
    given = load_config(_system(tmp_path, "  snrs: [10, 0]\n  train_corruptions: {tel8k: 0.1}\n"))
    assert yaml.safe_load(dump_config(given))["data"]["train_corruptions"] == {"tel8k": 0.1}
    assert config_from_dict(yaml.safe_load(dump_config(given)), "x") == given  # read back


def test_the_corrupt_configs_are_their_systems_plus_the_corruptions() -> None:
    """conf/cpu/<system>_corrupt.yaml: the system of <system>.yaml with train_corruptions."""
    for system in ("baseline_noisy", "baseline_enhanced", "trnet", "trnet_wo_low"):
        plain = config_to_dict(load_config(CONF / "cpu" / f"{system}.yaml"))
        corrupt = config_to_dict(load_config(CONF / "cpu" / f"{system}_corrupt.yaml"))
        draws = corrupt["data"].pop("train_corruptions")
        assert corrupt.pop("system") == f"{system}_corrupt" and plain.pop("system") == system
        assert corrupt == plain
        assert set(draws) == {"rev-0.6", "mp3-24k", "tel8k", "clip-0.1", "loss-0.1"}
        assert math.isclose(sum(draws.values()), 0.3)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The toy fold with a corruption condition: clip-0.1, each utterance's features with
    the class bands flattened (and its enhanced twin)."""
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root)
    clean = {}
    for line in (dump / "clean" / "feats.scp").read_text().splitlines():
        utt, spec = line.split(maxsplit=1)
        clean[utt] = np.minimum(read_matrix(dump / "clean" / "feats.scp", utt, spec), 1.0)
    _write(dump / "clip-0.1", clean)
    _write(dump / "clip-0.1_enh", clean)
    return {"root": root, "folds": folds, "dump": dump}


def test_a_system_trains_with_a_train_corruption_on_the_toy_data(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    from trnet.train.fold_run import train_fold

    cfg = toy_config("baseline_enhanced", epochs=1)
    cfg.data.train_corruptions = {"clip-0.1": 0.5}
    needs = fold_needs(cfg, load_fold(toy["folds"], 1))
    train = set(load_fold(toy["folds"], 1).train)
    assert needs["clip-0.1_enh"] == train and "clip-0.1" not in needs  # its input: enhanced
    out = train_fold(cfg, 1, toy["folds"], toy["dump"], tmp_path / "exp", device="cpu")
    assert (out / ".done").is_file()
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["data"]["train_corruptions"] == {"clip-0.1": 0.5}
    signed = SIGNATURE_RECORD.read(out)
    assert "clip-0.1_enh" in signed["inputs"]["dump"]  # a remade condition retrains it
    # the same seed without the corruption trains another model
    plain = toy_config("baseline_enhanced", epochs=1)
    other = train_fold(plain, 1, toy["folds"], toy["dump"], tmp_path / "plain", device="cpu")
    assert (out / "best.pt").read_bytes() != (other / "best.pt").read_bytes()


def test_a_missing_train_corruption_is_named_before_training(
    toy: dict[str, Path], tmp_path: Path
) -> None:
    from trnet.train.fold_run import train_fold

    cfg = toy_config("baseline_noisy", epochs=1)
    cfg.data.train_corruptions = {"loss-0.1": 0.2}
    with pytest.raises(TrnetError, match=r"loss-0\.1/feats\.scp: missing \(32 utterances"):
        train_fold(cfg, 1, toy["folds"], toy["dump"], tmp_path / "exp", device="cpu")
    assert not (tmp_path / "exp").exists()


def test_a_hybrid_standardises_and_prefits_on_the_corrupted_examples_too(
    tmp_path: Path,
) -> None:
    """A conf/cpu-style hybrid (eGeMAPS kernel branch, statistics on every training example,
    kernel prefit) with a train corruption: the corruption condition's functionals are
    computed (cached in its dump dir and signed), and the statistics and the prefit use the
    whole training set with each (utterance, condition) drawn into it with its probability."""
    pytest.importorskip("opensmile")
    import soundfile as sf
    from voice_toy import make_audio_layout, with_feats

    from trnet import checkpoint
    from trnet.classic.egemaps import condition_functionals
    from trnet.corrupt.clip import clip
    from trnet.train.fold_run import train_fold

    folds, dump = make_audio_layout(tmp_path)
    with_feats(dump)
    corrupted = dump / "clip-0.1"
    shutil.copytree(dump / "clean", corrupted)  # its features; the audio is clipped below
    for line in (corrupted / "wav.scp").read_text().splitlines():
        utt, path = line.split()
        wave, sr = sf.read(path, dtype="float32")
        sf.write(corrupted / "wav" / f"{utt}.wav", clip(wave, 0.1).wave, sr)
    (corrupted / "wav.scp").write_text(
        (corrupted / "wav.scp").read_text().replace(str(dump / "clean"), str(corrupted))
    )
    raw = {
        "system": "noisy_corrupt",
        "model": {"channels": [4], "emb_dim": 4, "hidden": 8, "functionals": True,
                  "functionals_norm": "train", "functionals_head": "kernel", "kernel_dim": 64},
        "data": {"input": "noisy", "snrs": [10], "max_len": 16,
                 "train_corruptions": {"clip-0.1": 0.5}},
        "optim": {"lr": 1e-3},
        "train": {"batch_size": 8, "max_epochs": 1, "kernel_prefit": 2, "select": "last"},
    }  # fmt: skip
    out = train_fold(config_from_dict(raw, "toy"), 1, folds, dump, tmp_path / "exp", device="cpu")
    train = load_fold(folds, 1).train
    examples = every_train_example(train, ["clean", "esc50_train_10"], 0, {"clip-0.1": 0.5})
    drawn = Counter(c for _, c in examples)
    assert drawn["clip-0.1"] > 0 and drawn["clean"] + drawn["esc50_train_10"] > 0
    assert f"kernel branch prefitted on {len(examples)} examples" in (out / "train.log").read_text()
    x = np.stack([condition_functionals(dump, c, [u])[u] for u, c in examples])
    mean = checkpoint.load(out / "best.pt")["model"]["func_mean"].numpy()
    assert np.allclose(mean, x.mean(0), rtol=1e-4, atol=1e-5)
    assert (corrupted / "egemaps.ark").is_file()
    assert "clip-0.1" in SIGNATURE_RECORD.read(out)["inputs"]["dump"]
