"""Synthetic speech and noise for the SE tests: sources, a tiny CRN config and a tiny dump
(clean and one noisy condition)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trnet.audio import write_audio
from trnet.io import write_kv

SR = 16000


def synth_speech(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Voiced syllables: harmonics of a gliding F0 shaped by two formant-like peaks, with pauses."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formants = rng.uniform([400, 1200], [900, 2400])
    wave = sum(
        np.sin(k * phase) / k * sum(np.exp(-(((k * f0) - f) ** 2) / 2e4) + 0.05 for f in formants)
        for k in range(1, 30)
    )
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(2, 4) * t), 0, None)
    return (0.3 * wave * envelope / np.max(np.abs(wave) + 1e-9)).astype(np.float32)


def make_source(root: Path, name: str, clips: list[np.ndarray]) -> Path:
    directory = root / name
    scp = {}
    for i, clip in enumerate(clips):
        path = directory / "wav" / f"{name}_{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, clip)
        scp[f"{name}_{i:03d}"] = str(path)
    write_kv(directory / "wav.scp", scp)
    return directory


TINY = {
    "model": "crn",
    "model_conf": {"channels": [4, 8], "hidden": 32, "layers": 1},
    "train": {"segment_s": 0.5, "batch_size": 4, "steps_per_epoch": 15, "epochs": 2, "dev_size": 8},
}


def make_condition(root: Path, n: int = 3) -> Path:
    """A tiny dump: ``clean/`` and ``noise_0/`` (int16 ark audio, utt2clean, utt2gain) of
    ``n`` utterances."""
    from trnet.audio import to_int16
    from trnet.kaldi_io import ArkWriter
    from trnet.mix.mixing import mix_at_snr

    rng = np.random.default_rng(5)
    # 0.4 s to 1 s (the noise is 1 s long)
    speech = {f"spk1-utt{i}": synth_speech(rng, 0.4 + 0.6 * i / (n - 1)) for i in range(n)}
    noise = 0.1 * rng.standard_normal(SR)
    for cond in ("clean", "noise_0"):
        out = root / cond
        writer = ArkWriter(out / "wav.ark")
        gains = {}
        for utt, wave in speech.items():
            if cond == "clean":
                writer.add(utt, (SR, to_int16(wave)))
                continue
            mix = mix_at_snr(wave, noise[: len(wave)], 0.0)
            writer.add(utt, (SR, mix.samples))
            gains[utt] = mix.gain
        writer.close()
        write_kv(out / "wav.scp", writer.scp)
        write_kv(out / "utt2spk", {u: "spk1" for u in speech})
        write_kv(out / "utt2emo", {u: "neu" for u in speech})
        write_kv(out / "utt2dur", {u: len(w) / SR for u, w in speech.items()})
        if gains:
            write_kv(out / "utt2gain", gains)
        (out / ".done").write_text("{}\n")
    clean_scp = (root / "clean" / "wav.scp").read_text()
    (root / "noise_0" / "utt2clean").write_text(clean_scp)
    (root / "clean" / "utt2clean").write_text(clean_scp)
    return root
