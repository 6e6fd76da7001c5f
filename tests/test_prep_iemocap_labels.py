"""IEMOCAP label corruption is reported in full (issue 15, item 6).

A damaged EmoEvaluation file must not lose utterances quietly: every wav without a label
line gets a ``skipped.tsv`` row, a file that is not text is one row naming it, unknown
lines are malformed lines, and a garbage emotion field is malformed (not a label outside
the 4 classes that the class map drops).
"""

from __future__ import annotations

import random
from pathlib import Path

from corpus_trees import make_iemocap

from trnet.io import read_kv
from trnet.prep.iemocap import prepare

EMO1 = "Session1/dialog/EmoEvaluation"
WAV1 = "Session1/sentences/wav"


def _rows(out: Path, root: Path) -> dict[str, str]:
    lines = (out / "local/skipped.tsv").read_text().splitlines()[1:]
    return {
        item.replace(str(root), "ROOT"): reason
        for item, reason in (line.split("\t") for line in lines)
    }


def test_random_bytes_label_file_lists_the_file_and_every_unlabelled_wav(tmp_path):
    root = make_iemocap(tmp_path / "db")
    label = root / EMO1 / "Ses01M_script01_1.txt"
    rng = random.Random(15)
    label.write_bytes(bytes(rng.randrange(256) for _ in range(4000)) + b"\n[ x\n")
    report = prepare(root, tmp_path / "data")
    rows = _rows(tmp_path / "data", root)
    assert rows[f"ROOT/{EMO1}/Ses01M_script01_1.txt"].startswith("not a text file")
    for utt in ("Ses01M_script01_1_F003", "Ses01M_script01_1_M001"):
        assert rows[f"ROOT/{WAV1}/Ses01M_script01_1/{utt}.wav"] == (
            "no label line in EmoEvaluation/Ses01M_script01_1.txt"
        )
    # the two utterances of that dialog are gone and both are accounted for
    assert report.total == 5
    assert report.n_skipped == len(rows) == 5 + 1 + 2


def test_wav_without_label_line_is_listed(tmp_path):
    root = make_iemocap(tmp_path / "db")
    extra = root / WAV1 / "Ses01F_impro01" / "Ses01F_impro01_F001.wav"
    extra.write_bytes((root / WAV1 / "Ses01F_impro01" / "Ses01F_impro01_F000.wav").read_bytes())
    prepare(root, tmp_path / "data")
    rows = _rows(tmp_path / "data", root)
    wav = f"ROOT/{WAV1}/Ses01F_impro01/Ses01F_impro01_F001.wav"
    assert rows[wav] == "no label line in EmoEvaluation/Ses01F_impro01.txt"


def test_garbage_emotion_and_unknown_lines_are_malformed(tmp_path):
    root = make_iemocap(tmp_path / "db")
    label = root / EMO1 / "Ses01F_impro01.txt"
    text = label.read_text().replace("\tang\t", "\tq#7\t")
    label.write_text(text + "garbage that is no header, evaluator line or turn\n")
    report = prepare(root, tmp_path / "data")
    rows = _rows(tmp_path / "data", root)
    n = len(text.splitlines())
    assert rows[f"ROOT/{EMO1}/Ses01F_impro01.txt:7"] == "malformed emotion field 'q#7'"
    assert rows[f"ROOT/{EMO1}/Ses01F_impro01.txt:{n + 1}"] == "malformed line"
    assert "q#7" not in report.dropped
    assert "Ses01M-Ses01F_impro01_M000" not in read_kv(tmp_path / "data/utt2emo")
