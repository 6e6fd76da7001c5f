"""Fold protocols: leave-one-speaker-out, leave-one-session-out, seeded speaker k-fold."""

from __future__ import annotations

import json

import pytest
from cli_main import run_main
from typer.testing import CliRunner

from trnet.cli import app
from trnet.data.datadir import DataDir
from trnet.data.folds import session_folds, speaker_folds, speaker_kfold, write_folds
from trnet.errors import TrnetError
from trnet.io import read_kv

SPEAKERS = [f"Ses{s:02d}{g}" for s in range(1, 6) for g in "FM"]


def iemocap_like(n_per_speaker: int = 3) -> tuple[dict[str, str], dict[str, str]]:
    """utt2spk, utt2session of 10 speakers in 5 sessions (listed in a scrambled order)."""
    utt2spk, utt2session = {}, {}
    for spk in reversed(SPEAKERS):
        for i in range(n_per_speaker):
            utt = f"{spk}-{spk[:5]}F_impro0{i}_{spk[5]}00{i}"
            utt2spk[utt], utt2session[utt] = spk, spk[:5]
    return utt2spk, utt2session


def _roles_are_disjoint_and_complete(fold, utt2spk) -> None:
    roles = [set(fold.train_spk), set(fold.dev_spk), set(fold.test_spk)]
    assert not (roles[0] & roles[1] or roles[0] & roles[2] or roles[1] & roles[2])
    assert set().union(*roles) == set(utt2spk.values())
    assert sorted(fold.train + fold.dev + fold.test) == sorted(utt2spk)
    assert {utt2spk[u] for u in fold.test} == roles[2]


def test_speaker_folds_test_one_speaker_and_dev_on_its_partner():
    utt2spk, utt2session = iemocap_like()
    folds = speaker_folds(utt2spk, utt2session)
    assert [f.test_spk for f in folds] == [(s,) for s in SPEAKERS]
    assert [f.dev_spk[0] for f in folds[:4]] == ["Ses01M", "Ses01F", "Ses02M", "Ses02F"]
    assert [f.name for f in folds] == [f"fold{k}" for k in range(1, 11)]
    for fold in folds:
        assert fold.dev_spk[0][:5] == fold.test_spk[0][:5] and len(fold.train_spk) == 8
        _roles_are_disjoint_and_complete(fold, utt2spk)


def test_session_folds_dev_on_the_next_session_wrapping():
    utt2spk, utt2session = iemocap_like()
    folds = session_folds(utt2spk, utt2session)
    assert len(folds) == 5
    assert folds[0].test_spk == ("Ses01F", "Ses01M") and folds[0].dev_spk == ("Ses02F", "Ses02M")
    assert folds[4].test_spk == ("Ses05F", "Ses05M") and folds[4].dev_spk == ("Ses01F", "Ses01M")
    for fold in folds:
        assert len(fold.train_spk) == 6
        _roles_are_disjoint_and_complete(fold, utt2spk)


def test_kfold_is_fixed_by_the_seed_and_covers_every_speaker_once():
    utt2spk, _ = iemocap_like()
    folds = speaker_kfold(utt2spk, k=4, seed=7, n_dev_speakers=2)
    assert folds == speaker_kfold(dict(reversed(utt2spk.items())), k=4, seed=7, n_dev_speakers=2)
    assert [f.test_spk for f in folds] != [f.test_spk for f in speaker_kfold(utt2spk, 4, seed=8)]
    assert sorted(s for f in folds for s in f.test_spk) == SPEAKERS
    assert sorted(len(f.test_spk) for f in folds) == [2, 2, 3, 3]
    for fold in folds:
        assert len(fold.dev_spk) == 2
        _roles_are_disjoint_and_complete(fold, utt2spk)


def test_errors_name_the_problem():
    utt2spk, utt2session = iemocap_like()
    one_session = {u: s for u, s in utt2spk.items() if s.startswith("Ses01")}
    with pytest.raises(TrnetError, match=r"fold1: empty train set \(test Ses01F, dev Ses01M"):
        speaker_folds(one_session, utt2session)
    with pytest.raises(TrnetError, match="session Ses03 has 1 speaker"):
        speaker_folds({u: s for u, s in utt2spk.items() if s != "Ses03M"}, utt2session)
    with pytest.raises(TrnetError, match="10 speakers cannot make 11 folds"):
        speaker_kfold(utt2spk, k=11, seed=0, n_dev_speakers=1)
    with pytest.raises(TrnetError, match="10 speakers cannot make 2 folds with 5 dev"):
        speaker_kfold(utt2spk, k=2, seed=0, n_dev_speakers=5)


def test_kfold_with_one_speaker_per_fold_is_leave_one_speaker_out():
    utt2spk, _ = iemocap_like()  # 10 speakers, as EmoDB has
    folds = speaker_kfold(utt2spk, k=10, seed=0, n_dev_speakers=1)
    assert sorted(s for f in folds for s in f.test_spk) == SPEAKERS
    for fold in folds:
        assert len(fold.test_spk) == 1 and len(fold.dev_spk) == 1 and len(fold.train_spk) == 8
        _roles_are_disjoint_and_complete(fold, utt2spk)


@pytest.fixture
def data_dir(tmp_path):
    utt2spk, utt2session = iemocap_like()
    path = tmp_path / "data"
    utt2emo = {u: "neu" for u in utt2spk}
    DataDir(tables={"utt2spk": utt2spk, "utt2session": utt2session, "utt2emo": utt2emo}).write(path)
    (path / "corpus.json").write_text(json.dumps({"corpus": "iemocap", "generated": True}))
    return path


def test_write_folds_writes_kaldi_dirs_and_resumes(data_dir, tmp_path):
    out = tmp_path / "folds"
    folds, up_to_date = write_folds(data_dir, out, "speaker")
    assert not up_to_date and len(folds) == 10
    fold3 = out / "speaker/fold3"
    assert set(read_kv(fold3 / "test/utt2spk").values()) == {"Ses02F"}
    assert set(read_kv(fold3 / "dev/spk2utt")) == {"Ses02M"}
    assert len(read_kv(fold3 / "train/utt2emo")) == 24
    assert (fold3 / "train/corpus.json").read_text() == (data_dir / "corpus.json").read_text()
    rows = (out / "speaker/folds.tsv").read_text().splitlines()
    assert rows[3] == "fold3\tSes02F\tSes02M\t24\t3\t3"
    assert write_folds(data_dir, out, "speaker")[1]  # complete: nothing redone
    (data_dir / "utt2emo").write_text((data_dir / "utt2emo").read_text().replace("neu", "sad"))
    with pytest.raises(TrnetError, match="speaker: exists with other settings; use --overwrite"):
        write_folds(data_dir, out, "speaker")
    write_folds(data_dir, out, "speaker", overwrite=True)
    assert set(read_kv(fold3 / "test/utt2emo").values()) == {"sad"}


def test_cli_folds_prints_a_table_and_names_an_empty_fold(data_dir, tmp_path, monkeypatch, capsys):
    result = CliRunner().invoke(
        app, ["folds", str(data_dir), str(tmp_path / "f"), "--protocol", "kfold", "--k", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "fold3" in result.output and (tmp_path / "f/kfold/fold3/test/utt2spk").is_file()
    small = tmp_path / "small"
    data = DataDir.load(data_dir)
    data.subset([u for u in data.utts if u.startswith("Ses01")]).write(small)
    result = run_main(["folds", small, tmp_path / "f"], monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line == (
        f"{small}: fold1: empty train set (test Ses01F, dev Ses01M, 2 speakers in all)"
    )
