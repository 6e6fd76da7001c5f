"""The corpus generator: reproducible bytes, the real corpora's layouts, the marker's
skip/refuse behaviour, and emotional speech a simple classifier can (partly) learn."""

import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from trnet.cli import app
from trnet.contract import CLASSES
from trnet.errors import TrnetError
from trnet.scoring.metrics import uar
from trnet.synth_corpus import MARKER, make_corpus, read_marker
from trnet.synth_corpus.iemocap_layout import write_iemocap


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("gen") / "corpus"
    make_corpus(dest, size="tiny", seed=0)
    return dest


def test_same_seed_gives_identical_bytes(tiny, tmp_path):
    again = tmp_path / "again"
    make_corpus(again, size="tiny", seed=0)
    first, second = file_hashes(tiny), file_hashes(again)
    assert first == second
    assert len([name for name in first if name.endswith(".wav")]) > 150


def test_other_seed_overwrites_a_generated_corpus_with_different_audio(tiny, tmp_path):
    dest = tmp_path / "copy"
    shutil.copytree(tiny, dest)
    with pytest.raises(TrnetError, match=r"size=tiny seed=0 .*--overwrite"):
        make_corpus(dest, size="tiny", seed=1, utts_per_speaker=5)
    assert file_hashes(dest) == file_hashes(tiny)  # refused: nothing touched
    make_corpus(dest, size="tiny", seed=1, utts_per_speaker=5, overwrite=True)
    assert read_marker(dest)["seed"] == 1
    old, new = (
        {h for name, h in file_hashes(root).items() if name.endswith(".wav") and "._" not in name}
        for root in (tiny, dest)
    )
    assert not old & new, "same audio under another seed"
    utts = list((dest / "IEMOCAP_full_release").rglob("Ses*.wav"))
    assert len(utts) < 100  # the old, bigger corpus is gone, not merged


def test_second_run_skips_and_cli_says_so(tiny):
    wav = next((tiny / "IEMOCAP_full_release").rglob("Ses*.wav"))
    before = wav.stat().st_mtime_ns
    result = CliRunner().invoke(app, ["make-corpus", str(tiny), "--size", "tiny", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "already complete" in result.output
    assert wav.stat().st_mtime_ns == before
    marker = json.loads((tiny / MARKER).read_text())
    assert marker == {
        "generator": "trnet make-corpus",
        "seed": 0,
        "size": "tiny",
        "utts_per_speaker": 12,
        "version": 1,
    }
    assert not (tiny / f"{MARKER}.partial").exists()


def test_refuses_a_folder_it_did_not_make(tmp_path):
    dest = tmp_path / "mine"
    (dest / "IEMOCAP_full_release").mkdir(parents=True)
    (dest / "IEMOCAP_full_release" / "notes.txt").write_text("precious")
    with pytest.raises(TrnetError, match="not made by trnet make-corpus"):
        make_corpus(dest, size="tiny", seed=0)
    with pytest.raises(TrnetError, match="will not be deleted"):
        make_corpus(dest, size="tiny", seed=0, overwrite=True)
    assert (dest / "IEMOCAP_full_release" / "notes.txt").read_text() == "precious"
    with pytest.raises(TrnetError, match="--size: 'huge'"):
        make_corpus(tmp_path / "new", size="huge")


UTT_LINE = re.compile(
    r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t((Ses0\d)[FM]_\S+_([FM])\d{3})\t(\w{3})\t"
    r"\[\d\.\d{4}, \d\.\d{4}, \d\.\d{4}\]$"
)


def test_iemocap_layout_is_the_real_one(tiny):
    root = tiny / "IEMOCAP_full_release"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
        f"Session{s}" for s in range(1, 6)
    ]
    labels, speakers = {}, set()
    for txt in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        text = txt.read_text()
        assert text.startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n")
        for block in text.split("\n\n")[1:-1]:
            head, *evaluators = block.split("\n")
            match = UTT_LINE.match(head)
            assert match, head
            start, end, utt, session, letter, label = match.groups()
            assert re.match(r"^C-E1:\t\w+;\t\(\)$", evaluators[0])
            assert any(re.match(r"^A-E1:\tval \d; act \d; dom  \d;\t\(\)$", e) for e in evaluators)
            wav = txt.parents[2] / "sentences" / "wav" / txt.stem / f"{utt}.wav"
            info = sf.info(str(wav))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert abs(info.frames / 16000 - (float(end) - float(start))) < 1e-3
            labels[utt] = label
            speakers.add(session + letter)
    assert len(speakers) == 10
    dialogs = {utt.rsplit("_", 1)[0] for utt in labels}
    assert {"Ses03M_impro05a", "Ses05M_script01_1b", "Ses01M_script01_1"} <= dialogs
    for dialog in dialogs:  # both speakers talk in every dialog
        assert {u[-4] for u in labels if u.rsplit("_", 1)[0] == dialog} == {"F", "M"}
    counts = {lab: list(labels.values()).count(lab) for lab in set(labels.values())}
    assert set(counts) >= {"ang", "hap", "exc", "neu", "sad"}
    assert counts["neu"] > counts["ang"] and counts["neu"] > counts["sad"]
    assert sum(counts.get(x, 0) for x in ("fru", "sur", "xxx")) > 0
    junk = list(root.rglob("._*.wav"))
    assert junk and all(p.stat().st_size < 200 for p in junk)
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(junk[0]))


