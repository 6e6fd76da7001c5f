"""Kaldi data-dir tools: validate (each fault kind), fix, subset, split, combine, CLI, utils/."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from trnet.cli import app
from trnet.data.datadir import DataDir, spk2utt_from
from trnet.data.ops import combine, fix, split, subset
from trnet.data.validate import validate
from trnet.errors import TrnetError

ROOT = Path(__file__).resolve().parents[1]
UTT2SPK = {
    "Ses01F-a": "Ses01F",
    "Ses01F-b": "Ses01F",
    "Ses01M-a": "Ses01M",
    "Ses01M-b": "Ses01M",
    "Ses02F-a": "Ses02F",
}
EMOS = ["ang", "hap", "neu", "sad", "neu"]
SR = 16000
SECONDS = 0.25


def write_table(path: Path, table: dict[str, str]) -> None:
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())))


def read_table(path: Path) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def tone(seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A valid 5-utterance, 3-speaker data dir with 16 kHz wavs, feats.scp, corpus.json."""
    d, wavs = tmp_path / "data", tmp_path / "wav"
    d.mkdir()
    wavs.mkdir()
    for utt in UTT2SPK:
        sf.write(wavs / f"{utt}.wav", tone(SECONDS), SR)
    write_table(d / "utt2spk", UTT2SPK)
    write_table(d / "spk2utt", spk2utt_from(UTT2SPK))
    write_table(d / "wav.scp", {u: str(wavs / f"{u}.wav") for u in UTT2SPK})
    write_table(d / "utt2emo", dict(zip(UTT2SPK, EMOS, strict=True)))
    write_table(d / "utt2dur", {u: f"{SECONDS}" for u in UTT2SPK})
    feats = {u: np.full((3, 4), i, dtype=np.float32) for i, u in enumerate(UTT2SPK)}
    kaldiio.save_ark(str(tmp_path / "feats.ark"), feats, scp=str(d / "feats.scp"))
    (d / "corpus.json").write_text(json.dumps({"corpus": "iemocap", "generated": True}))
    (d / "classes").write_text("ang\nhap\nneu\nsad\n")
    return d


def to_segments(d: Path) -> None:
    """Turn ``d`` into Kaldi's segments layout: wav.scp keyed by recording."""
    wav = read_table(d / "wav.scp")
    write_table(d / "wav.scp", {f"rec-{u}": path for u, path in wav.items()})
    write_table(d / "segments", {u: f"rec-{u} 0.00 0.20" for u in wav})


def edit(d: Path, name: str, **changes: str) -> None:
    table = read_table(d / name)
    table.update(changes)
    write_table(d / name, table)


def drop(d: Path, name: str, key: str) -> None:
    table = read_table(d / name)
    del table[key]
    write_table(d / name, table)


def wav_of(d: Path, utt: str) -> Path:
    return Path(read_table(d / "wav.scp")[utt])


def append(d: Path, name: str, line: str) -> None:
    with open(d / name, "a") as f:
        f.write(line + "\n")


def unsorted(d: Path) -> None:
    lines = (d / "utt2emo").read_text().splitlines()
    (d / "utt2emo").write_text("\n".join(reversed(lines)) + "\n")


def not_prefixed(d: Path) -> None:
    edit(d, "utt2spk", **{"Ses02F-a": "Ses01M"})
    write_table(d / "spk2utt", spk2utt_from(read_table(d / "utt2spk")))


