"""The noise index on small ESC-50- and MUSAN-layout trees built here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from corpus_trees import write_noise
from typer.testing import CliRunner

from trnet.cli import app
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.noise.index import NOISE_SETS, build_noise_index, index_musan, resolve_noise_set

CATEGORIES = ("dog", "rain")


@pytest.fixture
def esc50(tmp_path: Path) -> Path:
    """5 folds x 2 categories x 1 clip, plus a zero-length and an unreadable clip in fold 1."""
    root = tmp_path / "ESC-50-master"
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for target, category in enumerate(CATEGORIES):
            name = f"{fold}-{100 + target}-A-{target}.wav"
            write_noise(root / "audio" / name, 0.25 * fold, sr=44100)
            rows.append(f"{name},{fold},{target},{category},False,{100 + target},A")
    write_noise(root / "audio" / "1-900-A-0.wav", 0.0)
    (root / "audio" / "1-901-A-0.wav").write_bytes(b"not a wav file at all")
    rows += ["1-900-A-0.wav,1,0,dog,False,900,A", "1-901-A-0.wav,1,0,dog,False,901,A"]
    (root / "meta").mkdir()
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root


def test_esc50_default_split_writes_three_sets(esc50, tmp_path):
    out = tmp_path / "noise"
    sets, skipped = build_noise_index(out, esc50=esc50)
    assert sorted(sets) == ["esc50", "esc50_dev", "esc50_train"]
    assert sorted((s.path.name, s.why.split(" ")[0]) for s in skipped) == [
        ("1-900-A-0.wav", "zero-length"),
        ("1-901-A-0.wav", "unreadable"),
    ]
    train = DataDir.load(out / "esc50_train")
    assert len(train.utts) == 6
    assert set(train["utt2fold"].values()) == {"1", "2", "3"}
    assert set(train["utt2category"].values()) == set(CATEGORIES)
    test = DataDir.load(out / "esc50")
    assert test.utts == ["5-100-A-0", "5-101-A-1"]
    assert test["utt2dur"] == {"5-100-A-0": "1.250", "5-101-A-1": "1.250"}
    assert test["wav.scp"]["5-100-A-0"] == str(esc50.resolve() / "audio" / "5-100-A-0.wav")
    assert test["utt2spk"] == {u: u for u in test.utts}
    assert DataDir.load(out / "esc50_dev")["utt2fold"] == {"4-100-A-0": "4", "4-101-A-1": "4"}


def test_esc50_split_option(esc50, tmp_path):
    sets, _ = build_noise_index(tmp_path / "n", esc50=esc50, esc50_split="train=1,2 dev=3 test=4,5")
    assert {name: len(clips) for name, clips in sets.items()} == {
        "esc50_train": 4,
        "esc50_dev": 2,
        "esc50": 4,
    }
    assert {c.fold for c in sets["esc50"]} == {4, 5}


@pytest.mark.parametrize(
    "split, message",
    [
        ("train=1 dev=2", "give train=, dev= and test="),
        ("train=1,2 dev=2 test=3", "a fold is in two roles"),
        ("train=a dev=1 test=2", "folds must be integers"),
        ("train=1 dev=2 test=9", r"folds \[9\] not in"),
        ("train=1 eval=2 test=3", "bad or repeated role 'eval'"),
    ],
)
def test_bad_esc50_split_is_an_option_error(esc50, tmp_path, split, message):
    with pytest.raises(TrnetError, match=f"--esc50-split: .*{message}"):
        build_noise_index(tmp_path / "n", esc50=esc50, esc50_split=split)


def test_musan_sets_categories_and_sources(musan, tmp_path):
    out = tmp_path / "noise"
    sets, skipped = build_noise_index(out, musan=musan)
    assert skipped == []
    noise = DataDir.load(out / "musan")
    assert noise.utts == [
        "noise-free-sound-0000",
        "noise-free-sound-0001",
        "noise-sound-bible-0000",
    ]
    assert set(noise["utt2category"].values()) == {"free-sound", "sound-bible"}
    assert noise["utt2source"]["noise-sound-bible-0000"] == "sound-bible"
    music = DataDir.load(out / "musan_music")
    assert music["utt2category"] == {"music-fma-0000": "pop", "music-fma-0001": "classical"}
    speech = DataDir.load(out / "musan_speech")
    assert speech["utt2dur"] == {"speech-librivox-0000": "0.700"}
    assert "utt2fold" not in noise


def test_missing_metadata_says_what_was_expected(tmp_path):
    (tmp_path / "esc" / "audio").mkdir(parents=True)
    with pytest.raises(TrnetError, match=r"esc: not an ESC-50 folder \(expected meta/esc50\.csv"):
        build_noise_index(tmp_path / "n", esc50=tmp_path / "esc")
    (tmp_path / "mu" / "music").mkdir(parents=True)
    with pytest.raises(TrnetError, match=r"mu: not a MUSAN folder \(expected noise/, music/"):
        index_musan(tmp_path / "mu")
    with pytest.raises(TrnetError, match="give --esc50 DIR and/or --musan DIR"):
        build_noise_index(tmp_path / "n")


def test_resolve_noise_set(musan, tmp_path):
    out = tmp_path / "noise"
    build_noise_index(out, musan=musan)
    assert resolve_noise_set("musan", out) == out / "musan"
    assert (
        resolve_noise_set(str(out / "musan_music"), tmp_path / "elsewhere") == out / "musan_music"
    )
    with pytest.raises(TrnetError, match="unknown noise set 'musan_noise'; known: esc50_train, "):
        resolve_noise_set("musan_noise", out)
    with pytest.raises(TrnetError, match=r"esc50_dev: noise set not indexed"):
        resolve_noise_set("esc50_dev", out)


def test_cli_prints_table_and_reindex_replaces_old_sets(esc50, musan, tmp_path):
    out = tmp_path / "noise"
    (out / "esc50").mkdir(parents=True)
    (out / "esc50" / "utt2stale").write_text("x y\n")
    args = ["noise-index", "--esc50", str(esc50), "--musan", str(musan), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("esc50_train", "esc50_dev", "esc50", "musan", "musan_music", "musan_speech"):
        assert name in result.output
        assert (out / name / "wav.scp").is_file()
    assert not (out / "esc50" / "utt2stale").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_a_reindex_of_the_same_corpora_leaves_every_set_untouched(esc50, musan, tmp_path):
    """The recipe's stage 1 indexes on every run: the same corpora keep the sets as they
    are (and so what was mixed from them); a corpus that changed replaces its set."""
    out = tmp_path / "noise"
    build_noise_index(out, esc50=esc50, musan=musan)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    stamps = [p.stat().st_mtime_ns for p in files]
    build_noise_index(out, esc50=esc50, musan=musan)
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert [p.stat().st_mtime_ns for p in files] == stamps
    write_noise(musan / "noise" / "sound-bible" / "noise-sound-bible-0000.wav", 0.4)
    build_noise_index(out, esc50=esc50, musan=musan)
    assert "noise-sound-bible-0000 0.400" in (out / "musan" / "utt2dur").read_text()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_sets_of_a_generated_corpus_say_so_and_mixing_reads_it(esc50, musan, tmp_path):
    """``trnet make-corpus`` writes TRNET_GENERATED beside ESC-50-master/ and musan/: the
    sets indexed from there are generated; without the marker they are real, as before."""
    from trnet.mix.noiseset import NoiseSet

    real = tmp_path / "real"
    build_noise_index(real, esc50=esc50, musan=musan)
    assert not any((real / name / "noise.json").exists() for name in NOISE_SETS)
    assert not NoiseSet.load(real / "esc50").generated
    (tmp_path / "TRNET_GENERATED").write_text("{}\n")
    gen = tmp_path / "gen"
    build_noise_index(gen, esc50=esc50, musan=musan)
    for name in NOISE_SETS:
        assert json.loads((gen / name / "noise.json").read_text()) == {"generated": True}
        assert NoiseSet.load(gen / name).generated
    # the marker goes with the corpus folder: a real MUSAN elsewhere stays real
    other = tmp_path / "elsewhere" / "musan"
    shutil.copytree(musan, other)
    both = tmp_path / "both"
    build_noise_index(both, esc50=esc50, musan=other)
    assert NoiseSet.load(both / "esc50_train").generated
    assert not NoiseSet.load(both / "musan").generated
