"""A generated noise corpus in ESC-50's own layout (ESC-50-master, as GitHub's zip has it).

    ESC-50-master/meta/esc50.csv   filename,fold,target,category,esc10,src_file,take
    ESC-50-master/audio/<fold>-<src_file>-<take>-<target>.wav   5 s, 44.1 kHz, mono PCM16

Categories carry ESC-50's real names and target numbers. As in the real corpus, a clip
from one source recording can come in several takes (A, B) within the same fold, and some
clips end in exact digital silence (the real ones are zero-padded to 5 s).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from trnet.audio import write_audio
from trnet.io import atomic_write
from trnet.synth_corpus.noise_synth import ESC50_KINDS, render
from trnet.synth_corpus.synth import rng_for

SR = 44100
CLIP_SECONDS = 5.0
HEADER = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
TARGETS = {  # ESC-50's own class numbers
    "rain": 10,
    "sea_waves": 11,
    "chirping_birds": 14,
    "wind": 16,
    "crying_baby": 20,
    "door_wood_knock": 30,
    "vacuum_cleaner": 36,
    "clock_tick": 38,
    "siren": 42,
    "engine": 44,
    "church_bells": 46,
}
ESC10 = {"rain", "sea_waves", "crying_baby", "clock_tick"}
"""Of our categories, those in the ESC-10 subset."""


def _clip(category: str, rng: np.random.Generator) -> np.ndarray:
    wave = render(ESC50_KINDS[category], rng, CLIP_SECONDS, SR)
    if rng.uniform() < 0.15:  # a short recording zero-padded to 5 s
        wave[int(rng.uniform(0.5, 0.8) * wave.size) :] = 0.0
    return wave


def write_esc50(root: Path, seed: int, categories: list[str], clips_per_fold: int) -> list[dict]:
    """Write ``clips_per_fold`` clips of each category in each of the 5 folds, and the csv."""
    rows = []
    for fold in range(1, 6):
        for category in categories:
            rng = rng_for(seed, "esc50", str(fold), category)
            take = "A"
            src = int(rng.integers(10000, 300000))
            for _ in range(clips_per_fold):
                name = f"{fold}-{src}-{take}-{TARGETS[category]}.wav"
                write_audio(root / "audio" / name, _clip(category, rng), SR)
                esc10 = "True" if category in ESC10 else "False"
                rows.append([name, fold, TARGETS[category], category, esc10, src, take])
                if rng.uniform() < 0.5:  # another take of the same source recording
                    take = chr(ord(take) + 1)
                else:
                    take, src = "A", int(rng.integers(10000, 300000))
    rows.sort(key=lambda r: r[0])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    with atomic_write(root / "meta" / "esc50.csv") as f:
        f.write(text.getvalue())
    return [dict(zip(HEADER, row, strict=True)) for row in rows]
