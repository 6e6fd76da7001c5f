"""Toy voices for the eGeMAPS systems' tests: a 0.6 s harmonic tone per utterance whose
pitch and loudness depend on its class, in a fold layout (train s1-s3, dev s4, test s5,
8 utterances each) and a dump of audio conditions (``wav.scp`` + wav files)."""

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


def make_audio_layout(root: Path) -> tuple[Path, Path]:
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
            sf.write(path, x + level * rng.normal(size=x.shape).astype(np.float32), SR)
            lines.append(f"{utt} {path}\n")
        (d / "wav.scp").write_text("".join(lines))
    return root / "folds", root / "dump"
