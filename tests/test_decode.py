"""``trnet decode`` writes the decode dirs of docs/formats.md, and skips complete ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
from ser_toy import make_toy, toy_config

from trnet import checkpoint
from trnet.contract import CLASSES
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.models.factory import build_ser_model
from trnet.train.config import config_from_dict
from trnet.train.decode import decode
from trnet.train.fold_run import train_fold

CONDITIONS = ["clean", "esc50_0", "musan_0"]
SYSTEMS = ["baseline_clean", "baseline_enhanced", "trnet"]  # input noisy, enhanced, blend


def _perturb_best(exp_fold: Path) -> None:
    """Make ``best.pt`` differ from the last epoch's checkpoint (as when an earlier epoch
    was best), so a test sees which of the two decode reads."""
    best = checkpoint.load(exp_fold / "best.pt")
    gen = torch.Generator().manual_seed(7)
    for name, tensor in best["model"].items():  # small enough not to saturate the softmax
        if tensor.is_floating_point() and "running_" not in name:
            tensor += 0.05 * torch.randn(tensor.shape, generator=gen)
    checkpoint.save(exp_fold / "best.pt", best)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dec")
    folds, dump = make_toy(root, per_speaker=4)
    exp = root / "exp"
    for system in SYSTEMS:
        cfg = toy_config(system, z_clean_from=str(exp / "baseline_clean" / "fold{fold}"), epochs=1)
        train_fold(cfg, 1, folds, dump, exp / system / "fold1", device="cpu")
        _perturb_best(exp / system / "fold1")
    return {"folds": folds, "dump": dump, "exp": exp}


def forward(weights: dict, raw_config: dict, dump: Path, condition: str, utts: list[str]) -> dict:
    """Posteriors of each utterance, one at a time, computed here from the dump's arks:
    the input kind picks ``<condition>`` and/or ``<condition>_enh``, cut or tiled to
    ``max_len`` frames."""
    cfg = config_from_dict(raw_config)
    model = build_ser_model(cfg.model)
    model.load_state_dict(weights)
    model.eval()
    noisy = dict(kaldiio.load_scp(str(dump / condition / "feats.scp")))
    enh = dict(kaldiio.load_scp(str(dump / f"{condition}_enh" / "feats.scp")))

    def fit(x: np.ndarray) -> torch.Tensor:
        x = np.concatenate([x] * (cfg.data.max_len // len(x) + 1))[: cfg.data.max_len]
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]

    post = {}
    with torch.no_grad():
        for utt in utts:
            if cfg.data.input == "noisy":
                args = (fit(noisy[utt]),)
            elif cfg.data.input == "enhanced":
                args = (fit(enh[utt]),)
            else:
                args = (fit(noisy[utt]), fit(enh[utt]))
            post[utt] = torch.softmax(model(*args)["logits"], -1)[0].numpy()
    return post


def read_posteriors(d: Path) -> dict[str, np.ndarray]:
    return {u: np.array(v.split(), dtype=float) for u, v in read_kv(d / "posteriors").items()}


@pytest.mark.parametrize("system", SYSTEMS)
def test_decode_dirs_follow_the_format(trained: dict[str, Path], system: str) -> None:
    test_dir = trained["folds"] / "fold1" / "test"
    out = trained["exp"] / system / "decode"
    dirs = decode(
        trained["exp"] / system / "fold1", trained["dump"], test_dir, CONDITIONS, out, batch_size=3
    )
    assert dirs == [out / c / "fold1" for c in CONDITIONS]
    utts = sorted(read_kv(test_dir / "utt2spk"))
    for cond, d in zip(CONDITIONS, dirs, strict=True):
        hyp, ref, post = read_kv(d / "hyp"), read_kv(d / "ref"), read_kv(d / "posteriors")
        assert sorted(hyp) == sorted(ref) == sorted(post) == utts
        assert ref == read_kv(test_dir / "utt2emo")
        assert (d / "classes").read_text().split() == list(CLASSES)
        for utt, row in post.items():
            p = np.array(row.split(), dtype=float)
            assert p.shape == (4,) and p.sum() == pytest.approx(1, abs=1e-4)
            assert hyp[utt] == CLASSES[int(p.argmax())]
        # the posteriors are best.pt's on this condition's input kind, not the last epoch's
        best = checkpoint.load(trained["exp"] / system / "fold1" / "best.pt")
        want = forward(best["model"], best["config"], trained["dump"], cond, utts)
        for utt, row in post.items():
            np.testing.assert_allclose(np.array(row.split(), dtype=float), want[utt], atol=2e-6)
        last = checkpoint.load(trained["exp"] / system / "fold1" / "checkpoints" / "epoch1.pt")
        stale = forward(last["model"], best["config"], trained["dump"], cond, utts)
        assert max(abs(stale[u] - want[u]).max() for u in utts) > 1e-3
        assert (d / "utt2s").is_file() == (system == "trnet")
        if system == "trnet":
            assert all(0 <= float(v) <= 1 for v in read_kv(d / "utt2s").values())
        emb = dict(kaldiio.load_scp(str(d / "emb.scp")))
        assert sorted(emb) == utts and {np.asarray(v).shape for v in emb.values()} == {(8,)}
        info = json.loads((d / "info.json").read_text())
        noise, snr = ("clean", None) if cond == "clean" else (cond.split("_")[0], 0)
        assert info == {
            "system": system,
            "fold": 1,
            "condition": cond,
            "noise": noise,
            "snr": snr,
            "corpus": "iemocap",
            "generated": True,
            "noise_generated": False,
        }


def test_info_says_whether_the_condition_was_mixed_with_generated_noise(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """``noise_generated`` comes from the condition's corpus.json in the dump (trnet mix
    writes it there for a generated noise set): a real corpus can be mixed with such noise."""
    dump = tmp_path / "dump"
    shutil.copytree(trained["dump"], dump)
    real = {"corpus": "iemocap", "root": "x", "generated": False}
    (dump / "clean" / "corpus.json").write_text(json.dumps(real))
    (dump / "esc50_0" / "corpus.json").write_text(json.dumps({**real, "noise_generated": True}))
    dirs = decode(
        trained["exp"] / "baseline_clean" / "fold1",
        dump,
        trained["folds"] / "fold1" / "test",
        CONDITIONS,
        tmp_path / "decode",
    )
    flags = [json.loads((d / "info.json").read_text())["noise_generated"] for d in dirs]
    assert flags == [False, True, False]  # clean; esc50_0; musan_0 (no corpus.json)


def test_complete_dirs_are_skipped_and_features_checked(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    test_dir = trained["folds"] / "fold1" / "test"
    exp_fold = trained["exp"] / "trnet" / "fold1"
    out = tmp_path / "decode"
    decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out)
    stamp = (out / "esc50_0" / "fold1" / "hyp").stat().st_mtime_ns
    decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out)
    assert (out / "esc50_0" / "fold1" / "hyp").stat().st_mtime_ns == stamp
    dump = tmp_path / "dump"
    shutil.copytree(trained["dump"], dump)
    shutil.rmtree(dump / "musan_0_enh")
    with pytest.raises(TrnetError, match=r"musan_0_enh/feats\.scp: missing"):
        decode(exp_fold, dump, test_dir, ["musan_0"], out)
    with pytest.raises(TrnetError, match="neither clean nor"):
        decode(exp_fold, dump, test_dir, ["musan"], out)


def test_a_complete_decode_is_found_without_importing_torch(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """A rerun's decode job whose dirs are all complete for this model, test set and inputs
    finds them without loading the model (no torch import, over a second per process); one
    with a condition still to do loads it and decodes."""
    test_dir = trained["folds"] / "fold1" / "test"
    exp_fold = trained["exp"] / "trnet" / "fold1"
    out = tmp_path / "decode"
    decode(exp_fold, trained["dump"], test_dir, ["clean", "esc50_0"], out)
    script = (
        "import sys\nfrom trnet.train.decode import decode\n"
        "dirs = decode(*sys.argv[1:4], sys.argv[4].split(), sys.argv[5])\n"
        "print(len(dirs), 'torch' in sys.modules)\n"
    )
    for conditions, want in (("clean esc50_0", "2 False"), ("clean esc50_0 musan_0", "3 True")):
        paths = [str(exp_fold), str(trained["dump"]), str(test_dir), conditions, str(out)]
        args = [sys.executable, "-c", script, *paths]
        done = subprocess.run(args, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines()[-1] == want, (conditions, done.stdout)
    assert (out / "musan_0" / "fold1" / ".done").is_file()


def test_an_ark_that_moved_is_a_one_line_error_naming_the_scp(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(trained["dump"], dump)
    scp = dump / "esc50_0" / "feats.scp"  # points at the copy's ark, then the ark goes
    scp.write_text(scp.read_text().replace(str(trained["dump"]), str(dump)))
    (dump / "esc50_0" / "feats.ark").unlink()
    test_dir = trained["folds"] / "fold1" / "test"
    with pytest.raises(TrnetError, match=r"esc50_0/feats\.scp:\d+: .*cannot read .* at offset \d+"):
        decode(
            trained["exp"] / "baseline_clean" / "fold1",
            dump,
            test_dir,
            ["esc50_0"],
            tmp_path / "decode",
        )


def test_a_decode_by_a_retrained_model_is_refused_then_redone_with_overwrite(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """A retrain changes best.pt: the decode made by the old model is not kept as complete."""
    test_dir = trained["folds"] / "fold1" / "test"
    utts = sorted(read_kv(test_dir / "utt2spk"))
    exp_fold = tmp_path / "exp" / "fold1"
    shutil.copytree(trained["exp"] / "baseline_clean" / "fold1", exp_fold)
    out = tmp_path / "decode"
    (dest,) = decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out)
    old_text = (dest / "posteriors").read_text()
    old = read_posteriors(dest)
    shutil.rmtree(exp_fold)  # retrain the fold with another seed
    cfg = toy_config("baseline_clean", epochs=1, seed=1)
    train_fold(cfg, 1, trained["folds"], trained["dump"], exp_fold, device="cpu")
    with pytest.raises(TrnetError, match=r"esc50_0/fold1: exists with other settings; use --ov"):
        decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out)
    assert (dest / "posteriors").read_text() == old_text  # refused: nothing rewritten
    decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out, overwrite=True)
    new = checkpoint.load(exp_fold / "best.pt")
    want = forward(new["model"], new["config"], trained["dump"], "esc50_0", utts)
    got = read_posteriors(dest)
    for utt in utts:
        np.testing.assert_allclose(got[utt], want[utt], atol=2e-6)
    assert any(abs(got[u] - old[u]).max() > 1e-3 for u in utts)
    # and complete again for the new model: a rerun skips it
    stamp = (dest / "hyp").stat().st_mtime_ns
    decode(exp_fold, trained["dump"], test_dir, ["esc50_0"], out)
    assert (dest / "hyp").stat().st_mtime_ns == stamp


def test_nan_posteriors_are_refused_naming_the_fold_and_utterance(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """A diverged model (a NaN weight): decode wrote NaN posteriors and hyp 'ang' for every
    utterance, which scoring counted."""
    fold = tmp_path / "trnet" / "fold1"
    shutil.copytree(trained["exp"] / "trnet" / "fold1", fold)
    best = checkpoint.load(fold / "best.pt")
    weight = next(k for k in best["model"] if k.startswith("classifier") and "weight" in k)
    best["model"][weight][0, 0] = float("nan")
    checkpoint.save(fold / "best.pt", best)
    test_dir = trained["folds"] / "fold1" / "test"
    first = sorted(read_kv(test_dir / "utt2spk"), key=lambda u: u.encode())[0]
    dest = tmp_path / "decode" / "clean" / "fold1"
    with pytest.raises(TrnetError) as err:
        decode(fold, trained["dump"], test_dir, ["clean"], tmp_path / "decode")
    assert str(err.value).startswith(f"trnet fold 1: NaN or infinite posteriors for {first} and ")
    assert str(err.value).endswith(f"(clean); nothing written to {dest}")
    assert not (dest / "posteriors").exists() and not (dest / "hyp").exists()


def test_a_corruption_condition_is_decoded_and_scored_under_its_own_name(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """A corruption condition dir (``trnet corrupt`` writes ``mp3-24k/``) is decoded by name;
    info.json names its corruption, and scoring reads it back as that condition, not as a
    noise at an SNR."""
    from trnet.scoring.decode_dir import load_decode_dir

    dump = tmp_path / "dump"
    shutil.copytree(trained["dump"], dump)
    shutil.copytree(dump / "esc50_0", dump / "mp3-24k")
    dirs = decode(
        trained["exp"] / "baseline_clean" / "fold1",
        dump,
        trained["folds"] / "fold1" / "test",
        ["clean", "mp3-24k"],
        tmp_path / "decode",
    )
    assert [d.parent.name for d in dirs] == ["clean", "mp3-24k"]
    info = json.loads((dirs[1] / "info.json").read_text())
    assert (info["noise"], info["snr"], info["corruption"]) == ("clean", None, "mp3-24k")
    assert "corruption" not in json.loads((dirs[0] / "info.json").read_text())
    scored = load_decode_dir(dirs[1])
    assert scored.condition == "mp3-24k" and scored.corruption == "mp3-24k"
    with pytest.raises(TrnetError, match="may not begin with a corruption's name"):
        decode(
            trained["exp"] / "baseline_clean" / "fold1",
            dump,
            trained["folds"] / "fold1" / "test",
            ["clip_0.05"],
            tmp_path / "decode2",
        )
