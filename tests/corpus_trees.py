"""Tiny corpus trees in the real layouts of the releases stage 0 and the noise index read
(RAVDESS, CREMA-D, EmoDB, MSP-Podcast, IEMOCAP, MUSAN), each with the defects their parsers
must handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_tone(path: Path, seconds: float = 0.1, sr: int = 16000, channels: int = 1) -> None:
    """A 220 Hz tone (16-bit wav), mono or the same in every channel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.1 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([wave] * channels, axis=1) if channels > 1 else wave, sr)


# RAVDESS: 4 actors, each neutral, calm, happy, angry speech; Actor_01's angry is stereo.
RAVDESS_SPEECH = [
    "03-01-01-01-01-01",
    "03-01-02-01-02-01",
    "03-01-03-01-01-02",
    "03-01-05-02-01-01",
]


def make_ravdess(base: Path) -> Path:
    root = base / "RAVDESS"
    for actor in ("01", "02", "03", "04"):
        for stem in RAVDESS_SPEECH:
            stereo = actor == "01" and stem.startswith("03-01-05")
            write_tone(root / f"Actor_{actor}/{stem}-{actor}.wav", 0.25, 48000, 2 if stereo else 1)
    write_tone(root / "Actor_01/03-02-03-01-01-01-01.wav", 0.1, 48000)  # song
    (root / "Actor_02/02-01-04-01-01-01-02.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    write_tone(root / "Actor_03/03-01-05-01-01-03.wav", 0.1, 48000)  # six fields
    write_tone(root / "Actor_04/03-01-04-01-01-01-05.wav", 0.1, 48000)  # actor 05 in Actor_04
    return root


def make_cremad(base: Path) -> Path:
    root = base / "CREMA-D"
    names = [
        "1001_DFA_ANG_XX",
        "1001_IEO_HAP_HI",
        "1001_IEO_FEA_LO",
        "1002_TIE_NEU_XX",
        "1002_IEO_SAD_MD",
        "1091_DFA_DIS_XX",
        "1091_ITS_ANG_XX",
    ]
    for name in names:
        write_tone(root / f"AudioWAV/{name}.wav")
    write_tone(root / "AudioWAV/1040_ITH_SAD_X.wav")  # as misnamed in older copies
    write_tone(root / "AudioWAV/0999_DFA_ANG_XX.wav")  # no such actor
    (root / "AudioWAV/1076_MTI_SAD_XX.wav").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
    )
    (root / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n"
        "1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
        "1076,25,Female,African American,Not Hispanic\n"
        "1091,29,Female,Asian,Not Hispanic\n"
    )
    return root


def make_emodb(base: Path) -> Path:
    root = base / "EmoDB"
    for name in ("03a01Fa", "03b10Nc", "08a01Wa", "09a05Tb", "10a01Lb", "16b03Fd"):
        write_tone(root / f"wav/{name}.wav")
    write_tone(root / "wav/07a01Fa.wav")  # no speaker 07
    write_tone(root / "wav/03a01Xa.wav")  # no letter X
    write_tone(root / "wav/11a02Fb.wav", seconds=0.0)  # a header and no sample
    (root / "lablaut").mkdir()  # the release has label folders beside wav/
    return root


MSP_ROWS = [
    ("MSP-PODCAST_0001_0008.wav", "N", "30", "Male", "Train"),
    ("MSP-PODCAST_0001_0009.wav", "A", "30", "Male", "Train"),
    ("MSP-PODCAST_0002_0001.wav", "H", "Unknown", "Unknown", "Train"),
    ("MSP-PODCAST_0002_0002.wav", "S", "Unknown", "Female", "Train"),
    ("MSP-PODCAST_0003_0001.wav", "S", "127", "Female", "Development"),
    ("MSP-PODCAST_0003_0002.wav", "C", "127", "Female", "Development"),
    ("MSP-PODCAST_0004_0001.wav", "A", "39", "Male", "Test1"),
    ("MSP-PODCAST_0004_0002.wav", "X", "39", "Male", "Test1"),
    ("MSP-PODCAST_0005_0001.wav", "H", "1204", "Female", "Test2"),
    ("MSP-PODCAST_0005_0002.wav", "Q", "1204", "Female", "Test2"),  # bad class
    ("MSP-PODCAST_0006_0001.wav", "N", "40", "Male", "Test1"),  # audio missing
]


