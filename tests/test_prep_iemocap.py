"""Stage 0 on a small IEMOCAP-layout tree: labels, speakers, ids, skips, resumability."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from corpus_trees import IEMOCAP_HEADER, make_iemocap, turn_lines, write_tone
from typer.testing import CliRunner

from trnet.cli import app
from trnet.data.folds import write_folds
from trnet.data.validate import validate
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.prep.iemocap import prepare, speaker_of
from trnet.synth_corpus import make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_iemocap(tmp_path_factory.mktemp("db"))


def test_speaker_is_read_from_the_last_field():
    assert speaker_of("Ses01F_impro01_M012") == "Ses01M"
    assert speaker_of("Ses03M_impro05a_F003") == "Ses03F"
    assert speaker_of("Ses05M_script01_1b_M010") == "Ses05M"
    with pytest.raises(TrnetError, match="not an IEMOCAP utterance id"):
        speaker_of("Ses05M_script01")


def test_prep_writes_labels_speakers_ids_and_durations(corpus, tmp_path):
    out = tmp_path / "data"
    report = prepare(corpus, out)
    utt2emo = read_kv(out / "utt2emo")
    assert utt2emo == {
        "Ses01F-Ses01F_impro01_F000": "neu",
        "Ses01F-Ses01M_script01_1_F003": "hap",
        "Ses01M-Ses01F_impro01_M000": "ang",
        "Ses01M-Ses01M_script01_1_M001": "sad",
        "Ses03F-Ses03M_impro05a_F003": "hap",
        "Ses05F-Ses05F_impro02_F000": "neu",
        "Ses05M-Ses05M_script01_1b_M010": "sad",
    }
    assert list(utt2emo) == sorted(utt2emo)  # Kaldi order on disk
    assert read_kv(out / "utt2emo_raw")["Ses01F-Ses01M_script01_1_F003"] == "exc"
    utt2spk = read_kv(out / "utt2spk")
    assert all(utt.startswith(spk + "-") for utt, spk in utt2spk.items())
    assert read_kv(out / "spk2utt")["Ses01F"] == (
        "Ses01F-Ses01F_impro01_F000 Ses01F-Ses01M_script01_1_F003"
    )
    assert read_kv(out / "utt2session")["Ses03F-Ses03M_impro05a_F003"] == "Ses03"
    wav = Path(read_kv(out / "wav.scp")["Ses05M-Ses05M_script01_1b_M010"])
    assert wav.is_absolute() and wav == (
        corpus / "Session5/sentences/wav/Ses05M_script01_1b/Ses05M_script01_1b_M010.wav"
    )
    assert read_kv(out / "utt2dur")["Ses01M-Ses01F_impro01_M000"] == "0.375"
    assert json.loads((out / "corpus.json").read_text()) == {
        "corpus": "iemocap",
        "root": str(corpus),
        "generated": False,
    }
    assert report.total == 7 and report.counts["Ses01F"] == {"neu": 1, "hap": 1}
    assert report.dropped == {"fru": 1, "xxx": 1}
    assert (out / ".done").is_file()
    assert validate(out) == []


def test_skipped_tsv_lists_each_defect_with_its_reason(corpus, tmp_path):
    out = tmp_path / "data"
    report = prepare(corpus, out)
    rows = [line.split("\t") for line in (out / "local/skipped.tsv").read_text().splitlines()]
    assert rows[0] == ["item", "reason"]
    reasons = {item.replace(str(corpus), "ROOT"): reason for item, reason in rows[1:]}
    emo1 = "ROOT/Session1/dialog/EmoEvaluation"
    assert reasons == {
        f"{emo1}/Ses01F_impro01.txt:11": "malformed line",
        f"{emo1}/Ses01F_impro02.txt": "empty EmoEvaluation file",
        f"{emo1}/._Ses01F_impro01.txt": "macOS metadata file (._*), ignored",
        "ROOT/Session1/sentences/wav/Ses01F_impro01/._Ses01F_impro01_F000.wav": (
            "macOS metadata file (._*), ignored"
        ),
        "ROOT/Session5/sentences/wav/Ses05F_impro02/Ses05F_impro02_M001.wav": "missing audio file",
    }
    assert report.n_skipped == 5


def test_improvised_only_and_generated_marker(tmp_path):
    root = make_iemocap(tmp_path / "db")
    (root.parent / "TRNET_GENERATED").write_text("")
    out = tmp_path / "impro"
    report = prepare(root, out, improvised_only=True)
    assert sorted(read_kv(out / "utt2emo_raw").values()) == ["ang", "hap", "neu", "neu"]
    assert report.n_filtered == 4 and report.dropped == {"xxx": 1}
    assert json.loads((out / "corpus.json").read_text())["generated"] is True


def test_wrong_sample_rate_is_skipped(tmp_path):
    root = make_iemocap(tmp_path / "db")
    wav = root / "Session3/sentences/wav/Ses03M_impro05a/Ses03M_impro05a_F003.wav"
    write_tone(wav, 0.25, sr=8000)
    prepare(root, tmp_path / "data")
    assert f"{wav}\twrong sample rate (8000 Hz, expected 16000)" in (
        (tmp_path / "data/local/skipped.tsv").read_text()
    )
    assert "Ses03F-Ses03M_impro05a_F003" not in read_kv(tmp_path / "data/utt2emo")


def test_resumes_when_done_and_refuses_other_inputs(corpus, tmp_path):
    out = tmp_path / "data"
    prepare(corpus, out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    again = prepare(corpus, out)
    assert again.up_to_date and again.total == 7 and again.dropped == {"fru": 1, "xxx": 1}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == before
    with pytest.raises(TrnetError, match=r"data: exists with other settings; use --overwrite"):
        prepare(corpus, out, improvised_only=True)
    report = prepare(corpus, out, improvised_only=True, overwrite=True)
    assert report.total == 4 and not report.up_to_date
    assert len(read_kv(out / "utt2spk")) == 4


def test_refuses_a_foreign_dir_and_redoes_a_killed_run(corpus, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(TrnetError, match="data: exists with other settings; use --overwrite"):
        prepare(corpus, out)
    prepare(corpus, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"  # only prep's own files are replaced
    (out / ".done").unlink()
    (out / "utt2emo").write_text("half\n")
    assert not prepare(corpus, out).up_to_date
    assert len(read_kv(out / "utt2emo")) == 7


def test_no_utterance_is_an_error(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    (root / "Session1/dialog/EmoEvaluation").mkdir(parents=True)
    (root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt").write_text(
        IEMOCAP_HEADER + turn_lines("Ses01F_impro01_F000", "neu", 0.0)
    )
    with pytest.raises(TrnetError, match=r"no usable utterance found \(1 skipped, see .*"):
        prepare(root, tmp_path / "data")


def _cli_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, TrnetError)
    message = str(result.exception)
    assert "\n" not in message
    return message


def test_cli_messages_for_missing_root_and_root_without_sessions(tmp_path):
    missing = tmp_path / "nowhere"
    assert _cli_error(["prep", "iemocap", str(missing), str(tmp_path / "d")]) == (
        f"{missing}: not found; expected IEMOCAP_full_release with "
        "Session1..Session5/dialog/EmoEvaluation"
    )
    (tmp_path / "IEMOCAP_full_release").mkdir()
    message = _cli_error(["prep", "iemocap", str(tmp_path), str(tmp_path / "d")])
    assert message.startswith(f"{tmp_path}: no Session1..Session5 folders; expected ")
    assert message.endswith(f"(did you mean {tmp_path / 'IEMOCAP_full_release'}?)")


def test_cli_prints_counts_and_trnet_prints_one_line_errors(corpus, tmp_path):
    result = CliRunner().invoke(app, ["prep", "iemocap", str(corpus), str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "Ses05M" in result.output and "skipped: 5" in result.output
    proc = subprocess.run(
        [sys.executable, "-m", "trnet", "prep", "iemocap", str(tmp_path / "no"), "d"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'no'}: not found; expected IEMOCAP_full_release with "
        "Session1..Session5/dialog/EmoEvaluation"
    ]


def test_generated_corpus_preps_into_a_valid_data_dir_with_folds(tmp_path):
    root = make_corpus(tmp_path / "gen", size="tiny", seed=3, utts_per_speaker=5)["iemocap"]
    out = tmp_path / "data"
    report = prepare(root, out)
    assert validate(out) == []
    assert json.loads((out / "corpus.json").read_text())["generated"] is True
    listed = Counter(
        line.split("\t")[2]
        for path in root.glob("Session*/dialog/EmoEvaluation/*.txt")
        for line in path.read_text().splitlines()
        if line.startswith("[")
    )
    assert Counter(read_kv(out / "utt2emo_raw").values()) == {
        k: n for k, n in listed.items() if k in ("ang", "hap", "exc", "neu", "sad")
    }
    assert report.total == 50 and len(report.counts) == 10
    folds, _ = write_folds(out, tmp_path / "folds", "speaker")
    assert len(folds) == 10 and validate(tmp_path / "folds/speaker/fold10/test") == []