def segments_with(value: str) -> Callable[[Path], None]:
    def breaker(d: Path) -> None:
        to_segments(d)
        edit(d, "segments", **{"Ses01M-a": value})

    return breaker


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "unsorted": (unsorted, r"utt2emo:2: not sorted in C order"),
    "duplicate id": (
        lambda d: append(d, "utt2dur", "Ses02F-a 0.25"),
        r"utt2dur: duplicate ids \(1\): Ses02F-a",
    ),
    "utt missing from a table": (
        lambda d: drop(d, "utt2emo", "Ses01F-b"),
        r"utt2emo: utterances of utt2spk missing \(1\): Ses01F-b",
    ),
    "extra utt in a table": (
        lambda d: append(d, "utt2dur", "Ses09M-z 1.0"),
        r"utt2dur: ids not in utt2spk \(1\): Ses09M-z",
    ),
    "spk2utt disagrees": (
        lambda d: edit(d, "spk2utt", Ses01F="Ses01F-a"),
        r"spk2utt: speakers disagreeing with utt2spk \(1\): Ses01F",
    ),
    "spk2utt missing": (lambda d: (d / "spk2utt").unlink(), r"spk2utt: missing"),
    "utt not speaker-prefixed": (
        not_prefixed,
        r"utt2spk: utterance ids not prefixed by their speaker id \(1\): Ses02F-a",
    ),
    "wav missing": (
        lambda d: wav_of(d, "Ses01M-b").unlink(),
        r"wav.scp: audio files not found \(1\): Ses01M-b",
    ),
    "wav at 8 kHz": (
        lambda d: sf.write(wav_of(d, "Ses01F-a"), tone(SECONDS, 8000), 8000),
        r"wav.scp: audio not at 16000 Hz \(1\): Ses01F-a \(8000 Hz\)",
    ),
    "wav unreadable": (
        lambda d: wav_of(d, "Ses01F-a").write_text("not audio"),
        r"wav.scp: unreadable audio files \(1\): Ses01F-a",
    ),
    "wav piped": (
        lambda d: edit(d, "wav.scp", **{"Ses01F-a": "sox a.wav -t wav - |"}),
        r"wav.scp: piped commands .*\(1\): Ses01F-a",
    ),
    "wav ark missing": (
        lambda d: edit(d, "wav.scp", **{"Ses01F-a": str(d / "nope.ark") + ":12"}),
        r"wav.scp: audio files not found \(1\): Ses01F-a",
    ),
    "wav replaced after the dir was made": (
        lambda d: sf.write(wav_of(d, "Ses01F-b"), tone(0.5), SR),
        r"wav.scp: audio durations disagreeing with utt2dur \(1\): Ses01F-b \(0.500 s, "
        r"utt2dur 0.25\)",
    ),
    "utt2dur zero": (
        lambda d: edit(d, "utt2dur", **{"Ses01F-a": "0"}),
        r"utt2dur: durations that are not positive numbers \(1\): Ses01F-a",
    ),
    "utt2dur not a number": (
        lambda d: edit(d, "utt2dur", **{"Ses01F-a": "long"}),
        r"utt2dur: durations that are not positive numbers \(1\): Ses01F-a",
    ),
    "utt2emo empty": (
        lambda d: edit(d, "utt2emo", **{"Ses01F-a": ""}),
        r"utt2emo: ids with an empty value \(1\): Ses01F-a",
    ),
    "utt2emo unknown class": (
        lambda d: edit(d, "utt2emo", **{"Ses01F-a": "exc"}),
        r"utt2emo: labels not in classes \(1\): Ses01F-a=exc",
    ),
    "feats ark missing": (
        lambda d: (d.parent / "feats.ark").unlink(),
        r"feats.scp: feature files not found \(5\)",
    ),
    "empty dir": (
        lambda d: [(d / n).write_text("") for n in ("utt2spk", "spk2utt")],
        r"utt2spk: empty data directory",
    ),
    "no utt2spk": (lambda d: (d / "utt2spk").unlink(), r"not a Kaldi data directory"),
    "segment recording unknown": (
        segments_with("rec-nope 0 0.2"),
        r"segments: recordings not in wav.scp \(1\): Ses01M-a",
    ),
    "segment start >= end": (
        segments_with("rec-Ses01M-a 0.2 0.1"),
        r"segments: segments without 0 <= start < end \(1\): Ses01M-a",
    ),
    "segment past recording end": (
        segments_with("rec-Ses01M-a 0 0.5"),
        r"segments: segments ending after their recording \(1\): Ses01M-a",
    ),
    "segment malformed": (
        segments_with("rec-Ses01M-a 0"),
        r"segments: lines not 'utt recording start end' \(1\): Ses01M-a",
    ),
}


def test_good_dir_is_valid(good):
    assert validate(good) == []
    to_segments(good)
    assert validate(good) == []


def test_ark_wav_entries_are_valid(good, tmp_path):
    audio = {u: (SR, (tone(SECONDS) * 32767).astype(np.int16)) for u in UTT2SPK}
    kaldiio.save_ark(str(tmp_path / "wav.ark"), audio, scp=str(good / "wav.scp"))
    assert validate(good) == []


@pytest.mark.parametrize("name", list(FAULTS))
def test_validate_catches_each_fault(good, name):
    breaker, pattern = FAULTS[name]
    breaker(good)
    problems = validate(good)
    assert len(problems) == 1, problems
    assert re.search(pattern, problems[0]), problems[0]
    assert str(good) in problems[0] and "\n" not in problems[0]


def test_validate_missing_dir_and_no_wav(good, tmp_path):
    assert validate(tmp_path / "nope") == [f"{tmp_path / 'nope'}: data directory not found"]
    wav_of(good, "Ses01F-a").unlink()
    assert validate(good, check_audio=False) == []


