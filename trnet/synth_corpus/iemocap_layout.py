"""A generated corpus in IEMOCAP_full_release's own layout.

    IEMOCAP_full_release/Session<S>/dialog/EmoEvaluation/<dialog>.txt
    IEMOCAP_full_release/Session<S>/dialog/EmoEvaluation/Categorical/<dialog>_e1_cat.txt
    IEMOCAP_full_release/Session<S>/sentences/wav/<dialog>/<dialog>_<F|M><NNN>.wav

Both speakers of a session talk in every dialog; the letter in the utterance id is the
speaker of that utterance, the one in the dialog name is who wore the markers. As in some
real releases, a few macOS ``._*.wav`` files (not audio) lie among the wavs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trnet.audio import write_audio
from trnet.contract import SAMPLE_RATE
from trnet.io import atomic_write
from trnet.synth_corpus.emotion import draw_prosody, make_voice
from trnet.synth_corpus.synth import rng_for, synth_utterance

SR = SAMPLE_RATE
DIALOGS = {  # real-style dialog names, including the odd ones (impro05a, script01_1b)
    1: ("Ses01F_impro01", "Ses01M_script01_1", "Ses01F_script02_2", "Ses01M_impro03"),
    2: ("Ses02F_impro02", "Ses02M_script03_1", "Ses02M_impro06", "Ses02F_script01_3"),
    3: ("Ses03M_impro05a", "Ses03F_script02_1", "Ses03M_impro05b", "Ses03F_impro07"),
    4: ("Ses04F_impro04", "Ses04M_script01_2", "Ses04F_script03_2", "Ses04M_impro08"),
    5: ("Ses05M_script01_1b", "Ses05F_impro02", "Ses05M_impro05", "Ses05F_script02_2"),
}
CLASS_SHARES = {"neu": 0.30, "exc": 0.17, "hap": 0.12, "ang": 0.20, "sad": 0.20}
"""Roughly IEMOCAP's 4-class balance (neu 1708, hap+exc 1636, ang 1103, sad 1084)."""
EXTRA_LABELS = ("fru", "sur", "xxx")
"""Labels the 4-class preparation drops; about one utterance in ten carries one."""
CATEGORY_NAMES = {
    "neu": "Neutral",
    "ang": "Anger",
    "hap": "Happiness",
    "exc": "Excited",
    "sad": "Sadness",
    "fru": "Frustration",
    "sur": "Surprise",
}
VAD = {  # typical valence, activation, dominance (1..5) per label
    "neu": (3, 3, 3),
    "ang": (2, 4, 4),
    "hap": (4, 3, 3),
    "exc": (4, 4, 3),
    "sad": (2, 2, 2),
    "fru": (2, 3, 3),
    "sur": (4, 4, 2),
    "xxx": (3, 3, 3),
}
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(50)


@dataclass(frozen=True)
class Utterance:
    utt_id: str
    dialog: str
    session: int
    speaker: str  # Ses01F
    label: str
    duration: float
    start: float  # seconds from the start of the dialog