def test_esc50_and_musan_layouts(tiny):
    esc = tiny / "ESC-50-master"
    with open(esc / "meta" / "esc50.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    by_fold: dict[str, set[str]] = {}
    for name, fold, target, category, esc10, src, take in rows[1:]:
        assert name == f"{fold}-{src}-{take}-{target}.wav" and esc10 in ("True", "False")
        info = sf.info(str(esc / "audio" / name))
        assert (info.samplerate, info.channels, info.frames) == (44100, 1, 5 * 44100)
        by_fold.setdefault(fold, set()).add(category)
    assert sorted(by_fold) == ["1", "2", "3", "4", "5"]
    assert all(len(cats) >= 4 for cats in by_fold.values())
    assert ("rain", "10") in {(r[3], r[2]) for r in rows[1:]}

    musan = tiny / "musan"
    for part, source, pattern in (
        ("noise", "free-sound", r"^noise-free-sound-\d{4} \w+$"),
        ("noise", "sound-bible", r"^noise-sound-bible-\d{4} \w+$"),
        ("music", "fma", r"^music-fma-\d{4} [\w,]+ [YN] \S+$"),
        ("speech", "librivox", r"^speech-librivox-\d{4} [mf] english$"),
    ):
        folder = musan / part / source
        lines = (folder / "ANNOTATIONS").read_text().splitlines()
        assert lines and all(re.match(pattern, line) for line in lines), lines
        assert sorted(p.stem for p in folder.glob("*.wav")) == sorted(x.split()[0] for x in lines)
    infos = [sf.info(str(p)) for p in musan.rglob("*.wav")]
    assert sum((i.samplerate, i.channels) == (44100, 2) for i in infos) == 1
    assert sum((i.samplerate, i.channels) == (16000, 1) for i in infos) == len(infos) - 1
    assert len(list((musan / "speech" / "librivox").glob("*.wav"))) >= 16


def _features(wave: np.ndarray) -> np.ndarray:
    import torchaudio

    fb = torchaudio.compliance.kaldi.fbank(
        torch.from_numpy(wave * 32768.0).unsqueeze(0), num_mel_bins=80, dither=0.0
    )
    return np.concatenate([fb.mean(0).numpy(), fb.std(0).numpy()])


def test_emotions_are_learnable_but_not_trivially_and_noise_hurts(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(1)  # tiny fbank calls: threads only add overhead on a shared CPU

    root = tmp_path / "IEMOCAP_full_release"
    utts = write_iemocap(
        root, seed=3, dialogs_per_session=2, utts_per_speaker=24, dur_range=(1.5, 3.0)
    )
    rng = np.random.default_rng(0)
    clean, noisy, labels, test = [], [], [], []
    for utt in utts:
        if utt.label not in ("ang", "hap", "exc", "neu", "sad"):
            continue
        wave, _ = sf.read(
            root / f"Session{utt.session}/sentences/wav/{utt.dialog}/{utt.utt_id}.wav",
            dtype="float32",
        )
        noise = rng.standard_normal(wave.size).astype(np.float32)
        noise *= np.sqrt(np.mean(wave**2) / np.mean(noise**2))  # 0 dB SNR
        clean.append(_features(wave))
        noisy.append(_features(wave + noise))
        labels.append(CLASSES.index("hap" if utt.label == "exc" else utt.label))
        test.append(utt.session == 5)  # train on 8 speakers, test on the 2 of session 5
    clean, noisy, labels, test = map(np.array, (clean, noisy, labels, test))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(clean[~test], labels[~test])
    uar_clean = uar(labels[test], model.predict(clean[test]), 4)
    uar_noisy = uar(labels[test], model.predict(noisy[test]), 4)
    print(f"UAR clean {uar_clean:.3f}, 0 dB white noise {uar_noisy:.3f}")
    assert 0.45 < uar_clean < 0.95
    assert uar_noisy < uar_clean - 0.1