def test_fix_keeps_intersection_and_backs_up_originals(good):
    drop(good, "utt2emo", "Ses01F-b")
    append(good, "utt2dur", "Ses09M-z 1.0")
    unsorted(good)
    (good / "spk2utt").unlink()
    broken_emo = (good / "utt2emo").read_text()
    report = fix(good)
    assert report.kept == 4
    assert report.dropped == {"utt2spk": 1, "wav.scp": 1, "utt2dur": 2, "feats.scp": 1}
    assert validate(good) == []
    assert "Ses01F-b" not in read_table(good / "utt2spk")
    assert (good / ".backup" / "utt2emo").read_text() == broken_emo
    assert len(read_table(good / ".backup" / "utt2dur")) == 6
    again = fix(good)
    assert again.rewritten == [] and again.backup is None
    assert (good / ".backup" / "utt2emo").read_text() == broken_emo


def test_fix_drops_conflicting_duplicates_and_keeps_identical_ones(good):
    append(good, "utt2emo", "Ses02F-a neu")
    append(good, "utt2dur", "Ses02F-a 9.0")
    report = fix(good)
    assert report.kept == 4 and "Ses02F-a" not in read_table(good / "utt2spk")
    assert validate(good) == []
    (good / "utt2emo").write_text("")
    with pytest.raises(TrnetError, match="no utterance is in every table"):
        fix(good)
    assert len(read_table(good / "utt2spk")) == 4


def test_subset_by_list_and_speaker_copies_carried_files(good, tmp_path):
    dst = tmp_path / "sub"
    subset(good, dst, utt_list=["Ses02F-a", "Ses01F-a"])
    assert list(read_table(dst / "utt2spk")) == ["Ses01F-a", "Ses02F-a"]
    assert validate(dst) == []
    assert (dst / "corpus.json").read_bytes() == (good / "corpus.json").read_bytes()
    assert (dst / "classes").is_file()
    subset(good, tmp_path / "spk", spk_list=["Ses01M"])
    assert read_table(tmp_path / "spk" / "spk2utt") == {"Ses01M": "Ses01M-a Ses01M-b"}
    subset(good, tmp_path / "first", first=2)
    assert list(read_table(tmp_path / "first" / "utt2emo")) == ["Ses01F-a", "Ses01F-b"]


def test_subset_random_is_seeded_and_overwrite_is_explicit(good, tmp_path):
    subset(good, tmp_path / "r1", random=3, seed=7)
    subset(good, tmp_path / "r2", random=3, seed=7)
    for name in ("utt2spk", "spk2utt", "wav.scp", "feats.scp", "utt2emo"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes()
    assert len(read_table(tmp_path / "r1" / "utt2spk")) == 3
    with pytest.raises(TrnetError, match="already a data directory"):
        subset(good, tmp_path / "r1", first=1)
    (tmp_path / "r1" / "utt2stale").write_text("x y\n")
    subset(good, tmp_path / "r1", first=1, overwrite=True)
    assert not (tmp_path / "r1" / "utt2stale").exists()
    assert validate(tmp_path / "r1") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"utt_list": ["Ses01F-a", "Ses07F-x"]}, r"1 utterances of the list not in"),
        ({"spk_list": ["Ses07F"]}, r"speakers of the list not in"),
        ({"random": 6}, r"--random 6: must be between 1 and 5"),
        ({"first": 0}, r"--first 0"),
        ({"first": 1, "random": 1}, r"exactly one"),
    ],
)
def test_subset_rejects_bad_selections(good, tmp_path, kwargs, message):
    with pytest.raises(TrnetError, match=message):
        subset(good, tmp_path / "sub", **kwargs)
    assert not (tmp_path / "sub").exists()


def test_subset_with_segments_keeps_their_recordings(good, tmp_path):
    to_segments(good)
    subset(good, tmp_path / "sub", utt_list=["Ses01M-a"])
    assert list(read_table(tmp_path / "sub" / "wav.scp")) == ["rec-Ses01M-a"]
    assert validate(tmp_path / "sub") == []


def utts_of(parts: list[Path]) -> list[list[str]]:
    return [list(read_table(p / "utt2spk")) for p in parts]


def test_split_by_utt_is_contiguous_and_deterministic(good, tmp_path):
    parts = split(good, 2, by="utt")
    assert parts == [good / "split2utt" / "1", good / "split2utt" / "2"]
    assert utts_of(parts) == [["Ses01F-a", "Ses01F-b"], ["Ses01M-a", "Ses01M-b", "Ses02F-a"]]
    assert all(validate(p) == [] for p in parts)
    assert (parts[0] / "corpus.json").is_file()
    twin = tmp_path / "twin"
    shutil.copytree(good, twin, ignore=shutil.ignore_patterns("split*"))
    for mine, theirs in zip(parts, split(twin, 2, by="utt"), strict=True):
        for file in sorted(mine.iterdir()):
            assert file.read_bytes() == (theirs / file.name).read_bytes()
    assert utts_of(split(good, 5, by="utt")) == [[u] for u in UTT2SPK]


