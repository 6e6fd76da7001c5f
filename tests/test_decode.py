"""``trnet decode`` writes the decode dirs of docs/formats.md, and skips complete ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import kaldiio
import numpy as np
import pytest
from ser_toy import make_toy, toy_config

from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.scoring.metrics import CLASSES
from trnet.train.decode import decode
from trnet.train.trainer import train_fold

CONDITIONS = ["clean", "esc50_0", "musan_0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dec")
    folds, dump = make_toy(root, per_speaker=4)
    exp = root / "exp"
    for system in ("baseline_clean", "trnet"):
        cfg = toy_config(system, z_clean_from=str(exp / "baseline_clean" / "fold{fold}"), epochs=1)
        train_fold(cfg, 1, folds, dump, exp / system / "fold1", device="cpu")
    return {"folds": folds, "dump": dump, "exp": exp}


@pytest.mark.parametrize("system", ["baseline_clean", "trnet"])
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
        }


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