def speaker_labels(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` 4-class-set labels in IEMOCAP's proportions (each class at least once) plus
    about ``n / 10`` extra labels, shuffled."""
    counts = {lab: max(1, int(round(share * n))) for lab, share in CLASS_SHARES.items()}
    while sum(counts.values()) > n and counts["neu"] > 1:
        counts["neu"] -= 1
    counts["neu"] += n - sum(counts.values())
    labels = [lab for lab, k in counts.items() for _ in range(k)]
    labels += list(rng.choice(EXTRA_LABELS, size=max(1, n // 10)))
    return [str(x) for x in rng.permutation(labels)]


def plan_utterances(
    seed: int, dialogs_per_session: int, utts_per_speaker: int, dur_range: tuple[float, float]
) -> list[Utterance]:
    """Who says what when: labels per speaker, turns spread over the session's dialogs."""
    utts: list[Utterance] = []
    for session, names in DIALOGS.items():
        dialogs = names[:dialogs_per_session]
        turns: dict[str, list[str]] = {d: [] for d in dialogs}
        for gender in "FM":
            speaker = f"Ses{session:02d}{gender}"
            rng = rng_for(seed, "labels", speaker)
            for i, label in enumerate(speaker_labels(utts_per_speaker, rng)):
                turns[dialogs[i % len(dialogs)]].append(f"{gender}{label}")
        for dialog in dialogs:
            rng = rng_for(seed, "turns", dialog)
            order = rng.permutation(turns[dialog])
            clock = float(rng.uniform(2.0, 8.0))
            counter = {"F": 0, "M": 0}
            for turn in order:
                gender, label = turn[0], turn[1:]
                duration = round(float(rng.uniform(*dur_range)) * SR) / SR
                utt_id = f"{dialog}_{gender}{counter[gender]:03d}"
                counter[gender] += 1
                speaker = f"Ses{session:02d}{gender}"
                utts.append(Utterance(utt_id, dialog, session, speaker, label, duration, clock))
                clock += duration + float(rng.uniform(0.3, 2.5))
    return utts


def _evaluator_lines(utt: Utterance, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Categorical (C-) and dimensional (A-) evaluator lines, and the mean V, A, D."""
    if utt.label == "xxx":
        cats = [CATEGORY_NAMES[c] for c in rng.choice(list(CATEGORY_NAMES), 3, replace=False)]
    else:
        other = CATEGORY_NAMES[str(rng.choice(["neu", "fru", "exc", "ang"]))]
        cats = [CATEGORY_NAMES[utt.label]] * 2 + [other]
    lines = [f"C-E{k}:\t{cat};\t()" for k, cat in enumerate(cats, 1)]
    self_letter = utt.speaker[-1]
    lines.append(f"C-{self_letter}1:\t{cats[0]};\t()")
    base = np.array(VAD[utt.label])
    dims = np.clip(base + rng.integers(-1, 2, size=(2, 3)), 1, 5)
    for k, (v, a, d) in enumerate(dims, 1):
        lines.append(f"A-E{k}:\tval {v}; act {a}; dom  {d};\t()")
    return lines, dims.mean(axis=0)


def emo_evaluation_text(utts: list[Utterance], seed: int) -> tuple[str, str]:
    """The dialog's EmoEvaluation file and one evaluator's Categorical file."""
    blocks, cat_lines = [HEADER], []
    for utt in sorted(utts, key=lambda u: u.start):
        rng = rng_for(seed, "eval", utt.utt_id)
        lines, vad = _evaluator_lines(utt, rng)
        end = utt.start + utt.duration
        vad_text = ", ".join(f"{x:.4f}" for x in vad)
        head = f"[{utt.start:.4f} - {end:.4f}]\t{utt.utt_id}\t{utt.label}\t[{vad_text}]"
        blocks.append("\n".join([head, *lines]) + "\n\n")
        cat_lines.append(f"{utt.utt_id} :{lines[0].split(chr(9))[1]} ()\n")
    return "".join(blocks), "".join(cat_lines)


def write_iemocap(
    root: Path,
    seed: int,
    dialogs_per_session: int,
    utts_per_speaker: int,
    dur_range: tuple[float, float],
) -> list[Utterance]:
    """Synthesise and write every utterance and the EmoEvaluation files under ``root``."""
    utts = plan_utterances(seed, dialogs_per_session, utts_per_speaker, dur_range)
    voices = {u.speaker: make_voice(seed, u.speaker, u.speaker[-1]) for u in utts}
    for utt in utts:
        rng = rng_for(seed, "utt", utt.utt_id)
        wave = synth_utterance(voices[utt.speaker], draw_prosody(utt.label, rng), utt.duration, rng)
        path = root / f"Session{utt.session}/sentences/wav/{utt.dialog}/{utt.utt_id}.wav"
        write_audio(path, wave, SR)
    for dialog in sorted({u.dialog for u in utts}):
        mine = [u for u in utts if u.dialog == dialog]
        emo_dir = root / f"Session{mine[0].session}/dialog/EmoEvaluation"
        text, categorical = emo_evaluation_text(mine, seed)
        with atomic_write(emo_dir / f"{dialog}.txt") as f:
            f.write(text)
        with atomic_write(emo_dir / "Categorical" / f"{dialog}_e1_cat.txt") as f:
            f.write(categorical)
    for session in (1, 3):  # macOS resource-fork debris, as in some real copies
        first = next(u for u in utts if u.session == session)
        junk = root / f"Session{session}/sentences/wav/{first.dialog}/._{first.utt_id}.wav"
        with atomic_write(junk, "wb") as f:
            f.write(APPLE_DOUBLE)
    return utts