def make_msp(base: Path) -> Path:
    root = base / "MSP-Podcast"
    lines = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    for name, emo, spk, gender, split in MSP_ROWS:
        lines.append(f"{name},{emo},3.2,4.0,2.6,{spk},{gender},{split}")
        if not name.startswith("MSP-PODCAST_0006"):
            write_tone(root / "Audios" / name)
    (root / "Labels").mkdir(parents=True)
    (root / "Labels/labels_consensus.csv").write_text("\n".join(lines) + "\n")
    return root


IEMOCAP_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


# dialog -> [(utterance id, label)]; tricky dialog names from the real release.
IEMOCAP_DIALOGS = {
    1: {
        "Ses01F_impro01": [("Ses01F_impro01_F000", "neu"), ("Ses01F_impro01_M000", "ang")],
        "Ses01M_script01_1": [("Ses01M_script01_1_F003", "exc"), ("Ses01M_script01_1_M001", "sad")],
    },
    3: {
        "Ses03M_impro05a": [("Ses03M_impro05a_F003", "hap"), ("Ses03M_impro05a_M000", "xxx")],
    },
    5: {
        "Ses05M_script01_1b": [
            ("Ses05M_script01_1b_M010", "sad"),
            ("Ses05M_script01_1b_F002", "fru"),
        ],
        "Ses05F_impro02": [("Ses05F_impro02_F000", "neu"), ("Ses05F_impro02_M001", "ang")],
    },
}


MISSING_WAV = "Ses05F_impro02_M001"


def turn_lines(utt: str, label: str, start: float) -> str:
    return (
        f"[{start:.4f} - {start + 1.5:.4f}]\t{utt}\t{label}\t[2.5000, 3.0000, 2.0000]\n"
        f"C-E1:\tNeutral;\t()\nA-E1:\tval 3; act 2; dom  2;\t()\n\n"
    )


def make_iemocap(base: Path) -> Path:
    """A tiny IEMOCAP_full_release with every kind of defect the parser must handle."""
    root = base / "IEMOCAP_full_release"
    for session, dialogs in IEMOCAP_DIALOGS.items():
        sdir = root / f"Session{session}"
        emo = sdir / "dialog" / "EmoEvaluation"
        emo.mkdir(parents=True)
        (emo / "Categorical").mkdir()  # the real release has sub-folders here
        for dialog, turns in dialogs.items():
            text = IEMOCAP_HEADER + "".join(
                turn_lines(u, lab, 2.0 * i) for i, (u, lab) in enumerate(turns)
            )
            (emo / f"{dialog}.txt").write_text(text)
            for i, (utt, _) in enumerate(turns):
                if utt != MISSING_WAV:
                    write_tone(sdir / "sentences" / "wav" / dialog / f"{utt}.wav", 0.25 + 0.125 * i)
    emo1 = root / "Session1" / "dialog" / "EmoEvaluation"
    with open(emo1 / "Ses01F_impro01.txt", "a") as f:
        f.write("[7.0 - oops]\tSes01F_impro01_F009\tneu\t[2.5, 2.5, 2.5]\n")
    (emo1 / "Ses01F_impro02.txt").write_text("")
    (emo1 / "._Ses01F_impro01.txt").write_bytes(b"\x00\x05\x16\x07")
    debris = (
        root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "._Ses01F_impro01_F000.wav"
    )
    debris.write_bytes(b"\x00\x05\x16\x07")
    return root


def write_noise(path: Path, seconds: float, sr: int = 16000) -> None:
    """Uniform noise (16-bit wav) seeded by its length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * sr))
    sf.write(path, np.random.default_rng(n).uniform(-0.1, 0.1, n), sr, subtype="PCM_16")


def make_musan(base: Path) -> Path:
    root = base / "musan"
    for name in ("noise-free-sound-0000", "noise-free-sound-0001"):
        write_noise(root / "noise" / "free-sound" / f"{name}.wav", 0.5)
    (root / "noise" / "free-sound" / "ANNOTATIONS").write_text(
        "noise-free-sound-0000\nnoise-free-sound-0001\n"
    )
    write_noise(root / "noise" / "sound-bible" / "noise-sound-bible-0000.wav", 0.3)
    write_noise(root / "music" / "fma" / "music-fma-0000.wav", 1.0)
    write_noise(root / "music" / "fma" / "music-fma-0001.wav", 1.0)
    (root / "music" / "fma" / "ANNOTATIONS").write_text(
        "music-fma-0000 pop,electronica Y Some_Band\nmusic-fma-0001 classical N Other\n"
    )
    write_noise(root / "speech" / "librivox" / "speech-librivox-0000.wav", 0.7)
    (root / "speech" / "librivox" / "ANNOTATIONS").write_text("speech-librivox-0000 m english\n")
    return root
