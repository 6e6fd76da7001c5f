"""Toy voices for the eGeMAPS systems' tests: a 0.6 s harmonic tone per utterance whose
pitch and loudness depend on its class, in a fold layout (train s1-s3, dev s4, test s5,
8 utterances each) and a dump of audio conditions (``wav.scp`` + wav files; with
``enhanced`` also each condition's ``_enh`` twin), and random features beside the audio
(:func:`with_feats`) for the hybrid deep systems."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from trnet.contract import CLASSES
from trnet.data.datadir import DataDir

SR = 16000
SPEAKERS = {"train": ["s1", "s2", "s3"], "dev": ["s4"], "test": ["s5"]}
CONDITIONS = ["clean", "esc50_train_10", "esc50_dev_10", "esc50_0"]


def voice(k: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced 0.6 s tone whose pitch and loudness depend on the class k."""
    t = np.arange(int(0.6 * SR)) / SR
    f0 = 110.0 * 1.5**k * (1 + 0.03 * rng.normal())
    wave = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
    return (0.1 * (1 + k) * wave / 3).astype(np.float32)


def make_audio_layout(root: Path, enhanced: bool = False) -> tuple[Path, Path]:
    """``root/folds/fold1/{train,dev,test}`` and ``root/dump/<condition>`` of
    :data:`CONDITIONS`; with ``enhanced`` each condition's ``_enh`` twin too: the voice with
    a tenth of the noise, and 0.9 times its level (so clean_enh differs from clean)."""
    rng = np.random.default_rng(0)
    clean = {}
    for split, speakers in SPEAKERS.items():
        utt2spk, utt2emo = {}, {}
        for spk in speakers:
            for i in range(8):
                utt, k = f"{spk}-u{i}", i % len(CLASSES)
                clean[utt], utt2spk[utt], utt2emo[utt] = voice(k, rng), spk, CLASSES[k]
        d = root / "folds" / "fold1" / split
        DataDir({"utt2spk": utt2spk, "utt2emo": utt2emo}).write(d)
        (d / "corpus.json").write_text(json.dumps({"corpus": "toy", "generated": True}))
    for cond in CONDITIONS:
        d = root / "dump" / cond
        (d / "wav").mkdir(parents=True)
        level = 0.0 if cond == "clean" else 0.01
        lines = []
        for utt, x in sorted(clean.items()):
            path = d / "wav" / f"{utt}.wav"
            noise = level * rng.normal(size=x.shape).astype(np.float32)
            sf.write(path, x + noise, SR)
            lines.append(f"{utt} {path}\n")
            if enhanced:
                enh = root / "dump" / f"{cond}_enh" / "wav" / f"{utt}.wav"
                enh.parent.mkdir(parents=True, exist_ok=True)
                sf.write(enh, 0.9 * x + noise / 10, SR)
        (d / "wav.scp").write_text("".join(lines))
        if enhanced:
            (root / "dump" / f"{cond}_enh" / "wav.scp").write_text(
                "".join(line.replace(f"/{cond}/wav/", f"/{cond}_enh/wav/") for line in lines)
            )
    return root / "folds", root / "dump"


def with_feats(dump: Path) -> Path:
    """Random log-Mel features beside each condition's audio (their values do not matter to
    the hybrid tests), written once."""
    import kaldiio

    rng = np.random.default_rng(1)
    for cond in (c for base in CONDITIONS for c in (base, f"{base}_enh")):
        if (dump / cond / "feats.scp").is_file() or not (dump / cond / "wav.scp").is_file():
            continue
        utts = sorted(
            line.split()[0] for line in (dump / cond / "wav.scp").read_text().splitlines()
        )
        feats = {u: rng.normal(size=(40, 80)).astype(np.float32) for u in utts}
        kaldiio.save_ark(str(dump / cond / "feats.ark"), feats, scp=str(dump / cond / "feats.scp"))
    return dump
