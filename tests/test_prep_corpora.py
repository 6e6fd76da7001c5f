"""Stage 0 for RAVDESS, CREMA-D, EmoDB and MSP-Podcast on tiny trees in their real layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from corpus_trees import make_cremad, make_emodb, make_msp, make_ravdess
from typer.testing import CliRunner

from trnet.audio import read_audio
from trnet.cli import app
from trnet.data.folds import write_folds
from trnet.data.validate import validate
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.prep import prepare
from trnet.prep.common import parse_map
from trnet.prep.ravdess import DEFAULT_MAP


def _skipped(out: Path, root: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in (out / "local/skipped.tsv").read_text().splitlines()]
    assert rows[0] == ["item", "reason"]
    return {item.replace(str(root), "ROOT"): reason for item, reason in rows[1:]}


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("db")
    return {
        "ravdess": make_ravdess(base),
        "cremad": make_cremad(base),
        "emodb": make_emodb(base),
        "msppodcast": make_msp(base),
    }


def test_ravdess_keeps_audio_only_speech_at_its_own_rate(trees, tmp_path):
    root, out = trees["ravdess"], tmp_path / "ravdess"
    report = prepare("ravdess", root, out)
    utt2emo, raw = read_kv(out / "utt2emo"), read_kv(out / "utt2emo_raw")
    assert len(utt2emo) == 12 and report.dropped == {"calm": 4}
    assert utt2emo["ravdess02-03-01-05-02-01-01-02"] == "ang"
    assert raw["ravdess03-03-01-03-01-01-02-03"] == "happy"
    assert read_kv(out / "utt2spk")["ravdess04-03-01-01-01-01-01-04"] == "ravdess04"
    assert set(read_kv(out / "spk2utt")) == {f"ravdess0{a}" for a in range(1, 5)}
    gender = read_kv(out / "utt2gender")
    assert gender["ravdess01-03-01-01-01-01-01-01"] == "m"
    assert gender["ravdess02-03-01-01-01-01-01-02"] == "f"
    stereo = root / "Actor_01/03-01-05-02-01-01-01.wav"
    assert read_kv(out / "wav.scp")["ravdess01-03-01-05-02-01-01-01"] == str(stereo)
    assert read_kv(out / "utt2dur")["ravdess01-03-01-05-02-01-01-01"] == "0.250"
    assert json.loads((out / "corpus.json").read_text()) == {
        "corpus": "ravdess",
        "root": str(root),
        "generated": False,
        "sample_rate": 48000,
    }
    assert validate(out, sample_rate=48000) == []
    assert report.counts["ravdess01"] == {"neu": 1, "hap": 1, "ang": 1}


def test_ravdess_lists_song_video_and_bad_names_in_skipped(trees, tmp_path):
    root, out = trees["ravdess"], tmp_path / "ravdess"
    report = prepare("ravdess", root, out)
    assert _skipped(out, root) == {
        "ROOT/Actor_01/03-02-03-01-01-01-01.wav": (
            "song (vocal channel 02), not used: only speech (01) is"
        ),
        "ROOT/Actor_02/02-01-04-01-01-01-02.mp4": (
            "modality 02 (video-only), not used: only audio-only (03) is"
        ),
        "ROOT/Actor_03/03-01-05-01-01-03.wav": "file name does not follow MM-VV-EE-II-SS-RR-AA.wav",
        "ROOT/Actor_04/03-01-04-01-01-01-05.wav": (
            "actor 05 in the name but the file is in Actor_04"
        ),
    }
    assert report.n_skipped == 4


def test_stereo_48k_file_reads_as_16k_mono(trees):
    wave = read_audio(trees["ravdess"] / "Actor_01/03-01-05-02-01-01-01.wav")
    assert wave.ndim == 1 and wave.dtype == np.float32 and wave.shape == (4000,)
    assert sf.info(str(trees["ravdess"] / "Actor_01/03-01-05-02-01-01-01.wav")).channels == 2


def test_class_map_option_merges_calm_and_drops_on_request(trees, tmp_path):
    out = tmp_path / "ravdess"
    report = prepare("ravdess", trees["ravdess"], out, class_map=["calm=neu", "Happy=drop"])
    utt2emo, raw = read_kv(out / "utt2emo"), read_kv(out / "utt2emo_raw")
    assert utt2emo["ravdess01-03-01-02-01-02-01-01"] == "neu"
    assert raw["ravdess01-03-01-02-01-02-01-01"] == "calm"
    assert sorted(set(raw.values())) == ["angry", "calm", "neutral"]
    assert report.dropped == {"happy": 4} and report.total == 12
    assert parse_map([], DEFAULT_MAP) == DEFAULT_MAP
    with pytest.raises(TrnetError, match=r"--map joy=hap: unknown label 'joy'; labels: neutral"):
        parse_map(["joy=hap"], DEFAULT_MAP)
    with pytest.raises(TrnetError, match=r"--map calm=fear: unknown class 'fear'"):
        parse_map(["calm=fear"], DEFAULT_MAP)
    with pytest.raises(TrnetError, match=r"--map calm: expected LABEL=CLASS"):
        parse_map(["calm"], DEFAULT_MAP)


def test_cremad_labels_genders_and_skips(trees, tmp_path):
    root, out = trees["cremad"], tmp_path / "cremad"
    report = prepare("cremad", root, out)
    assert read_kv(out / "utt2emo") == {
        "cremad1001-1001_DFA_ANG_XX": "ang",
        "cremad1001-1001_IEO_HAP_HI": "hap",
        "cremad1002-1002_IEO_SAD_MD": "sad",
        "cremad1002-1002_TIE_NEU_XX": "neu",
        "cremad1091-1091_ITS_ANG_XX": "ang",
    }
    assert read_kv(out / "utt2emo_raw")["cremad1002-1002_TIE_NEU_XX"] == "NEU"
    assert set(read_kv(out / "utt2gender").items()) >= {
        ("cremad1001-1001_DFA_ANG_XX", "m"),
        ("cremad1091-1091_ITS_ANG_XX", "f"),
    }
    assert report.dropped == {"DIS": 1, "FEA": 1}
    skipped = _skipped(out, root)
    bad = "file name does not follow <actor>_<sentence>_<EMO>_<LO|MD|HI|XX>.wav"
    assert skipped["ROOT/AudioWAV/1040_ITH_SAD_X.wav"] == bad
    assert skipped["ROOT/AudioWAV/0999_DFA_ANG_XX.wav"] == f"{bad} (actor 0999 not in 1001-1091)"
    assert skipped["ROOT/AudioWAV/1076_MTI_SAD_XX.wav"].startswith("unreadable audio (")
    assert len(skipped) == 3
    assert validate(out) == []


def test_emodb_labels_speakers_and_genders(trees, tmp_path):
    root, out = trees["emodb"], tmp_path / "emodb"
    report = prepare("emodb", root, out)
    assert read_kv(out / "utt2emo") == {
        "emodb03-03a01Fa": "hap",
        "emodb03-03b10Nc": "neu",
        "emodb08-08a01Wa": "ang",
        "emodb09-09a05Tb": "sad",
        "emodb16-16b03Fd": "hap",
    }
    assert read_kv(out / "utt2emo_raw")["emodb08-08a01Wa"] == "anger"
    assert read_kv(out / "utt2gender") == {
        "emodb03-03a01Fa": "m",
        "emodb03-03b10Nc": "m",
        "emodb08-08a01Wa": "f",
        "emodb09-09a05Tb": "f",
        "emodb16-16b03Fd": "f",
    }
    assert report.dropped == {"boredom": 1}
    skipped = _skipped(out, root)
    assert skipped["ROOT/wav/07a01Fa.wav"].endswith(
        "(speaker 07 is not one of 03 08 09 10 11 12 13 14 15 16)"
    )
    assert skipped["ROOT/wav/03a01Xa.wav"].endswith("(emotion letter X not in WLEAFTN)")
    assert skipped["ROOT/wav/11a02Fb.wav"] == "empty audio file" and len(skipped) == 3
    assert validate(out) == []


def test_msp_podcast_speakers_unknown_split_and_bad_rows(trees, tmp_path):
    root, out = trees["msppodcast"], tmp_path / "msp"
    report = prepare("msppodcast", root, out)
    utt2spk = read_kv(out / "utt2spk")
    assert utt2spk == {
        "msp0030-MSP-PODCAST_0001_0008": "msp0030",
        "msp0030-MSP-PODCAST_0001_0009": "msp0030",
        "msp0039-MSP-PODCAST_0004_0001": "msp0039",
        "msp0127-MSP-PODCAST_0003_0001": "msp0127",
        "msp1204-MSP-PODCAST_0005_0001": "msp1204",
        "mspunk0002-MSP-PODCAST_0002_0001": "mspunk0002",
        "mspunk0002-MSP-PODCAST_0002_0002": "mspunk0002",
    }
    assert read_kv(out / "utt2emo")["mspunk0002-MSP-PODCAST_0002_0001"] == "hap"
    assert read_kv(out / "utt2emo_raw")["msp0127-MSP-PODCAST_0003_0001"] == "sadness"
    assert read_kv(out / "utt2split")["msp1204-MSP-PODCAST_0005_0001"] == "Test2"
    gender = read_kv(out / "utt2gender")
    assert gender["mspunk0002-MSP-PODCAST_0002_0001"] == "u"
    assert gender["mspunk0002-MSP-PODCAST_0002_0002"] == "f"
    assert report.dropped == {"contempt": 1, "noagreement": 1}
    csv_path = "ROOT/Labels/labels_consensus.csv"
    assert _skipped(out, root) == {
        f"{csv_path}:11": "EmoClass 'Q' not in AHNSCDFUOX",
        "ROOT/Audios/MSP-PODCAST_0006_0001.wav": "missing audio file",
    }
    assert validate(out) == []


def test_msp_official_split_is_one_fold(trees, tmp_path):
    out = tmp_path / "msp"
    prepare("msppodcast", trees["msppodcast"], out)
    result = CliRunner().invoke(
        app, ["folds", str(out), str(tmp_path / "folds"), "--protocol", "official"]
    )
    assert result.exit_code == 0, result.output
    fold = tmp_path / "folds/official/fold1"
    assert sorted(p.name for p in (tmp_path / "folds/official").iterdir() if p.is_dir()) == [
        "fold1"
    ]
    assert set(read_kv(fold / "test/utt2split").values()) == {"Test1"}
    assert list(read_kv(fold / "dev/utt2spk")) == ["msp0127-MSP-PODCAST_0003_0001"]
    assert len(read_kv(fold / "train/utt2spk")) == 4
    assert "Test2" not in {
        v for r in ("train", "dev", "test") for v in read_kv(fold / r / "utt2split").values()
    }


def test_kfold_folds_are_speaker_disjoint_and_fixed_by_seed(trees, tmp_path):
    out = tmp_path / "ravdess"
    prepare("ravdess", trees["ravdess"], out)
    folds, _ = write_folds(out, tmp_path / "a", "kfold", k=2, seed=3, n_dev_speakers=1)
    write_folds(out, tmp_path / "b", "kfold", k=2, seed=3, n_dev_speakers=1)
    for fold in folds:
        spk = {
            r: set(read_kv(tmp_path / f"a/kfold/{fold.name}/{r}/utt2spk").values())
            for r in ("train", "dev", "test")
        }
        assert not (
            spk["train"] & spk["dev"] or spk["train"] & spk["test"] or spk["dev"] & spk["test"]
        )
        assert spk["train"] | spk["dev"] | spk["test"] == {f"ravdess0{a}" for a in range(1, 5)}
        assert len(spk["dev"]) == 1
    files_a = sorted(
        p.relative_to(tmp_path / "a")
        for p in (tmp_path / "a").rglob("*")
        if p.is_file() and p.name != ".folds.json"
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b")
        for p in (tmp_path / "b").rglob("*")
        if p.is_file() and p.name != ".folds.json"
    )
    assert files_a == files_b
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )
    tests = {
        seed: [
            f.test_spk for f in write_folds(out, tmp_path / f"s{seed}", "kfold", k=2, seed=seed)[0]
        ]
        for seed in range(6)
    }
    assert len({tuple(t) for t in tests.values()}) > 1  # the seed does choose the split


def test_resumes_when_done_and_refuses_other_options(trees, tmp_path):
    out = tmp_path / "emodb"
    prepare("emodb", trees["emodb"], out)
    assert prepare("emodb", trees["emodb"], out).up_to_date
    with pytest.raises(TrnetError, match="exists with other settings; use --overwrite"):
        prepare("emodb", trees["emodb"], out, class_map=["boredom=neu"])
    report = prepare("emodb", trees["emodb"], out, class_map=["boredom=neu"], overwrite=True)
    assert report.total == 6 and not report.up_to_date


def _cli_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, TrnetError)
    message = str(result.exception)
    assert "\n" not in message
    return message


def test_wrong_corpus_roots_give_one_line_naming_what_was_expected(trees, tmp_path):
    out = str(tmp_path / "d")
    cremad, ravdess, emodb, msp = (trees[c] for c in ("cremad", "ravdess", "emodb", "msppodcast"))
    assert _cli_error(["prep", "ravdess", str(cremad), out]) == (
        f"{cremad}: no Actor_XX/ folders; expected RAVDESS's Actor_01..Actor_24 with "
        "03-01-EE-II-SS-RR-AA.wav files (this looks like CREMA-D)"
    )
    assert _cli_error(["prep", "cremad", str(ravdess), out]) == (
        f"{ravdess}: no AudioWAV/ folder; expected CREMA-D's AudioWAV/ with "
        "<actor>_<sentence>_<EMO>_<level>.wav files (this looks like RAVDESS)"
    )
    assert _cli_error(["prep", "emodb", str(msp), out]).endswith(
        "(03a01Fa.wav) (this looks like MSP-Podcast)"
    )
    assert _cli_error(["prep", "msppodcast", str(emodb), out]) == (
        f"{emodb}: no Labels/labels_consensus.csv; expected MSP-Podcast's "
        "Labels/labels_consensus.csv and Audios/<FileName> (this looks like EmoDB)"
    )
    assert _cli_error(["prep", "ravdess", str(ravdess.parent), out]).endswith(
        f"(did you mean {ravdess}?)"
    )
    missing = tmp_path / "nowhere"
    assert _cli_error(["prep", "emodb", str(missing), out]).startswith(f"{missing}: not found;")
    assert _cli_error(["prep", "ravdess", str(ravdess), out, "--map", "calm=joy"]).startswith(
        "--map calm=joy: unknown class 'joy'"
    )


def test_cli_prints_the_class_map_and_counts(trees, tmp_path):
    args = ["prep", "ravdess", str(trees["ravdess"]), str(tmp_path / "d"), "--map", "calm=neu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "class map" in result.output and "ravdess04" in result.output
    rows = [line for line in result.output.splitlines() if "calm" in line or "fearful" in line]
    assert any("neu" in row and "4" in row for row in rows if "calm" in row)
    assert any("dropped" in row for row in rows if "fearful" in row)
    assert "skipped: 4" in result.output
