"""Malformed inputs of every parser: a one-line :class:`TrnetError` naming the file (and the
line where there is one), through the ``trnet`` entry point where a command reads them.
Ctrl-C of a running command is exit status 130 and one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_main import run_main

from trnet.contract import CorpusInfo
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.mix.noiseset import NoiseSet
from trnet.noise.index import index_musan
from trnet.prep.msppodcast import list_items
from trnet.scoring.decode_dir import load_decode_dir
from trnet.train.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _wav(path: Path, seconds: float = 0.2, sr: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full(int(seconds * sr), 0.01, np.float32), sr, subtype="PCM_16")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("u1 spk1\nu2\nu3 spk1\n", 2),  # a key without a value
        ("u1 spk1\nu2\tspk1\n", 2),  # tab-separated: the key would swallow the value
        ("u1 spk1\nu1 spk2\n", 2),  # a duplicate key
    ],
)
def test_a_kaldi_table_with_a_bad_line_names_file_and_line(tmp_path, text, line):
    table = tmp_path / "utt2spk"
    table.write_text(text)
    with pytest.raises(TrnetError, match=rf"^{table}:{line}: (expected 'key value'|duplicate)"):
        read_kv(table)
    (tmp_path / "utt2emo").write_text("u1 ang\nu2 hap\nu3 neu\n")
    with pytest.raises(TrnetError, match=rf"^{table}:{line}: "):
        DataDir.load(tmp_path)


def test_esc50_csv_with_wrong_columns_is_one_line(tmp_path, monkeypatch, capsys):
    root = tmp_path / "ESC-50-master"
    _wav(root / "audio" / "1-100-A-0.wav")
    (root / "meta").mkdir()
    (root / "meta" / "esc50.csv").write_text("file,fold,class\n1-100-A-0.wav,1,dog\n")
    result = run_main(
        ["noise-index", "--out", tmp_path / "noise", "--esc50", root], monkeypatch, capsys
    )
    assert result.code == 1
    assert result.error_line.startswith(f"{root / 'meta' / 'esc50.csv'}: expected columns")
    assert not (tmp_path / "noise").exists()


def test_malformed_musan_annotations_fall_back_on_the_source_folder(tmp_path):
    """ANNOTATIONS lines without a label, blank lines or bytes that are not UTF-8 do not
    stop the index: a clip without a usable label is labelled by its source folder."""
    root = tmp_path / "musan"
    for name in ("noise-x-0000", "noise-x-0001", "noise-x-0002"):
        _wav(root / "noise" / "x" / f"{name}.wav")
    (root / "noise" / "x" / "ANNOTATIONS").write_bytes(
        b"noise-x-0000\n\n   \nnoise-x-0001 rain\xff\xfe,wind\nnoise-x-0002 dog extra fields\n"
    )
    sets, skipped = index_musan(root)
    labels = {clip.id: clip.category for clip in sets["musan"]}
    assert labels == {
        "noise-x-0000": "x",
        "noise-x-0001": "rain\ufffd\ufffd",
        "noise-x-0002": "dog",
    }
    assert skipped == []


def test_invalid_yaml_config_names_the_file(tmp_path):
    conf = tmp_path / "trnet.yaml"
    conf.write_text("model:\n  channels: [4, 8\ndata: {input: blend}\n")
    with pytest.raises(TrnetError, match=rf"^{conf}(:\d+:\d+)?: not valid YAML") as err:
        load_config(conf)
    assert "\n" not in str(err.value).split(" (")[0]
    conf.write_text("- just\n- a list\n")
    with pytest.raises(TrnetError, match=rf"^{conf}: expected a mapping"):
        load_config(conf)


def _decode_dir(tmp_path: Path) -> Path:
    d = tmp_path / "exp" / "trnet" / "decode" / "clean" / "fold1"
    d.mkdir(parents=True)
    (d / "ref").write_text("u1 ang\nu2 hap\n")
    (d / "hyp").write_text("u1 ang\nu2 sad\n")
    (d / "classes").write_text("ang\nhap\nneu\nsad\n")
    return d


@pytest.mark.parametrize(
    ("text", "why"), [('{"system": "trnet",', "invalid JSON"), ("[1, 2]", "expected a JSON object")]
)
def test_invalid_info_json_is_one_line(tmp_path, monkeypatch, capsys, text, why):
    d = _decode_dir(tmp_path)
    (d / "info.json").write_text(text)
    with pytest.raises(TrnetError, match=rf"^{d / 'info.json'}: {why}"):
        load_decode_dir(d)
    result = run_main(["score", d], monkeypatch, capsys)
    assert result.code == 1 and result.error_line.startswith(f"{d / 'info.json'}: {why}")
    assert not (d / "scores.json").exists()


def test_invalid_corpus_json_names_the_file(tmp_path):
    (tmp_path / "corpus.json").write_text('{"corpus": "iemocap", generated: true}')
    with pytest.raises(TrnetError, match=rf"^{tmp_path / 'corpus.json'}: invalid JSON"):
        CorpusInfo.read_dict(tmp_path)
    (tmp_path / "corpus.json").unlink()
    with pytest.raises(TrnetError, match=rf"^{tmp_path / 'corpus.json'}: not found"):
        CorpusInfo.read_dict(tmp_path)


@pytest.mark.parametrize(
    ("utt2dur", "why"),
    [
        ("c1 0.2\nc2 0.2s\n", r"bad duration '0.2s' for 'c2'"),
        ("c1 0.2\n", r"no duration for clip 'c2'"),
        ("c1 0.2\nc2\n", r":2: expected 'key value'"),
        ("c1 0\nc2 0.000\n", r"no usable noise clip"),
    ],
)
def test_a_noise_set_with_a_bad_utt2dur_is_one_line(tmp_path, utt2dur, why):
    noise = tmp_path / "esc50"
    noise.mkdir()
    for name in ("c1", "c2"):
        _wav(tmp_path / f"{name}.wav")
    (noise / "wav.scp").write_text(f"c1 {tmp_path / 'c1.wav'}\nc2 {tmp_path / 'c2.wav'}\n")
    (noise / "utt2category").write_text("c1 dog\nc2 rain\n")
    (noise / "utt2dur").write_text(utt2dur)
    where = noise if "usable" in why else noise / "utt2dur"
    with pytest.raises(TrnetError, match=rf"^{where}{'' if why[0] == ':' else ': '}{why}"):
        NoiseSet.load(noise)


def test_msp_podcast_csv_without_a_column_names_it(tmp_path):
    root = tmp_path / "MSP-Podcast"
    _wav(root / "Audios" / "MSP-PODCAST_0001_0001.wav")
    (root / "Labels").mkdir()
    csv = root / "Labels" / "labels_consensus.csv"
    csv.write_text(
        "FileName,EmoAct,EmoVal,EmoDom,SpkrID,Gender\nMSP-PODCAST_0001_0001.wav,3,4,2,1,Male\n"
    )
    with pytest.raises(TrnetError, match=rf"^{csv}: no column EmoClass, Split_Set; expected"):
        list_items(root)


def test_ctrl_c_is_exit_130_and_one_line(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, mid-command."""
    dest = tmp_path / "corpus"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trnet", "make-corpus", str(dest), "--size", "tiny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal, even when this runs in a background job that ignores SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )
    try:
        while not any(dest.rglob("*.wav")):  # the command is at work
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out + err
    assert err.strip() == "interrupted", err
    assert "Traceback" not in out + err
