"""Ids and names that become paths are checked where they enter (prep, data dirs, noise
index, condition names); file paths built from them stay inside their output folder; a data
dir whose corpus was replaced under it is refused instead of read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_main import run_main
from corpus_trees import make_emodb, make_iemocap, write_tone
from mix_toy import make_data_dir, make_noise_set

from trnet.data.datadir import DataDir
from trnet.data.validate import validate
from trnet.errors import TrnetError
from trnet.io import read_kv, write_kv
from trnet.mix.conditions import AudioWriter
from trnet.noise.index import build_noise_index
from trnet.prep import prepare
from trnet.prep.iemocap import prepare as prepare_iemocap
from trnet.se.enhance import find_conditions

EVIL = "../../../evil_X"

REAL_IDS = [
    "emodb03-03a01Fa",  # EmoDB
    "Ses01F-Ses01F_impro01_F000",  # IEMOCAP and the generated corpus
    "Ses05M-Ses05M_script01_1b_M010",
    "ravdess01-03-01-01-01-01-01",  # RAVDESS
    "cremad1001-1001_DFA_ANG_XX",  # CREMA-D
    "msp0030-MSP-PODCAST_0001_0008",  # MSP-Podcast
    "mspunk0002-MSP-PODCAST_0002_0001",
    "1-100032-A-0",  # ESC-50 clip
    "noise-free-sound-0000",  # MUSAN clip
    "esc50_train_-5",  # a condition
]


@pytest.mark.parametrize("name", REAL_IDS)
def test_the_ids_of_every_corpus_pass(name, tmp_path):
    from trnet.data.datadir import check_id, confined

    assert check_id(name, "x") == name
    assert confined(tmp_path, f"{name}.wav") == tmp_path / f"{name}.wav"


@pytest.mark.parametrize("name", [EVIL, "a/b", ".hidden", "..", "", "é", "a\\b", "a\x1bb"])
def test_ids_that_could_become_a_path_elsewhere_are_refused(name):
    from trnet.data.datadir import check_id

    with pytest.raises(TrnetError, match=r"^data/utt2spk: id .* not allowed \(only \[A-Za-z0-9"):
        check_id(name, "data/utt2spk")


@pytest.mark.parametrize("name", ["../x.wav", "wav/../../x.wav", "/etc/x.wav", ".", ""])
def test_confined_refuses_a_path_outside_its_folder(name, tmp_path):
    from trnet.data.datadir import confined

    with pytest.raises(TrnetError, match=f"^{tmp_path}/out: .* would be written outside"):
        confined(tmp_path / "out", name)
    assert confined(tmp_path / "out", "wav/x.wav") == tmp_path / "out" / "wav" / "x.wav"


def _with_id(data: Path, utt: str) -> None:
    """Give the first utterance of ``data`` the id ``utt`` in every table."""
    for name in ("wav.scp", "utt2spk", "utt2emo", "utt2dur"):
        table = read_kv(data / name)
        first = sorted(table)[0]
        table[utt] = table.pop(first)
        write_kv(data / name, table)


def _files_named(root: Path, stem: str) -> list[Path]:
    return [p for p in root.parent.rglob("*") if p.name.startswith(stem)]


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_mix_refuses_an_id_that_would_write_outside_its_dir(fmt, tmp_path, monkeypatch, capsys):
    data = make_data_dir(tmp_path)
    _with_id(data, EVIL)
    out = tmp_path / "deep" / "er" / "dump"
    args = ["mix", data, out, "--snr", "clean", "--format", fmt, "--nj", 1, "--no-feats"]
    line = run_main(args, monkeypatch, capsys).error_line
    assert line.startswith(f"{data}/") and f"id '{EVIL}' not allowed" in line
    assert _files_named(tmp_path, "evil_X") == []


def test_the_audio_writer_keeps_each_file_in_its_folder(tmp_path):
    writer = AudioWriter(tmp_path / "dump" / "clean", "wav")
    samples = np.zeros(160, dtype=np.int16)
    writer.add("spk-u1", samples)
    with pytest.raises(TrnetError, match="would be written outside this folder"):
        writer.add("../../escaped", samples)
    assert writer.close() == {"spk-u1": str(tmp_path / "dump" / "clean" / "wav" / "spk-u1.wav")}
    assert _files_named(tmp_path, "escaped") == []


def test_a_noise_set_name_that_is_no_id_is_refused_before_writing(tmp_path, monkeypatch, capsys):
    data = make_data_dir(tmp_path)
    noise = tmp_path / "my noise"
    noise.symlink_to(make_noise_set(tmp_path))
    args = ["mix", data, tmp_path / "dump", "--noise", noise, "--snr", "10", "--nj", 1]
    line = run_main(args, monkeypatch, capsys).error_line
    assert line == (
        f"{noise}: noise-set name 'my noise' not allowed (only [A-Za-z0-9_.:-], no leading dot)"
    )
    assert not (tmp_path / "dump").exists()


def test_enhance_refuses_a_condition_outside_the_dump(tmp_path):
    dump = tmp_path / "dump"
    (tmp_path / "evil").mkdir(parents=True)
    (tmp_path / "evil" / "wav.scp").write_text("u x.wav\n")
    (dump / "clean").mkdir(parents=True)
    (dump / "clean" / "wav.scp").write_text("u x.wav\n")
    assert find_conditions(dump, ["clean"]) == ["clean"]
    with pytest.raises(TrnetError, match=r"^--conditions: condition '\.\./evil' not allowed"):
        find_conditions(dump, ["../evil"])


@pytest.mark.parametrize(
    "op",
    [
        ["data", "subset", "--first", "1", "DATA", "OUT"],
        ["data", "split", "DATA", "2"],
        ["data", "combine", "OUT", "DATA"],
        ["data", "fix", "DATA"],
    ],
)
def test_data_ops_refuse_a_bad_id_in_one_line(op, tmp_path, monkeypatch, capsys):
    data = make_data_dir(tmp_path)
    _with_id(data, "spkA-../u1")
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    args = [{"DATA": data, "OUT": tmp_path / "out"}.get(a, a) for a in op]
    line = run_main(args, monkeypatch, capsys).error_line
    assert "id 'spkA-../u1' not allowed" in line and str(data) in line
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before
    assert not (tmp_path / "out").exists()


def test_validate_lists_ids_and_speakers_that_are_not_allowed(tmp_path):
    data = make_data_dir(tmp_path)
    _with_id(data, ".spkA-u1")
    utt2spk = read_kv(data / "utt2spk")
    utt2spk["spkB-u3"] = "spk/B"
    write_kv(data / "utt2spk", utt2spk)
    problems = validate(data, check_audio=False)
    bad = [p for p in problems if "not allowed" in p]
    assert bad == [
        f"{data / 'utt2dur'}: ids not allowed (only [A-Za-z0-9_.:-], no leading dot) (1): "
        "'.spkA-u1'",
        f"{data / 'utt2emo'}: ids not allowed (only [A-Za-z0-9_.:-], no leading dot) (1): "
        "'.spkA-u1'",
        f"{data / 'utt2spk'}: ids not allowed (only [A-Za-z0-9_.:-], no leading dot) (1): "
        "'.spkA-u1'",
        f"{data / 'wav.scp'}: ids not allowed (only [A-Za-z0-9_.:-], no leading dot) (1): "
        "'.spkA-u1'",
        f"{data / 'utt2spk'}: speaker ids not allowed (only [A-Za-z0-9_.:-], no leading dot) "
        "(1): 'spk/B'",
    ]


def _not_utf8(folder: Path, name: bytes) -> Path:
    """A copy of the first wav of ``folder`` under a file name that is not UTF-8."""
    first = sorted(folder.glob("*.wav"))[0]
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    shutil.copyfile(first, path)
    return path


def test_a_file_name_that_is_not_utf8_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    emodb = make_emodb(tmp_path)
    _not_utf8(emodb / "wav", b"03a01\xffFb.wav")
    out = tmp_path / "emodb"
    line = run_main(["prep", "emodb", emodb, out], monkeypatch, capsys).error_line
    assert line == f"{emodb}/wav/03a01\\xffFb.wav: file name is not UTF-8; rename the file"

    iemocap = make_iemocap(tmp_path / "db")
    dialog = iemocap / "Session1" / "sentences" / "wav" / "Ses01F_impro01"
    _not_utf8(dialog, b"Ses01F_impro01_F\xe9.wav")
    line = run_main(["prep", "iemocap", iemocap, tmp_path / "iemo"], monkeypatch, capsys).error_line
    assert line == f"{dialog}/Ses01F_impro01_F\\xe9.wav: file name is not UTF-8; rename the file"


def test_an_iemocap_label_id_with_a_path_in_it_is_skipped(tmp_path):
    root = make_iemocap(tmp_path / "db")
    wavs = root / "Session1" / "sentences" / "wav"
    # Ses01F_../../x_F000 → sentences/wav/Ses01F_../../x/Ses01F_../../x_F000.wav → x/x_F000.wav
    (wavs / "Ses01F_..").mkdir()
    (wavs / "x" / "Ses01F_..").mkdir(parents=True)
    write_tone(wavs / "x" / "x_F000.wav", 0.5)
    labels = root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    with open(labels, "a") as f:
        f.write("[9.0 - 10.0]\tSes01F_../../x_F000\tang\t[2.5, 2.5, 2.5]\n")
    out = tmp_path / "data"
    prepare_iemocap(root, out)
    assert all(".." not in utt for utt in read_kv(out / "utt2spk"))
    skipped = (out / "local" / "skipped.tsv").read_text()
    assert f"{labels}:12\tmalformed utterance id Ses01F_../../x_F000\n" in skipped


def test_noise_index_skips_a_clip_whose_name_is_no_id(musan, tmp_path, capsys):
    odd = musan / "noise" / "free-sound" / "noise free sound.wav"
    shutil.copyfile(musan / "noise" / "free-sound" / "noise-free-sound-0000.wav", odd)
    sets, skipped = build_noise_index(tmp_path / "noise", musan=musan)
    assert [(s.path, s.why) for s in skipped] == [
        (odd, "clip id 'noise free sound' not allowed (only [A-Za-z0-9_.:-], no leading dot)")
    ]
    wav = read_kv(tmp_path / "noise" / "musan" / "wav.scp")
    assert sorted(wav) == [
        "noise-free-sound-0000",
        "noise-free-sound-0001",
        "noise-sound-bible-0000",
    ]
    DataDir.load(tmp_path / "noise" / "musan")


def _replace_audio(path: Path, seconds: float) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(path, 0.1 * np.sin(2 * np.pi * 330 * t), 16000)


def test_a_corpus_replaced_under_its_data_dir_is_refused(tmp_path, monkeypatch, capsys):
    emodb = make_emodb(tmp_path)
    data = tmp_path / "data" / "emodb"
    prepare("emodb", emodb, data)
    DataDir.load(data)
    _replace_audio(emodb / "wav" / "08a01Wa.wav", 0.7)
    refused = (
        f"{data}: prepared from other audio: 1 of 5 audio files changed since trnet prep read "
        f"them (e.g. {emodb}/wav/08a01Wa.wav: size "
    )
    for args in (
        ["mix", data, tmp_path / "dump", "--snr", "clean", "--nj", 1],
        ["folds", data, tmp_path / "folds", "--protocol", "kfold", "--k", "2"],
        ["prep", "emodb", emodb, data],
    ):
        line = run_main(args, monkeypatch, capsys).error_line
        assert line.startswith(refused) and line.endswith(
            "the corpus under it was replaced, so prepare it again: rerun trnet prep with "
            "--overwrite"
        )
    assert not (tmp_path / "dump").exists() and not (tmp_path / "folds").exists()
    assert [p for p in validate(data) if "durations disagreeing" in p] == [
        f"{data / 'wav.scp'}: audio durations disagreeing with utt2dur (1): "
        "emodb08-08a01Wa (0.700 s, utt2dur 0.100)"
    ]
    report = prepare("emodb", emodb, data, overwrite=True)
    assert not report.up_to_date
    assert read_kv(data / "utt2dur")["emodb08-08a01Wa"] == "0.700"
    assert prepare("emodb", emodb, data).up_to_date
    assert validate(data) == []
    DataDir.load(data)


def test_a_copied_corpus_with_new_times_is_not_refused_but_new_audio_of_one_size_is(tmp_path):
    """A copy (``cp`` without ``-p``: new modification times) is the same corpus; audio of
    the same size with other samples is not."""
    emodb = make_emodb(tmp_path)
    data = tmp_path / "data" / "emodb"
    prepare("emodb", emodb, data)
    wav = emodb / "wav" / "08a01Wa.wav"
    os.utime(wav, ns=(0, 12345))
    DataDir.load(data)  # same size and head: unchanged
    audio, rate = sf.read(wav, dtype="int16")
    sf.write(wav, audio[::-1].copy(), rate, subtype="PCM_16")  # same size, other samples
    with pytest.raises(TrnetError, match="prepared from other audio: 1 of 5 .* modified"):
        DataDir.load(data)