def test_split_by_spk_keeps_speakers_whole(good):
    parts = split(good, 2, by="spk")
    assert utts_of(parts) == [["Ses01F-a", "Ses01F-b"], ["Ses01M-a", "Ses01M-b", "Ses02F-a"]]
    assert utts_of(split(good, 3, by="spk"))[1] == ["Ses01M-a", "Ses01M-b"]
    with pytest.raises(TrnetError, match="cannot split into 4 parts: it has 3 spks"):
        split(good, 4, by="spk")


def test_split_reuses_an_up_to_date_split_and_redoes_a_stale_one(good):
    part = split(good, 2, by="utt")[0]
    write_table(part / "utt2emo", {"Ses01F-a": "sad"})
    split(good, 2, by="utt")
    assert read_table(part / "utt2emo") == {"Ses01F-a": "sad"}
    later = (good / "split2utt" / ".done").stat().st_mtime + 10
    os.utime(good / "utt2emo", (later, later))
    split(good, 2, by="utt")
    assert read_table(part / "utt2emo") == {"Ses01F-a": "ang", "Ses01F-b": "hap"}


def test_combine_is_the_union_and_rejects_conflicts(good, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    subset(good, a, utt_list=["Ses01F-a", "Ses01M-b", "Ses02F-a"])
    subset(good, b, utt_list=["Ses01F-b", "Ses01M-a", "Ses02F-a"])
    report = combine(tmp_path / "all", [a, b])
    assert report.left_out == []
    assert DataDir.load(tmp_path / "all").tables == DataDir.load(good).tables
    assert (tmp_path / "all" / "spk2utt").read_bytes() == (good / "spk2utt").read_bytes()
    assert (tmp_path / "all" / "corpus.json").is_file()
    edit(b, "utt2emo", **{"Ses02F-a": "ang"})
    with pytest.raises(TrnetError, match=rf"{a} and {b}: utt2emo gives 'Ses02F-a' different"):
        combine(tmp_path / "bad", [a, b])
    (a / "utt2dur").unlink()
    edit(b, "utt2emo", **{"Ses02F-a": "neu"})
    assert combine(tmp_path / "part", [a, b]).left_out == ["utt2dur"]


def test_cli_validate_prints_one_line_naming_the_dir(good, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["data", "validate", str(good)]).exit_code == 0
    drop(good, "utt2emo", "Ses01F-b")
    result = runner.invoke(app, ["data", "validate", str(good)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert f"{good}/utt2emo" in result.output
    missing = runner.invoke(app, ["data", "validate", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [
        f"✗ {tmp_path / 'nope'}: data directory not found"
    ]
    fixed = runner.invoke(app, ["data", "fix", str(good)])
    assert fixed.exit_code == 0 and "utt2spk" in fixed.output
    assert validate(good) == []


def test_utils_wrappers_keep_kaldi_argument_orders(good, tmp_path):
    env = {**os.environ, "PATH": f"{ROOT / 'tools' / 'venv' / 'bin'}:{os.environ['PATH']}"}

    def sh(script: str, *args: Path | str) -> subprocess.CompletedProcess:
        cmd = [str(ROOT / "utils" / script), *map(str, args)]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)

    dst = tmp_path / "sub"
    assert sh("subset_data_dir.sh", good, 3, dst).returncode == 0
    assert len(read_table(dst / "utt2spk")) == 3
    assert sh("validate_data_dir.sh", dst).returncode == 0
    assert sh("split_data.sh", "--per-utt", dst, 3).returncode == 0
    assert sorted(p.name for p in (dst / "split3utt").iterdir()) == [".done", "1", "2", "3"]
    wav_of(dst, read_table(dst / "utt2spk").popitem()[0]).unlink()
    bad = sh("validate_data_dir.sh", dst)
    assert bad.returncode == 1 and "audio files not found" in bad.stdout
    assert sh("validate_data_dir.sh", "--no-wav", dst).returncode == 0


def test_expected_sample_rate_comes_from_corpus_json(good):
    """A 48 kHz corpus (RAVDESS) validates when corpus.json says so; 16 kHz is the default."""
    for utt in UTT2SPK:
        sf.write(wav_of(good, utt), tone(SECONDS, 48000), 48000)
    assert any("audio not at 16000 Hz" in p for p in validate(good))
    (good / "corpus.json").write_text(json.dumps({"corpus": "x", "sample_rate": 48000}))
    assert validate(good) == []
    assert any("audio not at 16000 Hz" in p for p in validate(good, sample_rate=16000))
    (good / "corpus.json").write_text(json.dumps({"corpus": "x", "sample_rate": None}))
    assert validate(good) == []  # mixed rates: no rate to check against
